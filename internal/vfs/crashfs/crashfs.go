// Package crashfs wraps a vfs.FS to simulate a power cut, in the manner of
// LevelDB's fault-injection environment and pebble's strict memory file
// system: beside the real files, it keeps what a disk would still hold
// after the power went out — each file's contents as of its last fsync,
// and each directory's entries as of the directory's last fsync — and can
// write that state into another directory, where the store is opened
// again as after a reboot.
//
// # Basics
//
//	fs := crashfs.New(vfs.Default)
//	fs.CrashAfter(120) // the 120th change from now (write, sync, rename...) is lost, and all after it fail
//	... use fs until an operation fails with ErrCrashed ...
//	fs.Materialize(dir, rng) // what survived, written into dir
//
// What survives a file: its contents at its last Sync; Materialize may
// also keep a random prefix of what was written after it, from the first
// byte that differs (a torn write, appended or over preallocated space),
// or, within the size the file had at its last Sync, any of the 512-byte
// sectors written since (written back out of order).
// What survives a directory entry: its state at the directory's last
// SyncDir, so a file created, renamed or removed since is as it was. A
// directory is assumed to exist once MkdirAll returns.
//
// An FS is safe for concurrent use.
package crashfs

import (
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"

	"github.com/aether-kv/aether-kv/internal/vfs"
)

// ErrCrashed is returned by every change after the crash.
var ErrCrashed = errors.New("crashfs: the power is out")

// FS is a vfs.FS that can crash.
type FS struct {
	inner vfs.FS

	mu        sync.Mutex
	current   map[string]*node // the namespace now
	durable   map[string]*node // the namespace as of each directory's last SyncDir
	countdown int              // changes left before the crash; < 0: never
	crashed   bool
	lost      map[string][]byte // the disk at the crash: path -> contents
	torn      map[string]torn   // and what had been written after each file's last sync
}

// torn is what was written to a file after its last sync: data, from
// offset at, where it first differs from the synced contents.
type torn struct {
	at   int
	data []byte
}

// node is a file, whatever names it has.
type node struct {
	synced []byte // contents at the last Sync
	now    func() ([]byte, error)
}

// New returns an FS over inner that never crashes until CrashAfter.
func New(inner vfs.FS) *FS {
	return &FS{inner: inner, current: map[string]*node{}, durable: map[string]*node{}, countdown: -1}
}

// CrashAfter makes the n-th change from now (n >= 1) the one the power
// cut interrupts: it does not happen, and it and every change after it
// fail with ErrCrashed.
func (f *FS) CrashAfter(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.countdown = n
}

// CrashNow cuts the power at once, if it is not out already.
func (f *FS) CrashNow() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.crashed {
		f.crashLocked()
	}
}

// Crashed reports whether the power is out.
func (f *FS) Crashed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.crashed
}

// change is called before every change: it returns ErrCrashed once the
// power is out, and cuts it when the countdown ends.
func (f *FS) change() error {
	if f.crashed {
		return ErrCrashed
	}
	if f.countdown > 0 {
		f.countdown--
		if f.countdown == 0 {
			f.crashLocked()
			return ErrCrashed
		}
	}
	return nil
}

// crashLocked records what the disk holds now.
func (f *FS) crashLocked() {
	f.crashed = true
	f.lost = map[string][]byte{}
	f.torn = map[string]torn{}
	for path, n := range f.durable {
		f.lost[path] = n.synced
		if now, err := n.now(); err == nil && len(now) >= len(n.synced) {
			// What was written since the sync, from the first byte that
			// differs: appended, or written over preallocated space.
			p := 0
			for p < len(n.synced) && now[p] == n.synced[p] {
				p++
			}
			if p < len(now) {
				f.torn[path] = torn{at: p, data: now[p:]}
			}
		}
	}
}

// Materialize writes the files that survived the crash into dir, which
// must exist: for each, its synced contents, plus, when rng is not nil and
// picks it, a random prefix of what had been written since, from the first
// byte that differs, or some of its sectors within the synced size
// (writes the disk had partly done).
func (f *FS) Materialize(dir string, rng *rand.Rand) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.crashed {
		return errors.New("crashfs: Materialize before the crash")
	}
	for path, data := range f.lost {
		if t, ok := f.torn[path]; ok && rng != nil {
			switch rng.IntN(3) {
			case 0: // a prefix of the writes
				part := t.data[:rng.IntN(len(t.data)+1)]
				data = append([]byte{}, data...)
				data = append(data[:t.at], append(part, data[min(len(data), t.at+len(part)):]...)...)
			case 1: // some of their pages, in any order
				data = tornPages(data, t, rng)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(path)), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// sectorSize is the unit a disk persists whole, or not at all: a page of
// the page cache reaches the disk as 8 of them, not always all.
const sectorSize = 512

// tornPages returns the synced contents with each sector written since
// the last sync either persisted or not, independently: a disk may write
// a file's dirty pages back in any order, and a page in part. Only
// sectors within the synced size are so chosen, since the file's size was durable there (a preallocated
// file); past it a file grows only by a prefix of what was appended, as
// the file system commits a new size only after the data before it.
func tornPages(synced []byte, t torn, rng *rand.Rand) []byte {
	data := append([]byte{}, synced...)
	end := min(t.at+len(t.data), len(synced))
	for p := t.at / sectorSize * sectorSize; p < end; p += sectorSize {
		if rng.IntN(2) == 0 {
			from, to := max(p, t.at), min(p+sectorSize, end)
			copy(data[from:to], t.data[from-t.at:to-t.at])
		}
	}
	return data
}

func crashErr(op, name string) error { return &iofs.PathError{Op: op, Path: name, Err: ErrCrashed} }

// OpenFile opens the file; creating one is a change.
func (f *FS) OpenFile(name string, flag int, perm os.FileMode) (vfs.File, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if flag&(os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_RDWR) != 0 {
		if err := f.change(); err != nil {
			return nil, crashErr("open", name)
		}
	}
	inner, err := f.inner.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	n := f.current[name]
	if n == nil {
		n = &node{}
		if flag&os.O_TRUNC == 0 {
			// A file that was there before this FS saw it: take it as synced.
			n.synced, _ = vfs.ReadAll(inner)
		}
		f.current[name] = n
	}
	if flag&os.O_TRUNC != 0 {
		n.synced = nil
	}
	fl := &file{File: inner, fs: f, n: n}
	n.now = func() ([]byte, error) { return vfs.ReadAll(inner) }
	return fl, nil
}

// Remove removes the name now; the disk keeps it until SyncDir.
func (f *FS) Remove(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.change(); err != nil {
		return crashErr("remove", name)
	}
	if err := f.inner.Remove(name); err != nil {
		return err
	}
	delete(f.current, name)
	return nil
}

// Rename renames now; the disk has the old names until SyncDir.
func (f *FS) Rename(oldname, newname string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.change(); err != nil {
		return crashErr("rename", oldname)
	}
	if err := f.inner.Rename(oldname, newname); err != nil {
		return err
	}
	if n := f.current[oldname]; n != nil {
		f.current[newname] = n
		delete(f.current, oldname)
	}
	return nil
}

// Link adds a name now; the disk has it after SyncDir.
func (f *FS) Link(oldname, newname string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.change(); err != nil {
		return crashErr("link", oldname)
	}
	if err := f.inner.Link(oldname, newname); err != nil {
		return err
	}
	if n := f.current[oldname]; n != nil {
		f.current[newname] = n
	}
	return nil
}

// MkdirAll creates dir; it is durable at once.
func (f *FS) MkdirAll(dir string, perm os.FileMode) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.change(); err != nil {
		return crashErr("mkdir", dir)
	}
	return f.inner.MkdirAll(dir, perm)
}

// ReadDir lists dir as it is now.
func (f *FS) ReadDir(dir string) ([]os.DirEntry, error) { return f.inner.ReadDir(dir) }

// Stat describes name as it is now.
func (f *FS) Stat(name string) (os.FileInfo, error) { return f.inner.Stat(name) }

// Lock locks name; the lock file is not part of what survives.
func (f *FS) Lock(name string) (io.Closer, error) { return f.inner.Lock(name) }

// SyncDir makes the entries of dir durable as they are now.
func (f *FS) SyncDir(dir string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.change(); err != nil {
		return crashErr("syncdir", dir)
	}
	if err := f.inner.SyncDir(dir); err != nil {
		return err
	}
	dir = filepath.Clean(dir)
	for path := range f.durable {
		if filepath.Dir(path) == dir {
			delete(f.durable, path)
		}
	}
	for path, n := range f.current {
		if filepath.Dir(path) == dir {
			f.durable[path] = n
		}
	}
	return nil
}

// file is an open file of an FS.
type file struct {
	vfs.File
	fs *FS
	n  *node
}

// change counts a change to the file (op names it), which fails once the
// power is out.
func (fl *file) change(op string) error {
	fl.fs.mu.Lock()
	defer fl.fs.mu.Unlock()
	if err := fl.fs.change(); err != nil {
		return crashErr(op, fl.Name())
	}
	return nil
}

func (fl *file) Write(p []byte) (int, error) {
	if err := fl.change("write"); err != nil {
		return 0, err
	}
	return fl.File.Write(p)
}

func (fl *file) WriteAt(p []byte, off int64) (int, error) {
	if err := fl.change("write"); err != nil {
		return 0, err
	}
	return fl.File.WriteAt(p, off)
}

func (fl *file) Truncate(size int64) error {
	if err := fl.change("truncate"); err != nil {
		return err
	}
	return fl.File.Truncate(size)
}

// Sync makes the file's contents durable as they are now.
func (fl *file) Sync() error {
	fl.fs.mu.Lock()
	defer fl.fs.mu.Unlock()
	if err := fl.fs.change(); err != nil {
		return crashErr("sync", fl.Name())
	}
	if err := fl.File.Sync(); err != nil {
		return err
	}
	data, err := vfs.ReadAll(fl.File)
	if err != nil {
		return fmt.Errorf("crashfs: read back %s: %w", fl.Name(), err)
	}
	fl.n.synced = data
	return nil
}
