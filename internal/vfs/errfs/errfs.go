// Package errfs wraps a vfs.FS to inject I/O faults in tests: ENOSPC or EIO
// on writes, short writes, failed fsyncs and failed reads, in the manner of
// pebble's errorfs.
//
// # Basics
//
//	fs := errfs.New(vfs.Default)
//	fs.InjectWrite(syscall.ENOSPC, 4096) // the disk fills after 4 KiB more
//	fs.InjectSync(syscall.EIO, 3)        // the third fsync from now fails
//	fs.InjectRead(syscall.EIO)           // every ReadAt fails
//	fs.Reset()                           // a healthy disk again
//
// InjectFunc installs a predicate for anything else, such as failing only
// the fsyncs of one file or a Truncate.
//
// An injected error is wrapped in *fs.PathError, as the os package wraps
// the errors of the system calls, so errors.Is(err, syscall.ENOSPC) holds.
// A failed operation does nothing, except that a write that runs past the
// byte budget of InjectWrite writes the part that fits first.
//
// An FS is safe for concurrent use by multiple goroutines.
package errfs

import (
	"io"
	iofs "io/fs"
	"os"
	"sync"

	"github.com/aether-kv/aether-kv/internal/vfs"
)

// Op names an operation that a predicate set by InjectFunc may fail.
type Op int

// Operations that faults can be injected into.
const (
	OpOpen     Op = iota + 1 // FS.OpenFile
	OpWrite                  // File.Write
	OpReadAt                 // File.ReadAt
	OpSync                   // File.Sync
	OpTruncate               // File.Truncate
	OpSyncDir                // FS.SyncDir
	OpRename                 // FS.Rename
	OpRemove                 // FS.Remove
	OpMkdirAll               // FS.MkdirAll
	OpLink                   // FS.Link
)

var opNames = [...]string{
	OpOpen:     "open",
	OpWrite:    "write",
	OpReadAt:   "read",
	OpSync:     "sync",
	OpTruncate: "truncate",
	OpSyncDir:  "syncdir",
	OpRename:   "rename",
	OpRemove:   "remove",
	OpMkdirAll: "mkdir",
	OpLink:     "link",
}

// String returns the name used as the Op of the *fs.PathError.
func (op Op) String() string {
	if op <= 0 || int(op) >= len(opNames) {
		return "unknown"
	}
	return opNames[op]
}

// FS is a vfs.FS that passes every call to an inner FS unless a rule fails
// it. The zero value is not usable; call New.
type FS struct {
	inner vfs.FS

	mu struct {
		sync.Mutex // Guards the rules and their counters below.
		fn         func(op Op, name string) error

		writeErr  error // set by InjectWrite; nil means writes pass
		writeLeft int64 // bytes that may still be written before writeErr

		syncErr  error // set by InjectSync; cleared once it has fired
		syncLeft int   // Syncs still to come before the failing one, counting it

		readErr error // set by InjectRead
	}
}

var _ vfs.FS = (*FS)(nil)

// New returns an FS that passes every call to inner until a fault is
// injected.
func New(inner vfs.FS) *FS {
	return &FS{inner: inner}
}

// InjectWrite makes writes fail with err once afterBytes more bytes, in
// total over all files, have been written from now on. The write that runs
// past the budget writes the part that fits and then fails (a short
// write); every later write fails without writing anything, until Reset.
func (fs *FS) InjectWrite(err error, afterBytes int64) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.mu.writeErr = err
	fs.mu.writeLeft = max(afterBytes, 0)
}

// InjectSync makes the nth File.Sync from now fail with err, counting from
// 1 (an nth below 1 counts as 1). Only that one fails: the Syncs after it
// succeed, as Linux may report a writeback error only once. The failed
// Sync does not reach the inner file. FS.SyncDir is not counted; fail it
// with InjectFunc.
func (fs *FS) InjectSync(err error, nth int) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.mu.syncErr = err
	fs.mu.syncLeft = max(nth, 1)
}

// InjectRead makes every File.ReadAt fail with err, reading nothing, until
// Reset.
func (fs *FS) InjectRead(err error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.mu.readErr = err
}

// InjectFunc makes every operation first call fn with the operation and the
// name of its file (the old name for Rename); if fn returns an error, the
// operation fails with it and does nothing. fn is consulted before the
// other rules, outside the FS's lock: it may be called concurrently, and
// it may call the FS's methods.
func (fs *FS) InjectFunc(fn func(op Op, name string) error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.mu.fn = fn
}

// Reset removes every rule and counter: the FS behaves as its inner FS
// again.
func (fs *FS) Reset() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.mu.fn = nil
	fs.mu.writeErr, fs.mu.writeLeft = nil, 0
	fs.mu.syncErr, fs.mu.syncLeft = nil, 0
	fs.mu.readErr = nil
}

// check runs the InjectFunc predicate, wrapping its error.
func (fs *FS) check(op Op, name string) error {
	fs.mu.Lock()
	fn := fs.mu.fn
	fs.mu.Unlock()
	if fn == nil {
		return nil
	}
	if err := fn(op, name); err != nil {
		return pathError(op, name, err)
	}
	return nil
}

// reserveWrite returns how many of n bytes a write may write, and the error
// it must then return.
func (fs *FS) reserveWrite(n int) (int, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.mu.writeErr == nil {
		return n, nil
	}
	if int64(n) <= fs.mu.writeLeft {
		fs.mu.writeLeft -= int64(n)
		return n, nil
	}
	k := fs.mu.writeLeft
	fs.mu.writeLeft = 0
	return int(k), fs.mu.writeErr
}

// syncFault returns the error the next Sync must fail with, if any.
func (fs *FS) syncFault() error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.mu.syncErr == nil {
		return nil
	}
	if fs.mu.syncLeft--; fs.mu.syncLeft > 0 {
		return nil
	}
	err := fs.mu.syncErr
	fs.mu.syncErr = nil
	return err
}

func (fs *FS) readFault() error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.mu.readErr
}

func pathError(op Op, name string, err error) error {
	return &iofs.PathError{Op: op.String(), Path: name, Err: err}
}

// OpenFile opens a file of the inner FS whose writes, reads and syncs obey
// the rules.
func (fs *FS) OpenFile(name string, flag int, perm os.FileMode) (vfs.File, error) {
	if err := fs.check(OpOpen, name); err != nil {
		return nil, err
	}
	f, err := fs.inner.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &file{File: f, fs: fs, name: name}, nil
}

// Remove removes a file of the inner FS, unless a rule fails it.
func (fs *FS) Remove(name string) error {
	if err := fs.check(OpRemove, name); err != nil {
		return err
	}
	return fs.inner.Remove(name)
}

// Rename renames a file of the inner FS, unless a rule fails it.
func (fs *FS) Rename(oldname, newname string) error {
	if err := fs.check(OpRename, oldname); err != nil {
		return err
	}
	return fs.inner.Rename(oldname, newname)
}

// Link makes a hard link in the inner FS, unless a rule fails it.
func (fs *FS) Link(oldname, newname string) error {
	if err := fs.check(OpLink, oldname); err != nil {
		return err
	}
	return fs.inner.Link(oldname, newname)
}

// MkdirAll creates directories of the inner FS, unless a rule fails it.
func (fs *FS) MkdirAll(dir string, perm os.FileMode) error {
	if err := fs.check(OpMkdirAll, dir); err != nil {
		return err
	}
	return fs.inner.MkdirAll(dir, perm)
}

// ReadDir reads a directory of the inner FS.
func (fs *FS) ReadDir(dir string) ([]os.DirEntry, error) { return fs.inner.ReadDir(dir) }

// Stat stats a file of the inner FS.
func (fs *FS) Stat(name string) (os.FileInfo, error) { return fs.inner.Stat(name) }

// SyncDir fsyncs a directory of the inner FS, unless a rule fails it.
func (fs *FS) SyncDir(dir string) error {
	if err := fs.check(OpSyncDir, dir); err != nil {
		return err
	}
	return fs.inner.SyncDir(dir)
}

// Lock takes a lock of the inner FS.
func (fs *FS) Lock(name string) (io.Closer, error) { return fs.inner.Lock(name) }

// file is a file of the inner FS whose writes, reads, syncs and truncates
// obey the rules of fs.
type file struct {
	vfs.File
	fs   *FS
	name string
}

func (f *file) Write(p []byte) (int, error) { return f.write(p, f.File.Write) }

// WriteAt is Write at an offset: the same rules and faults apply.
func (f *file) WriteAt(p []byte, off int64) (int, error) {
	return f.write(p, func(b []byte) (int, error) { return f.File.WriteAt(b, off) })
}

// write writes what the rules let through of p with fn.
func (f *file) write(p []byte, fn func([]byte) (int, error)) (int, error) {
	if err := f.fs.check(OpWrite, f.name); err != nil {
		return 0, err
	}
	k, fault := f.fs.reserveWrite(len(p))
	n, err := 0, error(nil)
	if k > 0 {
		n, err = fn(p[:k])
	}
	if err == nil && fault != nil {
		err = pathError(OpWrite, f.name, fault)
	}
	return n, err
}

func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if err := f.fs.check(OpReadAt, f.name); err != nil {
		return 0, err
	}
	if err := f.fs.readFault(); err != nil {
		return 0, pathError(OpReadAt, f.name, err)
	}
	return f.File.ReadAt(p, off)
}

func (f *file) Sync() error {
	if err := f.fs.check(OpSync, f.name); err != nil {
		return err
	}
	if err := f.fs.syncFault(); err != nil {
		return pathError(OpSync, f.name, err)
	}
	return f.File.Sync()
}

func (f *file) Truncate(size int64) error {
	if err := f.fs.check(OpTruncate, f.name); err != nil {
		return err
	}
	return f.File.Truncate(size)
}
