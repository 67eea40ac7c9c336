package aetherkv

import (
	"bufio"
	"fmt"
	"os"

	"github.com/aether-kv/aether-kv/internal/vfs"
)

// writer writes a new file through a buffer and counts what it wrote. It
// fsyncs every bytesPerSync bytes, so that a merge never piles up dirty
// pages whose writeback would stall the writes of the store itself.
type writer struct {
	f      vfs.File
	w      *bufio.Writer
	n      int64
	synced int64 // n at the last fsync
}

const bytesPerSync = 8 << 20

func newWriter(f vfs.File) *writer {
	return &writer{f: f, w: bufio.NewWriterSize(f, 256<<10)}
}

func (w *writer) write(b []byte) error {
	n, err := w.w.Write(b)
	w.n += int64(n)
	if err != nil {
		return fmt.Errorf("write %s: %w", w.f.Name(), err)
	}
	if w.n-w.synced >= bytesPerSync {
		return w.sync()
	}
	return nil
}

func (w *writer) flush() error {
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", w.f.Name(), err)
	}
	return nil
}

func (w *writer) sync() error {
	if err := w.flush(); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", w.f.Name(), err)
	}
	w.synced = w.n
	return nil
}

// createFile creates a new file (mode 0600) that must not exist yet.
func createFile(db *DB, path string) (vfs.File, error) {
	f, err := db.opts.fs.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return f, nil
}
