// Package vfs is the small file-system interface that the store reaches
// the disk through, so that tests can inject faults (ENOSPC, EIO, short
// writes, failed fsyncs) without touching real hardware.
package vfs

import (
	"io"
	"os"
)

// File is an open file. Its methods behave as those of *os.File.
type File interface {
	io.ReaderAt
	io.Writer
	io.WriterAt
	io.Closer
	Sync() error
	Truncate(size int64) error
	Stat() (os.FileInfo, error)
	Name() string
}

// FS is a file system. Its methods behave as the os functions of the same
// names, plus SyncDir and Lock.
type FS interface {
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	Remove(name string) error
	Rename(oldname, newname string) error
	Link(oldname, newname string) error
	MkdirAll(dir string, perm os.FileMode) error
	ReadDir(dir string) ([]os.DirEntry, error)
	Stat(name string) (os.FileInfo, error)
	// SyncDir fsyncs a directory, making the creation, renaming and removal
	// of its entries durable.
	SyncDir(dir string) error
	// Lock takes an exclusive, non-blocking lock on the named file,
	// creating it if needed. It fails at once if the lock is held, by this
	// process or another. Closing the returned Closer releases the lock.
	Lock(name string) (io.Closer, error)
}
