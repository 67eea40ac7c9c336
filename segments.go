package aetherkv

import (
	"fmt"

	"github.com/aether-kv/aether-kv/internal/keydir"
	"github.com/aether-kv/aether-kv/internal/storage"
	"github.com/aether-kv/aether-kv/internal/vfs"
)

// segment is one data file: its reader (nil for the active file, which is
// read through its Log) and its byte accounting.
type segment struct {
	f    vfs.File         // open for reading; nil while the file is active
	m    *storage.Mapping // f mapped into memory; nil if it could not be
	path string
	size int64 // bytes in the file, buffered bytes included
	live int64 // bytes of records the key directory points at
}

// dead returns the bytes a merge would reclaim from the file.
func (s *segment) dead() int64 { return s.size - s.live }

// close unmaps and closes the file of a closed segment. No reader may be
// using it: the caller has removed it from db.mu.segs under the write
// lock, or owns it alone.
func (s *segment) close() {
	s.m.Close()
	if s.f != nil {
		s.f.Close()
	}
}

// recordLocked returns the bytes of the record e points at: a view of the
// write buffer or of a memory-mapped file where it can, valid only while
// the caller holds db.mu (shared at least), else a copy read with pread.
func (db *DB) recordLocked(e keydir.Entry) (rec []byte, path string, err error) {
	n := int64(e.Size)
	if e.FileID == db.mu.log.ID() {
		log := db.mu.log
		if b, ok := log.View(e.Offset, n); ok {
			return b, log.Path(), nil
		}
		buf := make([]byte, n)
		return buf, log.Path(), log.ReadAt(buf, e.Offset)
	}
	seg := db.mu.segs[e.FileID]
	if seg == nil || seg.f == nil {
		return nil, "", fmt.Errorf("key directory points at data file %d, which is not open: %w", e.FileID, ErrCorrupt)
	}
	if b, ok := seg.m.View(e.Offset, n); ok {
		return b, seg.path, nil
	}
	buf := make([]byte, n)
	if got, err := seg.f.ReadAt(buf, e.Offset); got != len(buf) {
		return nil, seg.path, fmt.Errorf("read %s at %d: %w", seg.path, e.Offset, err)
	}
	return buf, seg.path, nil
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
