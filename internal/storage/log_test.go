package storage_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aether-kv/aether-kv/internal/format"
	"github.com/aether-kv/aether-kv/internal/storage"
	"github.com/aether-kv/aether-kv/internal/vfs"
)

// mustOpenLog opens the log at path, closing it when the test ends.
func mustOpenLog(t *testing.T, fs vfs.FS, path string, batch int) *storage.Log {
	t.Helper()
	l, err := storage.OpenLog(fs, path, 7, batch, 1<<20)
	if err != nil {
		t.Fatalf("OpenLog(%s) = %v", path, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func newLogPath(t *testing.T) string {
	return filepath.Join(t.TempDir(), storage.ActiveName)
}

// readAt reads size bytes at off from l.
func readAt(t *testing.T, l *storage.Log, off int64, size int) []byte {
	t.Helper()
	p := make([]byte, size)
	if err := l.ReadAt(p, off); err != nil {
		t.Fatalf("ReadAt(%d bytes at %d) = %v", size, off, err)
	}
	return p
}

func TestLogAppendReadAt(t *testing.T) {
	path := newLogPath(t)
	l := mustOpenLog(t, vfs.Default, path, 1<<20)
	recs := genRecords(50, 1)
	data, offs := build(recs)
	for i, r := range recs {
		off, size, err := l.Append(r.ts, r.flag, r.key, r.value)
		if err != nil || off != offs[i] || int64(size) != offs[i+1]-offs[i] {
			t.Fatalf("Append #%d = %d, %d, %v, want %d, %d, nil", i, off, size, err, offs[i], offs[i+1]-offs[i])
		}
		if l.Size() != offs[i+1] || l.Flushed() != 0 {
			t.Fatalf("after Append #%d: Size, Flushed = %d, %d, want %d, 0", i, l.Size(), l.Flushed(), offs[i+1])
		}
		// Read your writes: the record is still only in the buffer.
		if got := readAt(t, l, off, size); !bytes.Equal(got, data[off:offs[i+1]]) {
			t.Fatalf("ReadAt(%d) from the buffer = %x, want %x", off, got, data[off:offs[i+1]])
		}
	}
	if got := readFile(t, path); len(got) != 0 {
		t.Fatalf("file before Flush holds %d bytes, want 0", len(got))
	}
	if err := l.Flush(); err != nil {
		t.Fatalf("Flush = %v", err)
	}
	if l.Size() != int64(len(data)) || l.Flushed() != int64(len(data)) {
		t.Fatalf("after Flush: Size, Flushed = %d, %d, want %d, %d", l.Size(), l.Flushed(), len(data), len(data))
	}
	if got := readFile(t, path); !bytes.Equal(got, data) {
		t.Fatalf("file after Flush = %d bytes, want the %d appended", len(got), len(data))
	}
	for i := range recs {
		got := readAt(t, l, offs[i], int(offs[i+1]-offs[i]))
		if rec, err := format.Decode(got); err != nil || !bytes.Equal(rec.Key, recs[i].key) || !bytes.Equal(rec.Value, recs[i].value) {
			t.Fatalf("Decode(ReadAt(%d)) from the file = %q, %v, want key %q", offs[i], rec.Key, err, recs[i].key)
		}
	}
	if err := l.Err(); err != nil {
		t.Fatalf("Err() = %v, want nil", err)
	}
}

func TestLogFlushAtBatchSize(t *testing.T) {
	// Each record is 21 + 3 + 6 = 30 bytes.
	tests := []struct {
		batch       int
		wantFlushed []int64 // after each of five appends
	}{
		{0, []int64{30, 60, 90, 120, 150}},
		{1, []int64{30, 60, 90, 120, 150}},
		{30, []int64{30, 60, 90, 120, 150}},
		{31, []int64{0, 60, 60, 120, 120}},
		{60, []int64{0, 60, 60, 120, 120}},
		{100, []int64{0, 0, 0, 120, 120}},
		{1000, []int64{0, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("batch=%d", tt.batch), func(t *testing.T) {
			path := newLogPath(t)
			l := mustOpenLog(t, vfs.Default, path, tt.batch)
			for i, want := range tt.wantFlushed {
				if _, _, err := l.Append(1, format.FlagValue, []byte("key"), []byte("value!")); err != nil {
					t.Fatalf("Append #%d = %v", i, err)
				}
				if got := l.Flushed(); got != want {
					t.Errorf("after Append #%d: Flushed() = %d, want %d", i, got, want)
				}
				if got := l.Size(); got != int64(30*(i+1)) {
					t.Errorf("after Append #%d: Size() = %d, want %d", i, got, 30*(i+1))
				}
				if got := int64(len(readFile(t, path))); got != want {
					t.Errorf("after Append #%d: file holds %d bytes, want %d", i, got, want)
				}
			}
		})
	}
}

func TestLogReopenAppendsAtEnd(t *testing.T) {
	path := newLogPath(t)
	old := genRecords(3, 2)
	data, _ := build(old)
	l, err := storage.OpenLog(vfs.Default, path, 7, 1<<20, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range old {
		if _, _, err := l.Append(r.ts, r.flag, r.key, r.value); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}

	l = mustOpenLog(t, vfs.Default, path, 1<<20)
	if l.ID() != 7 || l.Path() != path {
		t.Errorf("ID(), Path() = %d, %q, want 7, %q", l.ID(), l.Path(), path)
	}
	if l.Size() != int64(len(data)) || l.Flushed() != int64(len(data)) {
		t.Fatalf("reopened: Size, Flushed = %d, %d, want %d, %d", l.Size(), l.Flushed(), len(data), len(data))
	}
	r := rec{ts: 9, key: []byte("new"), value: []byte("value")}
	off, size, err := l.Append(r.ts, r.flag, r.key, r.value)
	if err != nil || off != int64(len(data)) || size != len(r.encode()) {
		t.Fatalf("Append after reopen = %d, %d, %v, want %d, %d, nil", off, size, err, len(data), len(r.encode()))
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if got, want := readFile(t, path), concat(data, r.encode()); !bytes.Equal(got, want) {
		t.Fatalf("file = %x, want %x", got, want)
	}
}

func TestLogCloseFlushes(t *testing.T) {
	path := newLogPath(t)
	l, err := storage.OpenLog(vfs.Default, path, 1, 1<<20, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	recs := genRecords(10, 3)
	data, _ := build(recs)
	for _, r := range recs {
		if _, _, err := l.Append(r.ts, r.flag, r.key, r.value); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if got := readFile(t, path); !bytes.Equal(got, data) {
		t.Fatalf("file after Close holds %d bytes, want the %d appended", len(got), len(data))
	}
}

func TestLogReadAtPastEnd(t *testing.T) {
	path := newLogPath(t)
	l := mustOpenLog(t, vfs.Default, path, 1<<20)
	if _, _, err := l.Append(1, format.FlagValue, []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	flushed := l.Flushed() // 23
	if _, _, err := l.Append(2, format.FlagValue, []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		off  int64
		n    int
	}{
		{"buffer end", l.Size(), 1},
		{"runs past the buffer", l.Size() - 1, 2},
		{"far past", 1 << 40, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := l.ReadAt(make([]byte, tt.n), tt.off); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("ReadAt(%d bytes at %d) = %v, want io.ErrUnexpectedEOF", tt.n, tt.off, err)
			}
		})
	}
	t.Run("runs past the file", func(t *testing.T) {
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := l.ReadAt(make([]byte, 2), l.Flushed()-1); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("ReadAt(2 bytes at %d) = %v, want io.ErrUnexpectedEOF", l.Flushed()-1, err)
		}
		if got := readAt(t, l, 0, int(flushed)); !bytes.Equal(got, format.Append(nil, 1, format.FlagValue, []byte("k"), []byte("v"))) {
			t.Errorf("ReadAt(0) = %x, want the first record", got)
		}
	})
}

// TestLogLargeValue appends a record far larger than the batch, which is
// written at once, then carries on with small ones.
func TestLogLargeValue(t *testing.T) {
	path := newLogPath(t)
	l := mustOpenLog(t, vfs.Default, path, 64)
	big := bytes.Repeat([]byte("0123456789"), 300_000)
	off, size, err := l.Append(1, format.FlagValue, []byte("big"), big)
	if err != nil || off != 0 || l.Flushed() != int64(size) {
		t.Fatalf("Append(big) = %d, %d, %v; Flushed() = %d, want 0, %d, nil, %d", off, size, err, l.Flushed(), size, size)
	}
	off2, size2, err := l.Append(2, format.FlagValue, []byte("small"), []byte("v"))
	if err != nil || off2 != int64(size) {
		t.Fatalf("Append(small) = %d, %d, %v, want %d", off2, size2, err, size)
	}
	rec, err := format.Decode(readAt(t, l, off, size))
	if err != nil || !bytes.Equal(rec.Value, big) {
		t.Fatalf("Decode(ReadAt(%d)) = %v, want the big value", off, err)
	}
	if rec, err := format.Decode(readAt(t, l, off2, size2)); err != nil || string(rec.Key) != "small" {
		t.Fatalf("Decode(ReadAt(%d)) = %q, %v, want key %q", off2, rec.Key, err, "small")
	}
}

// TestLogSyncConcurrent runs Sync without the caller's lock, as the doc
// allows, while appends and flushes go on (run with -race).
func TestLogSyncConcurrent(t *testing.T) {
	path := newLogPath(t)
	l := mustOpenLog(t, vfs.Default, path, 256)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := l.Sync(); err != nil {
				t.Errorf("Sync = %v", err)
				return
			}
		}
	})
	recs := genRecords(300, 4)
	data, _ := build(recs)
	for _, r := range recs {
		if _, _, err := l.Append(r.ts, r.flag, r.key, r.value); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if got := readFile(t, path); !bytes.Equal(got, data) {
		t.Fatalf("file holds %d bytes, want the %d appended", len(got), len(data))
	}
}
