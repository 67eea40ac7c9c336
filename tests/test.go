// Command test is Aether KV's integration program. It drives the store
// through its public API only, and damages data files by the documented
// on-disk format (package internal/format):
//
//	go run tests/test.go 100k-write    # 100,000 puts, reopen, verify; throughput
//	go run tests/test.go overlapping   # concurrent writers, deleters, readers
//	go run tests/test.go integrity     # damage on disk: refused, cut, or reported
//	go run tests/test.go all           # the three
//
// Every mode works in a fresh temporary directory, removed at the end unless
// a check failed (then its path is printed). It prints one line per check
// and exits 1 if any check failed, 2 on a bad command line.
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	aetherkv "github.com/aether-kv/aether-kv"
)

const usage = `usage: go run tests/test.go <mode> [flags]

modes:
  100k-write   n puts of distinct keys, reopen, verify every value; prints throughput
  overlapping  concurrent writers, deleters and readers on shared keys; last write wins
  integrity    damage on disk: refused in the middle, torn tail cut, seen by Get
  all          the three above, in that order

flags (after the mode):
`

// config holds the command-line flags; it is never modified once parsed.
type config struct {
	n          int           // 100k-write: number of puts
	valueSize  int           // 100k-write: bytes per value
	writers    int           // overlapping: concurrent writers on the shared keys
	sharedKeys int           // overlapping: keys shared by all writers
	ops        int           // overlapping: operations per writer
	readers    int           // overlapping: concurrent readers
	records    int           // integrity: records per data file
	keep       bool          // keep the data directories even on success
	timeout    time.Duration // whole run; a hang is a failure
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	mode := os.Args[1]
	modes := map[string]func(config, string, *report){
		"100k-write":  run100kWrite,
		"overlapping": runOverlapping,
		"integrity":   runIntegrity,
	}
	order := []string{"100k-write", "overlapping", "integrity"}

	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var cfg config
	fs.IntVar(&cfg.n, "n", 100_000, "100k-write: number of puts")
	fs.IntVar(&cfg.valueSize, "value-size", 100, "100k-write: bytes per value (at least 32)")
	fs.IntVar(&cfg.writers, "writers", 16, "overlapping: concurrent writers on the shared keys")
	fs.IntVar(&cfg.sharedKeys, "keys", 100, "overlapping: keys shared by the writers")
	fs.IntVar(&cfg.ops, "ops", 5000, "overlapping: operations per writer")
	fs.IntVar(&cfg.readers, "readers", 4, "overlapping: concurrent readers")
	fs.IntVar(&cfg.records, "records", 100, "integrity: records per data file (at least 10)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the data directories even when every check passes")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Minute, "fail if the run takes longer (a hang)")
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage); fs.PrintDefaults() }

	var run []string
	switch {
	case mode == "all":
		run = order
	case modes[mode] != nil:
		run = []string{mode}
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n\n", mode)
		fs.Usage()
		os.Exit(2)
	}
	if err := fs.Parse(os.Args[2:]); err != nil {
		os.Exit(2)
	}
	if fs.NArg() > 0 || cfg.n < 1 || cfg.valueSize < 32 || cfg.writers < 1 || cfg.sharedKeys < 1 ||
		cfg.ops < 1 || cfg.readers < 0 || cfg.records < 10 || cfg.timeout <= 0 {
		fmt.Fprintf(os.Stderr, "bad flags: %q\n\n", os.Args[2:])
		fs.Usage()
		os.Exit(2)
	}

	watchdog := time.AfterFunc(cfg.timeout, func() {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		fmt.Fprintf(os.Stderr, "FAIL: timed out after %v (a hang?); goroutines:\n%s\n", cfg.timeout, buf)
		fmt.Println("FAIL: timed out; the data directory of the running mode is kept (see above)")
		os.Exit(1)
	})
	defer watchdog.Stop()

	start := time.Now()
	var total report
	for _, name := range run {
		total.add(runMode(name, modes[name], cfg))
	}
	if total.failed > 0 {
		fmt.Printf("FAIL: %d of %d checks failed (%s) in %v\n", total.failed, total.passed+total.failed,
			strings.Join(run, ", "), time.Since(start).Round(time.Millisecond))
		os.Exit(1)
	}
	fmt.Printf("PASS: all %d checks passed (%s) in %v\n", total.passed,
		strings.Join(run, ", "), time.Since(start).Round(time.Millisecond))
}

// runMode runs one mode in a fresh temporary directory and removes the
// directory unless a check failed.
func runMode(name string, fn func(config, string, *report), cfg config) report {
	r := report{mode: name}
	root, err := os.MkdirTemp("", "aetherkv-"+name+"-")
	if err != nil {
		r.fail(fmt.Errorf("create temp dir: %w", err))
		return r
	}
	fmt.Printf("---- %s (data in %s)\n", name, root)
	start := time.Now()
	fn(cfg, root, &r)
	switch {
	case r.failed > 0:
		fmt.Printf("FAIL %s: %d of %d checks failed in %v; data kept in %s\n",
			name, r.failed, r.passed+r.failed, time.Since(start).Round(time.Millisecond), root)
	case cfg.keep:
		fmt.Printf("PASS %s: %d checks in %v; data kept in %s\n", name, r.passed, time.Since(start).Round(time.Millisecond), root)
	default:
		fmt.Printf("PASS %s: %d checks in %v\n", name, r.passed, time.Since(start).Round(time.Millisecond))
		if err := os.RemoveAll(root); err != nil {
			fmt.Printf("warning: remove %s: %v\n", root, err)
		}
	}
	return r
}

// report counts the checks of a mode and prints one line per check.
type report struct {
	mode           string
	passed, failed int
}

func (r *report) ok(format string, args ...any) {
	r.passed++
	fmt.Printf("ok   %s: %s\n", r.mode, fmt.Sprintf(format, args...))
}

func (r *report) fail(err error) {
	r.failed++
	fmt.Printf("FAIL %s: %v\n", r.mode, err)
}

func (r *report) add(o report) {
	r.passed += o.passed
	r.failed += o.failed
}

// ---------------------------------------------------------------------------
// 100k-write

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

// ---------------------------------------------------------------------------
// overlapping

// opRecord is one Put or Delete done by a writer, with the logical times
// just before it was called and just after it returned.
type opRecord struct {
	key        string
	value      string // empty for a delete
	del        bool
	start, end int64
}

// attempts holds every value a writer was about to put, per key, with its
// sequence number. Writers add to it before calling Put, so a reader that
// sees a value can always find it.
type attempts struct {
	mu sync.RWMutex
	m  map[string]map[string]int
}

func (a *attempts) add(key, value string, seq int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m[key] == nil {
		a.m[key] = make(map[string]int)
	}
	a.m[key][value] = seq
}

func (a *attempts) lookup(key, value string) (seq int, ok bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	seq, ok = a.m[key][value]
	return seq, ok
}

const soloKeys = 20

func sharedKey(i int) string { return fmt.Sprintf("shared-%03d", i) }
func soloKey(i int) string   { return fmt.Sprintf("solo-%02d", i) }

// overlapValue names the key, writer and sequence number, with a filler of
// varying length so that records differ in size.
func overlapValue(key string, w, seq int) string {
	return fmt.Sprintf("key=%s w=%d seq=%d ", key, w, seq) + strings.Repeat(".", seq%41)
}

func runOverlapping(cfg config, root string, r *report) {
	if err := overlapping(cfg, filepath.Join(root, "db"), r); err != nil {
		r.fail(err)
	}
}

// overlapping runs cfg.writers writers over shared keys (every fourth one
// also deletes), one single writer over its own keys, readers checking
// every Get and a goroutine calling Sync, all at once; then it checks the
// final state against the history, and again after a reopen.
func overlapping(cfg config, dir string, r *report) error {
	db, err := aetherkv.Open(dir, nil)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer func() {
		if db != nil {
			db.Close()
		}
	}()

	var clock atomic.Int64
	written := &attempts{m: make(map[string]map[string]int)}
	histories := make([][]opRecord, cfg.writers)
	writerErrs := make([]error, cfg.writers+1)
	lastSolo := make(map[string]string)
	done := make(chan struct{})
	readerErrs := make([]error, cfg.readers+1)
	reads := make([]int, cfg.readers)

	gate := make(chan struct{}) // closed to start every goroutine at once
	var writers, others sync.WaitGroup
	for w := range cfg.writers {
		writers.Go(func() {
			<-gate
			histories[w], writerErrs[w] = sharedWriter(db, cfg, w, &clock, written)
		})
	}
	writers.Go(func() {
		<-gate
		writerErrs[cfg.writers] = soloWriter(db, cfg.writers, cfg.ops, written, lastSolo)
	})
	for i := range cfg.readers {
		others.Go(func() {
			<-gate
			reads[i], readerErrs[i] = reader(db, cfg, i, written, done)
		})
	}
	others.Go(func() { <-gate; readerErrs[cfg.readers] = syncer(db, done) })
	start := time.Now()
	close(gate)
	writers.Wait()
	elapsed := time.Since(start)
	close(done)
	others.Wait()
	if err := errors.Join(writerErrs...); err != nil {
		return fmt.Errorf("writers: %w", err)
	}
	if err := errors.Join(readerErrs...); err != nil {
		return fmt.Errorf("concurrent readers: %w", err)
	}

	var puts, dels int
	for _, h := range histories {
		for _, op := range h {
			if op.del {
				dels++
			} else {
				puts++
			}
		}
	}
	totalReads := 0
	for _, n := range reads {
		totalReads += n
	}
	r.ok("%d writers on %d shared keys (%d puts, %d deletes) + 1 single writer (%d puts on %d keys) in %v: %.0f writes/s",
		cfg.writers, cfg.sharedKeys, puts, dels, cfg.ops, soloKeys, elapsed.Round(time.Millisecond),
		perSecond(puts+dels+cfg.ops, elapsed))
	r.ok("%d readers did %d concurrent Gets: each was ErrNotFound or a value written for that key; single-writer keys never went back in sequence",
		cfg.readers, totalReads)

	final, present, avgCand, err := checkSharedFinal(db, cfg.sharedKeys, histories)
	if err != nil {
		return fmt.Errorf("before close: %w", err)
	}
	r.ok("before close: each of %d shared keys holds the value of a write that may have been last (or is absent after a delete that may have been last); %d present, %d absent; %.1f possible last operations per key",
		cfg.sharedKeys, present, cfg.sharedKeys-present, avgCand)
	for k, v := range lastSolo {
		final[k] = &v
	}
	if err := checkState(db, final, "before close"); err != nil {
		return err
	}
	r.ok("before close: every single-writer key holds exactly its last write (last write wins)")

	err = db.Close()
	db = nil
	if err != nil {
		return fmt.Errorf("close: %w", err)
	}
	db, err = aetherkv.Open(dir, nil)
	if err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	if err := checkState(db, final, "after reopen"); err != nil {
		return err
	}
	if got, want := db.Len(), present+soloKeys; got != want {
		return fmt.Errorf("after reopen: Len() = %d, want %d (%d shared keys present + %d single-writer keys)",
			got, want, present, soloKeys)
	}
	r.ok("after reopen: all %d keys as before close (%d shared present, %d single-writer with their last value); Len() = %d",
		cfg.sharedKeys+soloKeys, present, soloKeys, present+soloKeys)
	err = db.Close()
	db = nil
	if err != nil {
		return fmt.Errorf("final close: %w", err)
	}
	return nil
}

// sharedWriter does cfg.ops operations on random shared keys. Writers whose
// number is 3 mod 4 delete a quarter of the time.
func sharedWriter(db *aetherkv.DB, cfg config, w int, clock *atomic.Int64, written *attempts) ([]opRecord, error) {
	rng := rand.New(rand.NewPCG(uint64(w), 42))
	deleter := w%4 == 3
	history := make([]opRecord, 0, cfg.ops)
	for seq := range cfg.ops {
		key := sharedKey(rng.IntN(cfg.sharedKeys))
		if deleter && rng.IntN(4) == 0 {
			start := clock.Add(1)
			err := db.Delete([]byte(key))
			end := clock.Add(1)
			if err != nil && !errors.Is(err, aetherkv.ErrNotFound) {
				return nil, fmt.Errorf("writer %d: Delete(%s): %w", w, key, err)
			}
			history = append(history, opRecord{key: key, del: true, start: start, end: end})
			continue
		}
		value := overlapValue(key, w, seq)
		written.add(key, value, seq)
		start := clock.Add(1)
		err := db.Put([]byte(key), []byte(value))
		end := clock.Add(1)
		if err != nil {
			return nil, fmt.Errorf("writer %d: Put(%s): %w", w, key, err)
		}
		history = append(history, opRecord{key: key, value: value, start: start, end: end})
	}
	return history, nil
}

// soloWriter is the only writer of the solo keys: it puts increasing
// sequence numbers to them in turn, and fills last with the last value put
// to each.
func soloWriter(db *aetherkv.DB, w, ops int, written *attempts, last map[string]string) error {
	for seq := range ops {
		key := soloKey(seq % soloKeys)
		value := overlapValue(key, w, seq)
		written.add(key, value, seq)
		if err := db.Put([]byte(key), []byte(value)); err != nil {
			return fmt.Errorf("single writer: Put(%s): %w", key, err)
		}
		last[key] = value
	}
	return nil
}

// reader does Gets on random keys until done, checking that each returns
// ErrNotFound or a value written for that key, and that a single-writer
// key, once seen, never vanishes nor goes back in sequence.
func reader(db *aetherkv.DB, cfg config, id int, written *attempts, done <-chan struct{}) (int, error) {
	rng := rand.New(rand.NewPCG(uint64(id), 7))
	seen := make(map[string]int) // single-writer key -> highest sequence seen
	for n := 0; ; n++ {
		select {
		case <-done:
			return n, nil
		default:
			runtime.Gosched() // leave the writers room on few CPUs
		}
		var key string
		solo := rng.IntN(4) == 0
		if solo {
			key = soloKey(rng.IntN(soloKeys))
		} else {
			key = sharedKey(rng.IntN(cfg.sharedKeys))
		}
		v, err := db.Get([]byte(key))
		if errors.Is(err, aetherkv.ErrNotFound) {
			if prev, ok := seen[key]; ok {
				return n, fmt.Errorf("reader %d: Get(%s) = ErrNotFound after it returned seq %d; nothing deletes it", id, key, prev)
			}
			continue
		}
		if err != nil {
			return n, fmt.Errorf("reader %d: Get(%s): %w", id, key, err)
		}
		seq, ok := written.lookup(key, string(v))
		if !ok {
			return n, fmt.Errorf("reader %d: Get(%s) = %q, a value never written for that key", id, key, clip(v))
		}
		if solo {
			if prev, ok := seen[key]; ok && seq < prev {
				return n, fmt.Errorf("reader %d: Get(%s) returned seq %d after seq %d from the single writer", id, key, seq, prev)
			}
			seen[key] = seq
		}
	}
}

// syncer calls Sync every millisecond until done, so that flushes and
// fsyncs run among the writes and reads.
func syncer(db *aetherkv.DB, done <-chan struct{}) error {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-t.C:
			if err := db.Sync(); err != nil {
				return fmt.Errorf("Sync during writes: %w", err)
			}
		}
	}
}

// checkSharedFinal checks that each shared key holds the value of an
// operation that may have been the last on that key: one that returned
// after every other operation on the key had started. A Put leaves its
// value, a Delete (even one that found nothing) leaves the key absent. It
// returns the state found (nil for absent), the number of keys present and
// the mean number of possible last operations.
func checkSharedFinal(db *aetherkv.DB, nkeys int, histories [][]opRecord) (map[string]*string, int, float64, error) {
	byKey := make(map[string][]opRecord)
	for _, h := range histories {
		for _, op := range h {
			byKey[op.key] = append(byKey[op.key], op)
		}
	}
	state := make(map[string]*string)
	present, candidates := 0, 0
	for i := range nkeys {
		key := sharedKey(i)
		ops := byKey[key]
		var lastStart int64
		for _, op := range ops {
			lastStart = max(lastStart, op.start)
		}
		mayBeLast := map[string]bool{} // values; "" for a delete
		for _, op := range ops {
			if op.end > lastStart {
				mayBeLast[op.value] = true
				candidates++
			}
		}
		if len(ops) == 0 {
			mayBeLast[""] = true // never written: absent
		}
		v, err := db.Get([]byte(key))
		switch {
		case errors.Is(err, aetherkv.ErrNotFound):
			if !mayBeLast[""] {
				return nil, 0, 0, fmt.Errorf("Get(%s) = ErrNotFound, but no delete can have been its last operation (%d possible last: %s)",
					key, len(mayBeLast), describe(mayBeLast))
			}
			state[key] = nil
		case err != nil:
			return nil, 0, 0, fmt.Errorf("Get(%s): %w", key, err)
		case !mayBeLast[string(v)]:
			return nil, 0, 0, fmt.Errorf("Get(%s) = %q, not the value of any operation that can have been last (%s)",
				key, clip(v), describe(mayBeLast))
		default:
			s := string(v)
			state[key] = &s
			present++
		}
	}
	return state, present, float64(candidates) / float64(nkeys), nil
}

func describe(values map[string]bool) string {
	var s []string
	for v := range values {
		if v == "" {
			v = "<delete>"
		}
		s = append(s, strconv.Quote(v))
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}

// checkState checks that each key of want holds exactly its value, or is
// absent where the value is nil.
func checkState(db *aetherkv.DB, want map[string]*string, when string) error {
	for key, w := range want {
		got, err := db.Get([]byte(key))
		switch {
		case w == nil && errors.Is(err, aetherkv.ErrNotFound):
		case w == nil && err == nil:
			return fmt.Errorf("%s: Get(%s) = %q, want ErrNotFound", when, key, clip(got))
		case err != nil:
			return fmt.Errorf("%s: Get(%s): %w", when, key, err)
		case string(got) != *w:
			return fmt.Errorf("%s: Get(%s) = %q, want %q", when, key, clip(got), clip([]byte(*w)))
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// integrity

func runIntegrity(cfg config, root string, r *report) {
	checks := []struct {
		name string
		fn   func(dir string, n int) (string, error)
	}{
		{"mid-file bit flip", checkMidFileFlip},
		{"last record bit flip", checkLastRecordFlip},
		{"torn tail: partial header appended", checkTornPartialHeader},
		{"torn tail: partial record appended", checkTornPartialRecord},
		{"torn tail: file cut inside the last record", checkTornTruncated},
		{"mid-file size field", checkMidFileSizeField},
		{"damage while open", checkDamageWhileOpen},
	}
	for i, c := range checks {
		dir := filepath.Join(root, fmt.Sprintf("%d-%s", i+1, strings.NewReplacer(" ", "-", ":", "").Replace(c.name)))
		detail, err := c.fn(dir, cfg.records)
		if err != nil {
			r.fail(fmt.Errorf("%s: %w (data in %s)", c.name, err, dir))
			continue
		}
		r.ok("%s: %s", c.name, detail)
	}
}

// (a) A value byte flipped in a record in the middle of the log: Open must
// refuse with ErrCorrupt naming the file and the record's offset, leave the
// file as it is, and open again once the byte is restored.
func checkMidFileFlip(dir string, n int) (string, error) {
	want, err := fillStore(dir, n)
	if err != nil {
		return "", err
	}
	recs, err := scanLog(activeLog(dir))
	if err != nil {
		return "", fmt.Errorf("before damage: %w", err)
	}
	rec := recs[len(recs)/2]
	at := rec.valueOff() + int64(rec.valLen)/2
	if err := flipByte(activeLog(dir), at); err != nil {
		return "", err
	}
	msg, err := expectRefused(dir, rec.off)
	if err != nil {
		return "", err
	}
	if err := flipByte(activeLog(dir), at); err != nil { // restore it
		return "", err
	}
	if err := reopenAndCheck(dir, want, nil); err != nil {
		return "", fmt.Errorf("after restoring the byte: %w", err)
	}
	return fmt.Sprintf("refused at open with ErrCorrupt naming active.log and offset %d (record %d of %d, byte %d flipped); log left untouched; opens with all %d values once restored. Error: %s",
		rec.off, len(recs)/2+1, len(recs), at, len(want), shortErr(msg, dir)), nil
}

// (b) A value byte flipped in the last record: nothing valid follows, so
// Open takes it for a torn write and cuts it off, saving its bytes in
// active.log.<offset>.torn. The last record overwrote a key, whose previous
// value comes back.
func checkLastRecordFlip(dir string, n int) (string, error) {
	want, err := fillStore(dir, n)
	if err != nil {
		return "", err
	}
	key := intKey(n / 3)
	if err := putAndClose(dir, key, []byte("overwritten by the last record")); err != nil {
		return "", err
	}
	recs, err := scanLog(activeLog(dir))
	if err != nil {
		return "", fmt.Errorf("before damage: %w", err)
	}
	last := recs[len(recs)-1]
	if last.key != string(key) {
		return "", fmt.Errorf("last record is of key %q, want %q", last.key, key)
	}
	if err := flipByte(activeLog(dir), last.valueOff()+2); err != nil {
		return "", err
	}
	damaged, err := os.ReadFile(activeLog(dir))
	if err != nil {
		return "", err
	}
	// want still holds the previous value of key: the one Get must return.
	if err := expectTornCut(dir, want, nil, last.off, damaged[last.off:]); err != nil {
		return "", err
	}
	return fmt.Sprintf("Open cut the damaged last record at offset %d (%d bytes, saved as active.log.%d.torn); %s has its previous value again; the other %d values exact; a Put after it survives a reopen",
		last.off, last.size(), last.off, key, len(want)-1), nil
}

// (c1) Ten bytes of a header appended to the log, as a crash in the middle
// of writing one would leave.
func checkTornPartialHeader(dir string, n int) (string, error) {
	return checkTornAppend(dir, n, 10)
}

// (c2) The first 30 bytes of a record (header and part of the key)
// appended to the log.
func checkTornPartialRecord(dir string, n int) (string, error) {
	return checkTornAppend(dir, n, 30)
}

func checkTornAppend(dir string, n, partial int) (string, error) {
	want, err := fillStore(dir, n)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(activeLog(dir))
	if err != nil {
		return "", err
	}
	tail := encodeRecord(uint64(time.Now().UnixNano()), 0, []byte("torn-key"), bytes.Repeat([]byte("v"), 100))[:partial]
	if err := appendFile(activeLog(dir), tail); err != nil {
		return "", err
	}
	if err := expectTornCut(dir, want, [][]byte{[]byte("torn-key")}, fi.Size(), tail); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d bytes of a %d-byte record after %d good records: Open cut them at offset %d (saved as .torn); all %d values exact; a Put after it survives a reopen",
		partial, headerSize+8+100, n, fi.Size(), len(want)), nil
}

// (c3) The log cut in the middle of its last record's value.
func checkTornTruncated(dir string, n int) (string, error) {
	want, err := fillStore(dir, n)
	if err != nil {
		return "", err
	}
	recs, err := scanLog(activeLog(dir))
	if err != nil {
		return "", err
	}
	last := recs[len(recs)-1]
	cut := last.valueOff() + int64(last.valLen)/2
	whole, err := os.ReadFile(activeLog(dir))
	if err != nil {
		return "", err
	}
	if err := os.Truncate(activeLog(dir), cut); err != nil {
		return "", err
	}
	delete(want, last.key)
	if err := expectTornCut(dir, want, [][]byte{[]byte(last.key)}, last.off, whole[last.off:cut]); err != nil {
		return "", err
	}
	return fmt.Sprintf("log cut at %d, inside the last record (offset %d, %d bytes): Open cut it; %s is ErrNotFound; the other %d values exact; a Put after it survives a reopen",
		cut, last.off, last.size(), last.key, len(want)), nil
}

// (d) The value size of a record in the middle made so large that the
// record seems to run past the end of the file. Valid records follow, so it
// is corruption, not a torn tail: Open must refuse and cut nothing.
func checkMidFileSizeField(dir string, n int) (string, error) {
	if _, err := fillStore(dir, n); err != nil {
		return "", err
	}
	recs, err := scanLog(activeLog(dir))
	if err != nil {
		return "", err
	}
	rec := recs[len(recs)/2]
	fi, err := os.Stat(activeLog(dir))
	if err != nil {
		return "", err
	}
	var size [4]byte
	binary.LittleEndian.PutUint32(size[:], uint32(fi.Size()))
	if err := writeAt(activeLog(dir), rec.off+16, size[:]); err != nil {
		return "", err
	}
	msg, err := expectRefused(dir, rec.off)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("value size of record %d (offset %d) set to %d, past the end: refused at open with ErrCorrupt naming active.log and offset %d, nothing cut. Error: %s",
		len(recs)/2+1, rec.off, fi.Size(), rec.off, shortErr(msg, dir)), nil
}

// (e) A flushed record's value damaged in the file while the store is
// open: Get must report ErrCorrupt, never the damaged value; other keys
// still read; and the next Open refuses the log.
func checkDamageWhileOpen(dir string, n int) (string, error) {
	db, err := aetherkv.Open(dir, nil)
	if err != nil {
		return "", err
	}
	defer db.Close()
	want := make(map[string][]byte)
	for i := range n {
		k, v := intKey(i), intValue(i)
		if err := db.Put(k, v); err != nil {
			return "", fmt.Errorf("put %s: %w", k, err)
		}
		want[string(k)] = v
	}
	if err := db.Sync(); err != nil {
		return "", fmt.Errorf("sync: %w", err)
	}
	recs, err := scanLog(activeLog(dir))
	if err != nil {
		return "", fmt.Errorf("after Sync: %w", err)
	}
	if len(recs) != n {
		return "", fmt.Errorf("after Sync, active.log holds %d records, want %d (Sync flushes every acknowledged write)", len(recs), n)
	}
	rec := recs[n/2]
	if err := flipByte(activeLog(dir), rec.valueOff()+1); err != nil {
		return "", err
	}
	got, err := db.Get([]byte(rec.key))
	switch {
	case err == nil:
		return "", fmt.Errorf("Get(%s) of a damaged record = %q, nil error; want ErrCorrupt", rec.key, clip(got))
	case !errors.Is(err, aetherkv.ErrCorrupt):
		return "", fmt.Errorf("Get(%s) of a damaged record: %v; want an error wrapping ErrCorrupt", rec.key, err)
	case got != nil:
		return "", fmt.Errorf("Get(%s) returned %q with its error; want no value", rec.key, clip(got))
	}
	getErr := err.Error()
	if err := mentionsFileAndOffset(getErr, rec.off); err != nil {
		return "", fmt.Errorf("Get error: %w", err)
	}
	delete(want, rec.key)
	if err := checkGets(db, want, nil); err != nil {
		return "", fmt.Errorf("other keys after the damage: %w", err)
	}
	if err := db.Close(); err != nil {
		return "", fmt.Errorf("close: %w", err)
	}
	if _, err := expectRefused(dir, rec.off); err != nil {
		return "", fmt.Errorf("reopen after the damage: %w", err)
	}
	return fmt.Sprintf("value of %s (offset %d) damaged after Sync: Get returns ErrCorrupt and no value; the other %d keys read; reopen refused. Get error: %s",
		rec.key, rec.off, len(want), shortErr(getErr, dir)), nil
}

// ---------------------------------------------------------------------------
// integrity helpers

const headerSize = 21

func activeLog(dir string) string { return filepath.Join(dir, "active.log") }

func intKey(i int) []byte { return fmt.Appendf(nil, "key-%04d", i) }

// intValue varies in length, so that records are not all the same size.
func intValue(i int) []byte {
	return fmt.Appendf(nil, "value-%04d-%s", i, strings.Repeat("x", 20+(i*13)%80))
}

// fillStore writes n records of distinct keys and closes the store.
func fillStore(dir string, n int) (map[string][]byte, error) {
	db, err := aetherkv.Open(dir, nil)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	want := make(map[string][]byte, n)
	for i := range n {
		k, v := intKey(i), intValue(i)
		if err := db.Put(k, v); err != nil {
			db.Close()
			return nil, fmt.Errorf("put %s: %w", k, err)
		}
		want[string(k)] = v
	}
	if err := db.Close(); err != nil {
		return nil, fmt.Errorf("close: %w", err)
	}
	return want, nil
}

func putAndClose(dir string, key, value []byte) error {
	db, err := aetherkv.Open(dir, nil)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	if err := db.Put(key, value); err != nil {
		db.Close()
		return fmt.Errorf("put %s: %w", key, err)
	}
	return db.Close()
}

// logRecord locates a record found in a data file.
type logRecord struct {
	off            int64
	keyLen, valLen int
	flag           byte
	key            string
}

func (r logRecord) valueOff() int64 { return r.off + headerSize + int64(r.keyLen) }
func (r logRecord) size() int64     { return headerSize + int64(r.keyLen) + int64(r.valLen) }

// scanLog parses a data file by the documented format and checks every
// record: sizes within the file, a known flag, and the CRC-32 (IEEE) of
// bytes [4:] of the record.
func scanLog(path string) ([]logRecord, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var recs []logRecord
	for off := int64(0); off < int64(len(b)); {
		if int64(len(b))-off < headerSize {
			return nil, fmt.Errorf("%s: %d bytes at offset %d, less than a header", path, int64(len(b))-off, off)
		}
		h := b[off:]
		r := logRecord{
			off:    off,
			keyLen: int(binary.LittleEndian.Uint32(h[12:16])),
			valLen: int(binary.LittleEndian.Uint32(h[16:20])),
			flag:   h[20],
		}
		if r.size() > int64(len(h)) {
			return nil, fmt.Errorf("%s: record at offset %d runs past the end", path, off)
		}
		if r.flag > 1 {
			return nil, fmt.Errorf("%s: record at offset %d has flag %d", path, off, r.flag)
		}
		if sum := crc32.ChecksumIEEE(h[4:r.size()]); sum != binary.LittleEndian.Uint32(h[0:4]) {
			return nil, fmt.Errorf("%s: record at offset %d: CRC %08x, header says %08x", path, off, sum, binary.LittleEndian.Uint32(h))
		}
		r.key = string(h[headerSize : headerSize+r.keyLen])
		recs = append(recs, r)
		off += r.size()
	}
	return recs, nil
}

// encodeRecord encodes a record by the documented format.
func encodeRecord(ts uint64, flag byte, key, value []byte) []byte {
	b := make([]byte, headerSize, headerSize+len(key)+len(value))
	binary.LittleEndian.PutUint64(b[4:12], ts)
	binary.LittleEndian.PutUint32(b[12:16], uint32(len(key)))
	binary.LittleEndian.PutUint32(b[16:20], uint32(len(value)))
	b[20] = flag
	b = append(append(b, key...), value...)
	binary.LittleEndian.PutUint32(b[0:4], crc32.ChecksumIEEE(b[4:]))
	return b
}

// flipByte inverts every bit of the byte at off.
func flipByte(path string, off int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		return fmt.Errorf("read %s at %d: %w", path, off, err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b[:], off); err != nil {
		return fmt.Errorf("write %s at %d: %w", path, off, err)
	}
	return f.Sync()
}

func writeAt(path string, off int64, p []byte) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteAt(p, off); err != nil {
		return fmt.Errorf("write %s at %d: %w", path, off, err)
	}
	return f.Sync()
}

func appendFile(path string, p []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(p); err != nil {
		return fmt.Errorf("append to %s: %w", path, err)
	}
	return f.Sync()
}

// expectRefused checks that Open fails with ErrCorrupt naming active.log
// and offset off, and that it changed nothing: same bytes, no .torn file.
// It returns the error message.
func expectRefused(dir string, off int64) (string, error) {
	before, err := os.ReadFile(activeLog(dir))
	if err != nil {
		return "", err
	}
	db, openErr := aetherkv.Open(dir, nil)
	if openErr == nil {
		db.Close()
		return "", fmt.Errorf("Open succeeded; want an error wrapping ErrCorrupt for the record at offset %d", off)
	}
	if !errors.Is(openErr, aetherkv.ErrCorrupt) {
		return "", fmt.Errorf("Open: %v; want an error wrapping ErrCorrupt", openErr)
	}
	if err := mentionsFileAndOffset(openErr.Error(), off); err != nil {
		return "", fmt.Errorf("Open error: %w", err)
	}
	after, err := os.ReadFile(activeLog(dir))
	if err != nil {
		return "", err
	}
	if !bytes.Equal(before, after) {
		return "", fmt.Errorf("a refused Open changed active.log (%d bytes before, %d after)", len(before), len(after))
	}
	if torn, _ := filepath.Glob(filepath.Join(dir, "*.torn")); len(torn) > 0 {
		return "", fmt.Errorf("a refused Open left torn files %q: it treated the damage as a torn tail", torn)
	}
	return openErr.Error(), nil
}

// mentionsFileAndOffset checks that msg names active.log and off (as a
// whole decimal number).
func mentionsFileAndOffset(msg string, off int64) error {
	if !strings.Contains(msg, "active.log") {
		return fmt.Errorf("%q does not name active.log", msg)
	}
	if !regexp.MustCompile(`(^|\D)` + strconv.FormatInt(off, 10) + `(\D|$)`).MatchString(msg) {
		return fmt.Errorf("%q does not name the offset %d of the damaged record", msg, off)
	}
	return nil
}

// expectTornCut checks an Open that must cut a torn tail at off: it
// succeeds; active.log is off bytes long; active.log.<off>.torn holds
// exactly tail; want holds, and each of absent is ErrNotFound. Then a Put
// must survive a reopen that cuts nothing more.
func expectTornCut(dir string, want map[string][]byte, absent [][]byte, off int64, tail []byte) error {
	db, err := aetherkv.Open(dir, nil)
	if err != nil {
		return fmt.Errorf("Open: %w; want it to cut the torn tail at offset %d", err, off)
	}
	defer db.Close()
	if fi, err := os.Stat(activeLog(dir)); err != nil {
		return err
	} else if fi.Size() != off {
		return fmt.Errorf("after Open active.log is %d bytes, want %d (cut at the torn record)", fi.Size(), off)
	}
	side := activeLog(dir) + "." + strconv.FormatInt(off, 10) + ".torn"
	saved, err := os.ReadFile(side)
	if err != nil {
		torn, _ := filepath.Glob(filepath.Join(dir, "*.torn"))
		return fmt.Errorf("torn bytes not saved as %s: %w (torn files: %q)", filepath.Base(side), err, torn)
	}
	if !bytes.Equal(saved, tail) {
		return fmt.Errorf("%s holds %d bytes, want the %d bytes cut", filepath.Base(side), len(saved), len(tail))
	}
	if err := checkValues(db, want, absent); err != nil {
		return fmt.Errorf("after cutting: %w", err)
	}

	newKey, newValue := []byte("written-after-the-cut"), []byte("still here after another reopen")
	if err := db.Put(newKey, newValue); err != nil {
		return fmt.Errorf("put after the cut: %w", err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("close after the cut: %w", err)
	}
	if _, err := scanLog(activeLog(dir)); err != nil {
		return fmt.Errorf("log after the cut and a Put: %w", err)
	}
	all := merged(want, map[string][]byte{string(newKey): newValue})
	if err := reopenAndCheck(dir, all, absent); err != nil {
		return fmt.Errorf("second reopen: %w", err)
	}
	if torn, _ := filepath.Glob(filepath.Join(dir, "*.torn")); len(torn) != 1 {
		return fmt.Errorf("after the second reopen: torn files %q, want only %s", torn, filepath.Base(side))
	}
	return nil
}

// reopenAndCheck opens dir, checks its values and closes it.
func reopenAndCheck(dir string, want map[string][]byte, absent [][]byte) error {
	db, err := aetherkv.Open(dir, nil)
	if err != nil {
		return fmt.Errorf("Open: %w", err)
	}
	if err := checkValues(db, want, absent); err != nil {
		db.Close()
		return err
	}
	return db.Close()
}

// checkValues checks that each key of want has exactly its value, each key
// of absent is ErrNotFound, and Len() is len(want).
func checkValues(db *aetherkv.DB, want map[string][]byte, absent [][]byte) error {
	if err := checkGets(db, want, absent); err != nil {
		return err
	}
	if got := db.Len(); got != len(want) {
		return fmt.Errorf("Len() = %d, want %d", got, len(want))
	}
	return nil
}

// checkGets checks that each key of want has exactly its value and each
// key of absent is ErrNotFound.
func checkGets(db *aetherkv.DB, want map[string][]byte, absent [][]byte) error {
	for k, w := range want {
		got, err := db.Get([]byte(k))
		if err != nil {
			return fmt.Errorf("Get(%s): %w", k, err)
		}
		if !bytes.Equal(got, w) {
			return fmt.Errorf("Get(%s) = %q, want %q", k, clip(got), clip(w))
		}
	}
	for _, k := range absent {
		if got, err := db.Get(k); !errors.Is(err, aetherkv.ErrNotFound) {
			return fmt.Errorf("Get(%s) = %q, %v; want ErrNotFound", k, clip(got), err)
		}
	}
	return nil
}

// merged merges maps into a new one; later ones win.
func merged(ms ...map[string][]byte) map[string][]byte {
	out := make(map[string][]byte)
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// clip shortens a value for a message.
func clip(b []byte) string {
	if len(b) > 60 {
		return string(b[:60]) + "..."
	}
	return string(b)
}

// shortErr keeps an error message readable: the temporary directory
// becomes "<dir>", and advice after the first "; " is dropped.
func shortErr(msg, dir string) string {
	msg, _, _ = strings.Cut(strings.ReplaceAll(msg, dir, "<dir>"), "; ")
	return msg
}
