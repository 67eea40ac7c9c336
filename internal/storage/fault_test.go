package storage_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aether-kv/aether-kv/internal/format"
	"github.com/aether-kv/aether-kv/internal/storage"
	"github.com/aether-kv/aether-kv/internal/vfs"
	"github.com/aether-kv/aether-kv/internal/vfs/errfs"
)

// appendAll appends recs to l.
func appendAll(t *testing.T, l *storage.Log, recs []rec) {
	t.Helper()
	for _, r := range recs {
		if _, _, err := l.Append(r.ts, r.flag, r.key, r.value); err != nil {
			t.Fatalf("Append(%q) = %v", r.key, err)
		}
	}
}

// scanAll scans the file at path and returns the keys it holds and the
// scan error.
func scanAll(t *testing.T, path string) ([]string, error) {
	t.Helper()
	data := readFile(t, path)
	s := storage.NewScanner(bytes.NewReader(data), path, int64(len(data)), 1024)
	var keys []string
	for s.Next() {
		keys = append(keys, string(s.Record().Key))
	}
	return keys, s.Err()
}

func keysOf(recs []rec) []string {
	keys := make([]string, len(recs))
	for i, r := range recs {
		keys[i] = string(r.key)
	}
	return keys
}

// TestLogWriteFault fails the write of a batch, in full or in part (a
// short write). The file must be cut back to the last whole record, and
// the error must stick.
func TestLogWriteFault(t *testing.T) {
	synced, pending := genRecords(5, 10), genRecords(3, 11)
	pendingData, pendingOffs := build(pending)
	tests := []struct {
		name       string
		err        error
		afterBytes int64
	}{
		{"EIO before any byte", syscall.EIO, 0},
		{"EIO after one byte", syscall.EIO, 1},
		{"EIO inside the header", syscall.EIO, format.HeaderSize - 1},
		{"EIO after one record", syscall.EIO, pendingOffs[1]},
		{"EIO half way", syscall.EIO, int64(len(pendingData)) / 2},
		{"EIO one byte short", syscall.EIO, int64(len(pendingData)) - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, path, l, good := logWithPending(t, synced, pending)

			fs.InjectWrite(tt.err, tt.afterBytes)
			err := l.Flush()
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Flush = %v, want %v naming %s", err, tt.err, path)
			}
			if fi, serr := os.Stat(path); serr != nil || fi.Size() != good {
				t.Fatalf("file after the failed write: size %d (%v), want %d: a partial record is left", fi.Size(), serr, good)
			}
			if keys, serr := scanAll(t, path); serr != nil || !slicesEqual(keys, keysOf(synced)) {
				t.Fatalf("scan after the failed write = %q, %v, want %q, nil", keys, serr, keysOf(synced))
			}
			if l.Flushed() != good || l.Err() != err {
				t.Fatalf("Flushed(), Err() = %d, %v, want %d, %v", l.Flushed(), l.Err(), good, err)
			}

			// The error sticks, even once the disk is healthy again.
			fs.Reset()
			if _, _, aerr := l.Append(1, format.FlagValue, []byte("later"), []byte("v")); aerr != err {
				t.Errorf("Append after the failure = %v, want the sticky %v", aerr, err)
			}
			if ferr := l.Flush(); ferr != err {
				t.Errorf("Flush after the failure = %v, want the sticky %v", ferr, err)
			}
			if cerr := l.Close(); !errors.Is(cerr, tt.err) {
				t.Errorf("Close after the failure = %v, want %v", cerr, tt.err)
			}
			if fi, _ := os.Stat(path); fi.Size() != good {
				t.Errorf("file after Close: size %d, want %d", fi.Size(), good)
			}
		})
	}
}

// TestLogDiskFull: a write that fails because the disk is full (ENOSPC),
// wherever it stops, is cut off the file again, is not sticky, and leaves
// the buffer to be written in full once there is space.
func TestLogDiskFull(t *testing.T) {
	synced, pending := genRecords(5, 1), genRecords(8, 2)
	pendingData, pendingOffs := build(pending)
	for _, afterBytes := range []int64{0, 1, format.HeaderSize - 1, format.HeaderSize, pendingOffs[1], pendingOffs[1] + 5, int64(len(pendingData)) - 1} {
		t.Run(fmt.Sprint("after=", afterBytes), func(t *testing.T) {
			fs, path, l, good := logWithPending(t, synced, pending)
			fs.InjectWrite(syscall.ENOSPC, afterBytes)
			if err := l.Flush(); !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("Flush on a full disk = %v, want ENOSPC", err)
			}
			if fi, _ := os.Stat(path); fi.Size() != good || l.Err() != nil {
				t.Fatalf("after a full-disk write: size %d, Err() %v; want %d and no sticky error", fi.Size(), l.Err(), good)
			}
			fs.Reset() // space is freed
			if err := l.Flush(); err != nil {
				t.Fatalf("Flush once there is space = %v", err)
			}
			keys, serr := scanAll(t, path)
			if want := keysOf(append(append([]rec{}, synced...), pending...)); serr != nil || !slicesEqual(keys, want) {
				t.Fatalf("scan after the retry = %q, %v, want %q", keys, serr, want)
			}
			l.Close()
		})
	}
}

// logWithPending opens a log on a fault-injecting file system, writes the
// synced records to the file and leaves the pending ones in the buffer. It
// returns the size of the file before the pending records.
func logWithPending(t *testing.T, synced, pending []rec) (*errfs.FS, string, *storage.Log, int64) {
	t.Helper()
	fs := errfs.New(vfs.Default)
	path := newLogPath(t)
	l := mustOpenLog(t, fs, path, 1<<20)
	appendAll(t, l, synced)
	if err := l.Flush(); err != nil {
		t.Fatalf("Flush = %v", err)
	}
	good := l.Flushed()
	appendAll(t, l, pending)
	return fs, path, l, good
}

func slicesEqual(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00") && len(a) == len(b)
}

// TestLogWriteFaultInAppend fails the write that Append starts when the
// buffer passes the batch size.
func TestLogWriteFaultInAppend(t *testing.T) {
	fs := errfs.New(vfs.Default)
	path := newLogPath(t)
	l := mustOpenLog(t, fs, path, 100)
	fs.InjectWrite(syscall.ENOSPC, 150)
	var err error
	var appended []rec
	for _, r := range genRecords(20, 12) {
		if _, _, err = l.Append(r.ts, r.flag, r.key, r.value); err != nil {
			break
		}
		appended = append(appended, r)
	}
	if !errors.Is(err, syscall.ENOSPC) || l.Err() != nil {
		t.Fatalf("Append until the disk is full = %v, Err() %v; want ENOSPC, not sticky", err, l.Err())
	}
	if fi, _ := os.Stat(path); fi.Size() != l.Flushed() || fi.Size() > 150 {
		t.Fatalf("file size %d, want Flushed() = %d, at most 150", fi.Size(), l.Flushed())
	}
	// The refused record is not in the buffer: once there is space, the
	// file holds exactly the records whose Append succeeded.
	fs.Reset()
	if err := l.Flush(); err != nil {
		t.Fatalf("Flush once there is space = %v", err)
	}
	keys, serr := scanAll(t, path)
	if serr != nil || !slicesEqual(keys, keysOf(appended)) {
		t.Fatalf("scan after the retry = %q, %v, want %q", keys, serr, keysOf(appended))
	}
	l.Close()
}

// TestLogWriteFaultTruncateFails: when the partial write cannot be cut
// off, the error says so and still wraps the write error.
func TestLogWriteFaultTruncateFails(t *testing.T) {
	fs := errfs.New(vfs.Default)
	path := newLogPath(t)
	l := mustOpenLog(t, fs, path, 1<<20)
	appendAll(t, l, genRecords(4, 13))
	fs.InjectWrite(syscall.ENOSPC, 10)
	fs.InjectFunc(func(op errfs.Op, name string) error {
		if op == errfs.OpTruncate {
			return syscall.EIO
		}
		return nil
	})
	err := l.Flush()
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "cutting the partial write failed") {
		t.Fatalf("Flush = %v, want ENOSPC and the failed cut", err)
	}
	if ferr := l.Flush(); ferr != err {
		t.Errorf("Flush again = %v, want the sticky %v", ferr, err)
	}
}

func TestLogSyncFault(t *testing.T) {
	fs := errfs.New(vfs.Default)
	path := newLogPath(t)
	l := mustOpenLog(t, fs, path, 1<<20)
	appendAll(t, l, genRecords(3, 14))
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	fs.InjectSync(syscall.EIO, 1)
	if err := l.Sync(); !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Sync = %v, want EIO naming %s", err, path)
	}
	fs.InjectSync(syscall.EIO, 1)
	if err := l.Close(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Close with a failing fsync = %v, want EIO", err)
	}
}

func TestOpenLogFault(t *testing.T) {
	fs := errfs.New(vfs.Default)
	fs.InjectFunc(func(op errfs.Op, name string) error {
		if op == errfs.OpOpen {
			return syscall.EACCES
		}
		return nil
	})
	path := newLogPath(t)
	if l, err := storage.OpenLog(fs, path, 1, 100, 1<<20); !errors.Is(err, syscall.EACCES) || !strings.Contains(err.Error(), path) {
		t.Fatalf("OpenLog(%s) = %v, %v, want EACCES naming the path", path, l, err)
	}
}

// TestReadFault: a read error on the file reaches the caller, never as
// corruption; the buffer can still be read.
func TestReadFault(t *testing.T) {
	fs := errfs.New(vfs.Default)
	path := newLogPath(t)
	l := mustOpenLog(t, fs, path, 1<<20)
	recs := genRecords(10, 15)
	appendAll(t, l, recs[:5])
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	off, size, err := l.Append(recs[5].ts, recs[5].flag, recs[5].key, recs[5].value)
	if err != nil {
		t.Fatal(err)
	}
	fs.InjectRead(syscall.EIO)

	if err := l.ReadAt(make([]byte, 10), 0); !errors.Is(err, syscall.EIO) {
		t.Errorf("ReadAt(0) from the file = %v, want EIO", err)
	}
	if got := readAt(t, l, off, size); !bytes.Equal(got, recs[5].encode()) {
		t.Errorf("ReadAt(%d) from the buffer = %x, want %x", off, got, recs[5].encode())
	}

	f, err := fs.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := storage.NewScanner(f, path, l.Flushed(), 1024)
	if s.Next() {
		t.Fatalf("Scanner.Next() = true, want false on a read error")
	}
	var re *storage.RecordError
	if err := s.Err(); !errors.As(err, &re) || !errors.Is(err, syscall.EIO) || errors.Is(err, format.ErrCorrupt) || re.Offset != 0 {
		t.Errorf("Scanner.Err() = %v, want a *RecordError at offset 0 wrapping EIO, not ErrCorrupt", err)
	}
	if next, err := storage.NextValid(f, 0, l.Flushed(), 1024); next != -1 || !errors.Is(err, syscall.EIO) {
		t.Errorf("NextValid(0) = %d, %v, want -1, EIO", next, err)
	}
}

// TestLogShortWriteWithoutError covers a writer that reports fewer bytes
// than asked with no error, which os.File never does but vfs.File may.
func TestLogShortWriteWithoutError(t *testing.T) {
	path := newLogPath(t)
	l := mustOpenLog(t, shortFS{vfs.Default}, path, 1<<20)
	appendAll(t, l, genRecords(2, 16))
	if err := l.Flush(); err == nil || !strings.Contains(err.Error(), "short write") {
		t.Fatalf("Flush = %v, want io.ErrShortWrite", err)
	}
	if fi, _ := os.Stat(path); fi.Size() != 0 {
		t.Fatalf("file size %d after a short write, want 0", fi.Size())
	}
}

// shortFS opens files whose Write and WriteAt write one byte less than
// asked and report no error.
type shortFS struct{ vfs.FS }

func (fs shortFS) OpenFile(name string, flag int, perm os.FileMode) (vfs.File, error) {
	f, err := fs.FS.OpenFile(name, flag, perm)
	return shortFile{f}, err
}

type shortFile struct{ vfs.File }

func (f shortFile) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return f.File.Write(p[:len(p)-1])
}

func (f shortFile) WriteAt(p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return f.File.WriteAt(p[:len(p)-1], off)
}

func ExampleRecordError() {
	data := format.Append(nil, 1, format.FlagValue, []byte("k"), []byte("v"))
	data[len(data)-1] ^= 1
	s := storage.NewScanner(bytes.NewReader(data), "active.log", int64(len(data)), 16)
	for s.Next() {
	}
	fmt.Println(errors.Is(s.Err(), format.ErrCorrupt))
	// Output: true
}

func TestLogSeal(t *testing.T) {
	path := newLogPath(t)
	l, err := storage.OpenLog(vfs.Default, path, 3, 1<<20, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	recs := genRecords(20, 17)
	data, _ := build(recs)
	appendAll(t, l, recs)
	f, _, err := l.Seal()
	if err != nil {
		t.Fatalf("Seal = %v", err)
	}
	defer f.Close()
	if got := readFile(t, path); !bytes.Equal(got, data) {
		t.Fatalf("file after Seal holds %d bytes, want the %d appended", len(got), len(data))
	}
	p := make([]byte, len(data))
	if n, err := f.ReadAt(p, 0); n != len(data) || !bytes.Equal(p, data) {
		t.Fatalf("ReadAt on the sealed file = %d, %v, want %d bytes appended", n, err, len(data))
	}
}

func TestLogSealFaults(t *testing.T) {
	tests := []struct {
		name   string
		inject func(fs *errfs.FS)
		want   error
	}{
		{"write", func(fs *errfs.FS) { fs.InjectWrite(syscall.ENOSPC, 7) }, syscall.ENOSPC},
		{"fsync", func(fs *errfs.FS) { fs.InjectSync(syscall.EIO, 1) }, syscall.EIO},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := errfs.New(vfs.Default)
			l := mustOpenLog(t, fs, newLogPath(t), 1<<20)
			appendAll(t, l, genRecords(3, 18))
			tt.inject(fs)
			if f, _, err := l.Seal(); f != nil || !errors.Is(err, tt.want) {
				t.Fatalf("Seal = %v, %v, want nil, %v", f, err, tt.want)
			}
		})
	}
}

func TestLogSetPath(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, storage.ActiveName)
	l := mustOpenLog(t, vfs.Default, path, 1<<20)
	renamed := filepath.Join(dir, storage.ClosedName(7))
	if err := os.Rename(path, renamed); err != nil {
		t.Fatal(err)
	}
	l.SetPath(renamed)
	if l.Path() != renamed {
		t.Errorf("Path() after SetPath(%q) = %q", renamed, l.Path())
	}
}
