package aetherkv

import (
	"fmt"

	"github.com/aether-kv/aether-kv/internal/keydir"
	"github.com/aether-kv/aether-kv/internal/vfs"
)

// segment is one data file: its reader (nil for the active file, which is
// read through its Log) and its byte accounting.
type segment struct {
	f    vfs.File // open for reading; nil while the file is active
	path string
	size int64 // bytes in the file, buffered bytes included
	live int64 // bytes of records the key directory points at
}

// dead returns the bytes a merge would reclaim from the file.
func (s *segment) dead() int64 { return s.size - s.live }

// readLocked reads the record e points at into buf (len e.Size). The
// caller holds db.mu, shared at least.
func (db *DB) readLocked(e keydir.Entry, buf []byte) (path string, err error) {
	if e.FileID == db.mu.log.ID() {
		return db.mu.log.Path(), db.mu.log.ReadAt(buf, e.Offset)
	}
	seg := db.mu.segs[e.FileID]
	if seg == nil || seg.f == nil {
		return "", fmt.Errorf("key directory points at data file %d, which is not open: %w", e.FileID, ErrCorrupt)
	}
	n, err := seg.f.ReadAt(buf, e.Offset)
	if n == len(buf) {
		return seg.path, nil
	}
	return seg.path, fmt.Errorf("read %s at %d: %w", seg.path, e.Offset, err)
}

// accountLocked moves the live bytes of a key from its old record, if
// any, to its new one, if any.
func (db *DB) accountLocked(old keydir.Entry, hadOld bool, e keydir.Entry, hasNew bool) {
	if hadOld {
		if s := db.mu.segs[old.FileID]; s != nil {
			s.live -= int64(old.Size)
		}
	}
	if hasNew {
		if s := db.mu.segs[e.FileID]; s != nil {
			s.live += int64(e.Size)
		}
	}
}
