package storage

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/aether-kv/aether-kv/internal/vfs"
)

// Mapping is a read-only, shared memory map of a data file, so that reads
// copy from the page cache without a system call. Bytes past the end of
// the file are mapped but must not be touched: reading them raises SIGBUS.
// Readers only ever touch records that were written before they were
// found, which lie inside the file.
//
// A Mapping is safe for concurrent reads; Close must wait until no reader
// uses it.
type Mapping struct {
	b []byte
}

// Map maps the first length bytes of f, which may run past its end (so
// that a growing file need not be mapped again). It returns nil, and no
// error, for a file that has no descriptor to map (a test file system) or
// a zero length: the caller then reads with ReadAt.
func Map(f vfs.File, length int64) (*Mapping, error) {
	fd, ok := f.(interface{ Fd() uintptr })
	if !ok || length <= 0 {
		return nil, nil
	}
	b, err := unix.Mmap(int(fd.Fd()), 0, int(length), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", f.Name(), err)
	}
	return &Mapping{b: b}, nil
}

// View returns the n bytes at off, or false if they lie outside the map.
func (m *Mapping) View(off, n int64) ([]byte, bool) {
	if m == nil || off < 0 || off+n > int64(len(m.b)) {
		return nil, false
	}
	return m.b[off : off+n : off+n], true
}

// Close unmaps the file.
func (m *Mapping) Close() error {
	if m == nil || m.b == nil {
		return nil
	}
	err := unix.Munmap(m.b)
	m.b = nil
	return err
}
