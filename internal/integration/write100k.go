package integration

// The 100k-write mode.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	aetherkv "github.com/aether-kv/aether-kv"
)

func run100kWrite(cfg config, root string, r *report) {
	if err := write100k(cfg, filepath.Join(root, "db"), r); err != nil {
		r.fail(err)
	}
}

// write100k puts cfg.n distinct keys, verifies them, reopens the store and
// verifies every value again. It stops at the first failure.
func write100k(cfg config, dir string, r *report) error {
	n := cfg.n
	db, err := aetherkv.Open(dir, nil)
	if err != nil {
		return fmt.Errorf("open %s with default options: %w", dir, err)
	}
	defer func() {
		if db != nil {
			db.Close()
		}
	}()

	start := time.Now()
	var payload int64
	for i := range n {
		k, v := benchKey(i), benchValue(i, cfg.valueSize)
		if err := db.Put(k, v); err != nil {
			return fmt.Errorf("put %d of %d (%s): %w", i+1, n, k, err)
		}
		payload += int64(len(k) + len(v))
	}
	putTime := time.Since(start)
	r.ok("%d puts of %d-byte values in %v: %.0f puts/s, %.1f MB/s of keys+values (%.1f MB)",
		n, cfg.valueSize, putTime.Round(time.Millisecond), perSecond(n, putTime),
		float64(payload)/1e6/putTime.Seconds(), float64(payload)/1e6)

	if got := db.Len(); got != n {
		return fmt.Errorf("Len() = %d after %d puts of distinct keys, want %d", got, n, n)
	}
	start = time.Now()
	if err := verifyBench(db, n, cfg.valueSize); err != nil {
		return fmt.Errorf("before close: %w", err)
	}
	r.ok("read back all %d values before close in %v (%.0f gets/s); Len() = %d",
		n, time.Since(start).Round(time.Millisecond), perSecond(n, time.Since(start)), n)

	start = time.Now()
	err = db.Close()
	db = nil
	if err != nil {
		return fmt.Errorf("close: %w", err)
	}
	closeTime := time.Since(start)
	wantSize := payload + int64(n)*headerSize
	if fi, err := os.Stat(filepath.Join(dir, "active.log")); err != nil {
		return fmt.Errorf("after close: %w", err)
	} else if fi.Size() != wantSize {
		return fmt.Errorf("active.log is %d bytes after close, want %d (%d records of %d-byte header + key + value)",
			fi.Size(), wantSize, n, headerSize)
	}
	r.ok("close (flush + fsync) in %v; active.log is %d bytes = %d x (21-byte header + key + value); %.0f puts/s including close",
		closeTime.Round(time.Millisecond), wantSize, n, perSecond(n, putTime+closeTime))

	start = time.Now()
	db, err = aetherkv.Open(dir, nil)
	if err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	openTime := time.Since(start)
	if got := db.Len(); got != n {
		return fmt.Errorf("Len() = %d after reopen, want %d", got, n)
	}
	r.ok("reopen (rebuild of the key directory from %d records) in %v; Len() = %d",
		n, openTime.Round(time.Millisecond), n)

	start = time.Now()
	if err := verifyBench(db, n, cfg.valueSize); err != nil {
		return fmt.Errorf("after reopen: %w", err)
	}
	getTime := time.Since(start)
	if _, err := db.Get(benchKey(n)); !errors.Is(err, aetherkv.ErrNotFound) {
		return fmt.Errorf("Get(%s), never written: err = %v, want ErrNotFound", benchKey(n), err)
	}
	r.ok("after reopen all %d values exact in %v: %.0f gets/s; a key never written is ErrNotFound",
		n, getTime.Round(time.Millisecond), perSecond(n, getTime))

	err = db.Close()
	db = nil
	if err != nil {
		return fmt.Errorf("final close: %w", err)
	}
	return nil
}

func benchKey(i int) []byte { return fmt.Appendf(nil, "key-%06d", i) }

// benchValue is size bytes that name key i, then letters derived from i:
// a value returned for the wrong key, or shifted, does not match.
func benchValue(i, size int) []byte {
	v := fmt.Appendf(make([]byte, 0, size), "value of key-%06d:", i)
	for j := len(v); j < size; j++ {
		v = append(v, byte('a'+(i*31+j*7)%26))
	}
	return v[:size]
}

// verifyBench checks that Get returns the exact value of each of the n keys.
func verifyBench(db *aetherkv.DB, n, size int) error {
	for i := range n {
		k := benchKey(i)
		got, err := db.Get(k)
		if err != nil {
			return fmt.Errorf("Get(%s): %w", k, err)
		}
		if want := benchValue(i, size); !bytes.Equal(got, want) {
			return fmt.Errorf("Get(%s) = %q, want %q", k, clip(got), clip(want))
		}
	}
	return nil
}

func perSecond(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }
