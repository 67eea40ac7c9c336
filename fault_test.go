package aetherkv

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aether-kv/aether-kv/internal/vfs"
	"github.com/aether-kv/aether-kv/internal/vfs/errfs"
)

func openFaulty(t *testing.T, dir string, opts Options) (*DB, *errfs.FS) {
	t.Helper()
	fs := errfs.New(vfs.Default)
	opts.fs = fs
	return mustOpenDir(t, dir, &opts), fs
}

// TestFailedFsyncStopsWrites: after a failed fsync nothing more is
// acknowledged, reads go on, the error says why, and everything
// acknowledged before the failure is there after reopening.
func TestFailedFsyncStopsWrites(t *testing.T) {
	dir := t.TempDir()
	db, fs := openFaulty(t, dir, Options{SyncMode: SyncModeAlways})
	mustPut(t, db, "before", "durable")
	fs.InjectSync(syscall.EIO, 1)
	err := db.Put([]byte("during"), []byte("x"))
	if !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), "fsync") {
		t.Fatalf("Put during a failed fsync = %v, want an fsync error wrapping EIO", err)
	}
	fs.Reset() // the disk "recovers": the store must not trust it again
	for _, op := range []func() error{
		func() error { return db.Put([]byte("after"), []byte("x")) },
		func() error { return db.Delete([]byte("before")) },
	} {
		if err := op(); !errors.Is(err, syscall.EIO) {
			t.Fatalf("write after a failed fsync = %v, want the sticky EIO", err)
		}
	}
	wantValue(t, db, "before", "durable")
	if err := db.Close(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Close = %v, want it to report the earlier failure", err)
	}
	db = mustOpenDir(t, dir, nil)
	wantValue(t, db, "before", "durable")
	wantNotFound(t, db, "after")
}

// TestShortWrite: a write that fails half way (ENOSPC) is reported, the
// log never ends in a partial record, and once the disk has space the
// writes acknowledged before the failure reach the file.
func TestShortWrite(t *testing.T) {
	dir := t.TempDir()
	db, fs := openFaulty(t, dir, Options{BatchSize: 64})
	for i := range 10 {
		mustPut(t, db, fmt.Sprintf("k%d", i), "value")
	}
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
	fs.InjectWrite(syscall.ENOSPC, 30) // the next flush writes 30 bytes, then fails
	var failed error
	for i := 10; i < 100 && failed == nil; i++ {
		failed = db.Put([]byte(fmt.Sprintf("k%d", i)), []byte("a longer value to fill the batch"))
	}
	if !errors.Is(failed, syscall.ENOSPC) {
		t.Fatalf("Put on a full disk = %v, want ENOSPC", failed)
	}
	if err := db.Put([]byte("x"), []byte("y")); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Put after the failure = %v, want the sticky ENOSPC", err)
	}
	wantValue(t, db, "k3", "value")
	fs.Reset()
	if err := db.Put([]byte("x"), []byte("y")); err != nil {
		t.Fatalf("Put once there is space = %v", err)
	}
	db.Close()
	db = mustOpenDir(t, dir, nil)
	wantValue(t, db, "x", "y")
	if torn, _ := filepath.Glob(filepath.Join(dir, "*.torn")); len(torn) != 0 {
		t.Fatalf("reopen cut a torn tail %v: the partial write was left in the log", torn)
	}
	for i := range 10 {
		wantValue(t, db, fmt.Sprintf("k%d", i), "value")
	}
}

// TestReadError: an I/O error on a read reaches the caller, and is not
// reported as corruption.
func TestReadError(t *testing.T) {
	db, fs := openFaulty(t, t.TempDir(), Options{})
	mustPut(t, db, "k", "v")
	db.Sync()
	fs.InjectRead(syscall.EIO)
	if _, err := db.Get([]byte("k")); !errors.Is(err, syscall.EIO) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("Get with a failing disk = %v, want EIO and not ErrCorrupt", err)
	}
	fs.Reset()
	wantValue(t, db, "k", "v")
}

// TestFsyncErrorReachesEveryWaiter: after one slow fsync (2 s) shared by
// 16 writers, a failing fsync reaches the 16 writers waiting on the next
// round together. Each used to lead a round of its own in turn and wait
// half the slow fsync for writers that would never come (16 s in all); the
// bound below is a liveness check with a wide margin, not a measure.
func TestFsyncErrorReachesEveryWaiter(t *testing.T) {
	fs := errfs.New(vfs.Default)
	opts := Options{SyncMode: SyncModeAlways}
	opts.fs = fs
	db := mustOpenDir(t, t.TempDir(), &opts)
	defer db.Close()
	var slow atomic.Bool
	var fail atomic.Bool
	gate := make(chan struct{})
	fs.InjectFunc(func(op errfs.Op, name string) error {
		if op != errfs.OpSync {
			return nil
		}
		if slow.Load() {
			time.Sleep(2 * time.Second)
		}
		if fail.Load() {
			<-gate
			return syscall.EIO
		}
		return nil
	})
	// a round with 16 waiters and a 2 s fsync: target=16, fsyncTime=2s
	slow.Store(true)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() { db.Put([]byte(fmt.Sprint("a", i)), []byte("v")) })
	}
	wg.Wait()
	slow.Store(false)
	fail.Store(true)
	start := time.Now()
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() { errs <- db.Put([]byte(fmt.Sprint("b", i)), []byte("v")) })
	}
	time.Sleep(1500 * time.Millisecond) // the first leader gathers, then blocks in fsync
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, syscall.EIO) {
			t.Errorf("err %v", err)
		}
	}
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("16 waiters got the fsync error after %v, want it in a few seconds", took)
	}
}
