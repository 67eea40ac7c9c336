package storage_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/aether-kv/aether-kv/internal/storage"
	"github.com/aether-kv/aether-kv/internal/vfs"
)

// TestLogPreallocate checks that a preallocating log keeps zeros ahead of
// its records, never writes them over a record, stops at its limit, and
// leaves a file that ends with its last record once sealed.
func TestLogPreallocate(t *testing.T) {
	path := newLogPath(t)
	l, err := storage.OpenLog(vfs.Default, path, 1, 100, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	const chunk, limit = 1000, 5000
	l.Preallocate(chunk, limit)
	recs := genRecords(80, 20)
	data, offs := build(recs)
	ahead := false
	for i, r := range recs {
		if _, _, err := l.Append(r.ts, r.flag, r.key, r.value); err != nil {
			t.Fatal(err)
		}
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
		got := readFile(t, path)
		end := offs[i+1]
		if !bytes.Equal(got[:end], data[:end]) {
			t.Fatalf("after record %d: the file's records differ from those appended", i)
		}
		if rest := got[end:]; len(bytes.Trim(rest, "\x00")) != 0 {
			t.Fatalf("after record %d: non-zero bytes past the last record", i)
		}
		// Zeros ahead of the records, a chunk at most, up to the limit.
		lo, hi := end, min(end+chunk, limit)
		if end >= limit {
			hi = end
		}
		if n := int64(len(got)); n < lo || n > hi {
			t.Fatalf("after record %d ending at %d: file of %d bytes, want %d to %d", i, end, n, lo, hi)
		}
		ahead = ahead || int64(len(got)) > end
	}
	if !ahead || l.Size() <= limit {
		t.Fatalf("never preallocated (%v), or the records (%d bytes) did not pass the limit", ahead, l.Size())
	}
	f, _, err := l.Seal()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := readFile(t, path); !bytes.Equal(got, data) {
		t.Fatalf("sealed file of %d bytes, want exactly the %d bytes of its records", len(got), len(data))
	}
}

// TestLogCloseCutsPreallocated checks that Close leaves no zeros behind.
func TestLogCloseCutsPreallocated(t *testing.T) {
	path := newLogPath(t)
	l, err := storage.OpenLog(vfs.Default, path, 1, 1<<20, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	l.Preallocate(4096, 1<<20)
	r := genRecords(1, 10)[0]
	if _, _, err := l.Append(r.ts, r.flag, r.key, r.value); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Size() <= l.Size() {
		t.Fatalf("file of %d bytes with %d of records: not preallocated", fi.Size(), l.Size())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Size() != l.Size() {
		t.Fatalf("closed file of %d bytes, want %d", fi.Size(), l.Size())
	}
}

func TestAllZeros(t *testing.T) {
	b := make([]byte, 3<<20)
	for _, tt := range []struct {
		set      int
		off      int64
		expected bool
	}{{-1, 0, true}, {5, 0, false}, {5, 6, true}, {3<<20 - 1, 1 << 20, false}, {2<<20 + 7, 2 << 20, false}} {
		c := append([]byte{}, b...)
		if tt.set >= 0 {
			c[tt.set] = 1
		}
		got, err := storage.AllZeros(bytes.NewReader(c), tt.off, int64(len(c)))
		if err != nil || got != tt.expected {
			t.Errorf("AllZeros with byte %d set, from %d = %v, %v, want %v", tt.set, tt.off, got, err, tt.expected)
		}
	}
}
