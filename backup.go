package aetherkv

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/aether-kv/aether-kv/internal/storage"
	"github.com/aether-kv/aether-kv/internal/vfs"
)

// BackupStats says what Backup copied.
type BackupStats struct {
	Files  int   // data and hint files in the copy
	Bytes  int64 // their bytes
	Linked int   // files hard-linked rather than copied (closed files on the same file system)
}

// Backup writes a consistent copy of the store as it is when Backup is
// called into dir, which must not exist or be empty, while reads and
// writes go on. The copy holds every write acknowledged before the call,
// and opens as a store of its own. Closed data files and their hint files
// are hard-linked when dir is on the same file system (they never change),
// else copied; the active file is copied up to the end of what was written
// when Backup began. A backup waits for a running merge to end; a merge
// started during a backup returns ErrMergeRunning (the automatic merge
// tries again later).
func (db *DB) Backup(dir string) (BackupStats, error) {
	var st BackupStats
	fs := db.opts.fs
	if db.closed.Load() { // checked again under the lock by planBackup
		return st, ErrClosed
	}
	if err := emptyDir(fs, dir); err != nil {
		return st, fmt.Errorf("aetherkv: backup: %w", err)
	}
	db.maint.Lock() // no merge may remove a file while it is copied
	defer db.maint.Unlock()
	plan, err := db.planBackup()
	if err != nil {
		return st, err
	}
	defer db.wg.Done()
	for _, f := range plan.closed {
		linked, n, err := linkOrCopy(fs, f.path, filepath.Join(dir, filepath.Base(f.path)), f.file, f.size)
		if err != nil {
			return st, fmt.Errorf("aetherkv: backup: %w", err)
		}
		st.add(n, linked)
		hint := filepath.Join(filepath.Dir(f.path), storage.HintName(f.id))
		if _, err := fs.Stat(hint); err == nil {
			linked, n, err := linkOrCopy(fs, hint, filepath.Join(dir, storage.HintName(f.id)), nil, -1)
			if err != nil {
				return st, fmt.Errorf("aetherkv: backup: %w", err)
			}
			st.add(n, linked)
		}
	}
	n, err := copyFile(fs, plan.active, plan.activeSize, filepath.Join(dir, storage.ActiveName))
	if err != nil {
		return st, fmt.Errorf("aetherkv: backup: %w", err)
	}
	st.add(n, false)
	if err := fs.SyncDir(dir); err != nil {
		return st, fmt.Errorf("aetherkv: backup: %w", err)
	}
	return st, nil
}

func (st *BackupStats) add(n int64, linked bool) {
	st.Files++
	st.Bytes += n
	if linked {
		st.Linked++
	}
}

// backupPlan is what a backup copies: the closed files, and the active
// file up to a size.
type backupPlan struct {
	closed     []backupFile
	active     vfs.File
	activeSize int64
}

type backupFile struct {
	id   uint32
	path string
	file vfs.File
	size int64
}

// planBackup flushes the buffer, so that every acknowledged write is in a
// file, and notes the files and sizes to copy.
func (db *DB) planBackup() (*backupPlan, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed.Load() {
		return nil, ErrClosed
	}
	if err := db.mu.log.Flush(); err != nil {
		return nil, db.writeFailedLocked("backup", err)
	}
	p := &backupPlan{active: db.mu.log.File(), activeSize: db.mu.log.Flushed()}
	for id, s := range db.mu.segs {
		if id != db.mu.log.ID() {
			p.closed = append(p.closed, backupFile{id: id, path: s.path, file: s.f, size: s.size})
		}
	}
	db.wg.Add(1) // Close waits for the backup: the files it reads stay open
	return p, nil
}

// emptyDir creates dir (mode 0700) if needed and checks that it is empty.
// A file there is named as the destination (storage.CreateDir would call
// it the data directory).
func emptyDir(fs vfs.FS, dir string) error {
	if fi, err := fs.Stat(dir); err == nil && !fi.IsDir() {
		return fmt.Errorf("destination %s is not a directory", dir)
	}
	if err := storage.CreateDir(fs, dir); err != nil {
		return err
	}
	entries, err := fs.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	}
	return nil
}

// linkOrCopy hard-links src to dst, or copies it (from f, size bytes, or
// the whole file when f is nil) if they are on different file systems.
func linkOrCopy(fs vfs.FS, src, dst string, f vfs.File, size int64) (linked bool, n int64, err error) {
	err = fs.Link(src, dst)
	if err == nil {
		fi, err := fs.Stat(dst)
		if err != nil {
			return true, 0, err
		}
		return true, fi.Size(), nil
	}
	if !errors.Is(err, syscall.EXDEV) && !errors.Is(err, syscall.EPERM) {
		return false, 0, err
	}
	if f == nil {
		if f, err = fs.OpenFile(src, os.O_RDONLY, 0); err != nil {
			return false, 0, err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return false, 0, err
		}
		size = fi.Size()
	}
	n, err = copyFile(fs, f, size, dst)
	return false, n, err
}

// copyFile writes the first n bytes of src to a new file dst (mode 0600)
// and fsyncs it.
func copyFile(fs vfs.FS, src vfs.File, n int64, dst string) (int64, error) {
	out, err := fs.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	w := newWriter(out)
	written, err := io.Copy(writerFunc(w.write), io.NewSectionReader(src, 0, n))
	if err == nil {
		err = w.sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && written != n {
		err = fmt.Errorf("copied %d of %d bytes of %s", written, n, src.Name())
	}
	return written, err
}
