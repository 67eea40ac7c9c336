package errfs_test

import (
	"bytes"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/aether-kv/aether-kv/internal/vfs"
	"github.com/aether-kv/aether-kv/internal/vfs/errfs"
)

// openFile creates a new file in a temporary directory through fs.
func openFile(t *testing.T, fs *errfs.FS, name string) vfs.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := fs.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("OpenFile(%q) = %v", path, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// contents reads back what reached the inner file.
func contents(t *testing.T, f vfs.File) []byte {
	t.Helper()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPassThrough(t *testing.T) {
	fs := errfs.New(vfs.Default)
	f := openFile(t, fs, "f")
	if n, err := f.Write([]byte("hello")); n != 5 || err != nil {
		t.Fatalf("Write = %d, %v, want 5, nil", n, err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("Sync = %v", err)
	}
	p := make([]byte, 4)
	if n, err := f.ReadAt(p, 1); n != 4 || err != nil || string(p) != "ello" {
		t.Fatalf("ReadAt(1) = %d, %q, %v, want 4, %q, nil", n, p, err, "ello")
	}
	if err := f.Truncate(2); err != nil {
		t.Fatalf("Truncate = %v", err)
	}
	if got := contents(t, f); string(got) != "he" {
		t.Fatalf("file = %q, want %q", got, "he")
	}
	if err := fs.SyncDir(filepath.Dir(f.Name())); err != nil {
		t.Fatalf("SyncDir = %v", err)
	}
}

func TestInjectWrite(t *testing.T) {
	type write struct {
		data    string
		wantN   int
		wantErr bool
	}
	tests := []struct {
		name       string
		afterBytes int64
		writes     []write
		wantFile   string
	}{
		{"fails at once", 0, []write{{"abc", 0, true}, {"d", 0, true}}, ""},
		{"short write", 4, []write{{"abcdef", 4, true}, {"gh", 0, true}}, "abcd"},
		{"fits then short", 5, []write{{"abc", 3, false}, {"defg", 2, true}, {"x", 0, true}}, "abcde"},
		{"exact fit then fail", 3, []write{{"abc", 3, false}, {"d", 0, true}}, "abc"},
		{"negative is zero", -7, []write{{"abc", 0, true}}, ""},
		{"empty write in budget", 0, []write{{"", 0, false}, {"a", 0, true}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := errfs.New(vfs.Default)
			f := openFile(t, fs, "f")
			fs.InjectWrite(syscall.ENOSPC, tt.afterBytes)
			for _, w := range tt.writes {
				n, err := f.Write([]byte(w.data))
				if n != w.wantN || (err != nil) != w.wantErr {
					t.Fatalf("Write(%q) = %d, %v, want %d, error %t", w.data, n, err, w.wantN, w.wantErr)
				}
				if err != nil && !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("Write(%q) = %v, want ENOSPC", w.data, err)
				}
			}
			if got := contents(t, f); string(got) != tt.wantFile {
				t.Fatalf("file = %q, want %q", got, tt.wantFile)
			}
		})
	}
}

func TestInjectWriteCountsAllFiles(t *testing.T) {
	fs := errfs.New(vfs.Default)
	a, b := openFile(t, fs, "a"), openFile(t, fs, "b")
	fs.InjectWrite(syscall.EIO, 5)
	if n, err := a.Write([]byte("123")); n != 3 || err != nil {
		t.Fatalf("a.Write = %d, %v, want 3, nil", n, err)
	}
	if n, err := b.Write([]byte("456")); n != 2 || !errors.Is(err, syscall.EIO) {
		t.Fatalf("b.Write = %d, %v, want 2, EIO", n, err)
	}
	if got := contents(t, b); string(got) != "45" {
		t.Fatalf("b = %q, want %q", got, "45")
	}
}

func TestInjectedErrorIsPathError(t *testing.T) {
	fs := errfs.New(vfs.Default)
	f := openFile(t, fs, "f")
	fs.InjectWrite(syscall.ENOSPC, 0)
	_, err := f.Write([]byte("x"))
	var pe *iofs.PathError
	if !errors.As(err, &pe) || pe.Op != "write" || pe.Path != f.Name() || pe.Err != syscall.ENOSPC {
		t.Fatalf("Write = %#v, want *fs.PathError{write, %s, ENOSPC}", err, f.Name())
	}
}

func TestInjectSync(t *testing.T) {
	tests := []struct {
		name string
		nth  int
		want []bool // whether each Sync fails
	}{
		{"first", 1, []bool{true, false, false}},
		{"third", 3, []bool{false, false, true, false}},
		{"zero is first", 0, []bool{true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := errfs.New(vfs.Default)
			f := openFile(t, fs, "f")
			fs.InjectSync(syscall.EIO, tt.nth)
			for i, wantFail := range tt.want {
				err := f.Sync()
				if (err != nil) != wantFail || (err != nil && !errors.Is(err, syscall.EIO)) {
					t.Fatalf("Sync #%d = %v, want failure %t (EIO)", i+1, err, wantFail)
				}
			}
		})
	}
}

func TestInjectSyncCountsAllFiles(t *testing.T) {
	fs := errfs.New(vfs.Default)
	a, b := openFile(t, fs, "a"), openFile(t, fs, "b")
	fs.InjectSync(syscall.EIO, 2)
	if err := a.Sync(); err != nil {
		t.Fatalf("a.Sync = %v, want nil", err)
	}
	if err := b.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("b.Sync = %v, want EIO", err)
	}
	if err := fs.SyncDir(filepath.Dir(a.Name())); err != nil {
		t.Fatalf("SyncDir = %v, want nil (InjectSync does not cover SyncDir)", err)
	}
}

func TestInjectReadAndReset(t *testing.T) {
	fs := errfs.New(vfs.Default)
	f := openFile(t, fs, "f")
	if _, err := f.Write([]byte("data")); err != nil {
		t.Fatal(err)
	}
	fs.InjectRead(syscall.EIO)
	p := make([]byte, 4)
	for range 2 {
		if n, err := f.ReadAt(p, 0); n != 0 || !errors.Is(err, syscall.EIO) {
			t.Fatalf("ReadAt = %d, %v, want 0, EIO", n, err)
		}
	}
	fs.InjectWrite(syscall.ENOSPC, 0)
	fs.InjectSync(syscall.EIO, 1)
	fs.InjectFunc(func(errfs.Op, string) error { return syscall.EPERM })
	fs.Reset()
	if n, err := f.ReadAt(p, 0); n != 4 || err != nil || string(p) != "data" {
		t.Fatalf("ReadAt after Reset = %d, %q, %v, want 4, %q, nil", n, p, err, "data")
	}
	if _, err := f.Write([]byte("more")); err != nil {
		t.Fatalf("Write after Reset = %v", err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("Sync after Reset = %v", err)
	}
}

func TestInjectFunc(t *testing.T) {
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	tests := []struct {
		name string
		op   errfs.Op
		do   func(fs *errfs.FS) error
	}{
		{"open", errfs.OpOpen, func(fs *errfs.FS) error {
			_, err := fs.OpenFile(path("open"), os.O_RDWR|os.O_CREATE, 0o600)
			return err
		}},
		{"syncdir", errfs.OpSyncDir, func(fs *errfs.FS) error { return fs.SyncDir(dir) }},
		{"rename", errfs.OpRename, func(fs *errfs.FS) error { return fs.Rename(path("x"), path("y")) }},
		{"remove", errfs.OpRemove, func(fs *errfs.FS) error { return fs.Remove(path("x")) }},
		{"mkdir", errfs.OpMkdirAll, func(fs *errfs.FS) error { return fs.MkdirAll(path("d"), 0o700) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := errfs.New(vfs.Default)
			var seen []errfs.Op
			fs.InjectFunc(func(op errfs.Op, name string) error {
				seen = append(seen, op)
				if op == tt.op {
					return syscall.EIO
				}
				return nil
			})
			if err := tt.do(fs); !errors.Is(err, syscall.EIO) {
				t.Fatalf("%s = %v, want EIO", tt.op, err)
			}
			if len(seen) != 1 || seen[0] != tt.op {
				t.Fatalf("predicate saw %v, want [%v]", seen, tt.op)
			}
		})
	}
}

func TestInjectFuncByName(t *testing.T) {
	fs := errfs.New(vfs.Default)
	bad, good := openFile(t, fs, "bad"), openFile(t, fs, "good")
	fs.InjectFunc(func(op errfs.Op, name string) error {
		if filepath.Base(name) == "bad" && (op == errfs.OpWrite || op == errfs.OpTruncate) {
			return syscall.EROFS
		}
		return nil
	})
	if n, err := bad.Write([]byte("x")); n != 0 || !errors.Is(err, syscall.EROFS) {
		t.Fatalf("bad.Write = %d, %v, want 0, EROFS", n, err)
	}
	if err := bad.Truncate(0); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("bad.Truncate = %v, want EROFS", err)
	}
	if _, err := good.Write([]byte("x")); err != nil {
		t.Fatalf("good.Write = %v, want nil", err)
	}
	if got := contents(t, bad); len(got) != 0 {
		t.Fatalf("bad = %q, want it empty", got)
	}
}

// TestInjectFuncMayCallFS checks that the predicate runs outside the FS's
// lock.
func TestInjectFuncMayCallFS(t *testing.T) {
	fs := errfs.New(vfs.Default)
	f := openFile(t, fs, "f")
	fs.InjectFunc(func(op errfs.Op, name string) error {
		fs.InjectRead(nil)
		return nil
	})
	if _, err := f.Write([]byte("x")); err != nil {
		t.Fatalf("Write = %v", err)
	}
}

// TestConcurrentWriteBudget writes from many goroutines at once: exactly
// the budget reaches the disk, and every write past it fails.
func TestConcurrentWriteBudget(t *testing.T) {
	const (
		writers = 8
		writes  = 200
		budget  = 5000
	)
	fs := errfs.New(vfs.Default)
	files := make([]vfs.File, writers)
	for i := range files {
		files[i] = openFile(t, fs, fmt.Sprint(i))
	}
	fs.InjectWrite(syscall.ENOSPC, budget)
	var wrote, failed atomic.Int64
	var wg sync.WaitGroup
	for _, f := range files {
		wg.Go(func() {
			chunk := bytes.Repeat([]byte{'x'}, 7)
			for range writes {
				n, err := f.Write(chunk)
				wrote.Add(int64(n))
				if err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Go(func() {
		for range writes {
			fs.InjectSync(syscall.EIO, 2)
			fs.InjectRead(nil)
		}
	})
	wg.Wait()
	var onDisk int64
	for _, f := range files {
		onDisk += int64(len(contents(t, f)))
	}
	if wrote.Load() != budget || onDisk != budget {
		t.Errorf("wrote %d bytes, %d on disk, want %d", wrote.Load(), onDisk, budget)
	}
	if want := int64(writers*writes - budget/7); failed.Load() != want {
		t.Errorf("%d writes failed, want %d", failed.Load(), want)
	}
}

func TestOpString(t *testing.T) {
	tests := []struct {
		op   errfs.Op
		want string
	}{
		{errfs.OpWrite, "write"},
		{errfs.OpReadAt, "read"},
		{errfs.OpSync, "sync"},
		{errfs.OpMkdirAll, "mkdir"},
		{errfs.Op(0), "unknown"},
		{errfs.Op(99), "unknown"},
	}
	for _, tt := range tests {
		if got := tt.op.String(); got != tt.want {
			t.Errorf("Op(%d).String() = %q, want %q", int(tt.op), got, tt.want)
		}
	}
}
