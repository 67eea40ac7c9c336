package aetherkv

import (
	"fmt"

	"github.com/aether-kv/aether-kv/internal/format"

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
	return db.bytesLocked(e.FileID, e.Offset, int64(e.Size))
}

// recordAtLocked is recordLocked for a record known only by where it
// starts: its size is read from its header.
func (db *DB) recordAtLocked(l keydir.Location) (rec []byte, path string, err error) {
	b, path, err := db.bytesLocked(l.FileID, l.Offset, format.HeaderSize)
	if err != nil {
		return nil, path, err
	}
	h, err := format.DecodeHeader(b)
	if err != nil {
		return nil, path, err
	}
	return db.bytesLocked(l.FileID, l.Offset, h.RecordSize())
}

// bytesLocked returns the n bytes at off in data file id, as recordLocked.
// Bytes past the end of the file are ErrCorrupt, found before anything is
// allocated: a damaged size field never makes it allocate more than the
// file holds.
func (db *DB) bytesLocked(id uint32, off, n int64) ([]byte, string, error) {
	if id == db.mu.log.ID() {
		log := db.mu.log
		if b, ok := log.View(off, n); ok {
			return b, log.Path(), nil
		}
		if off < 0 || n > log.Size()-off {
			return nil, log.Path(), fmt.Errorf("%d bytes at offset %d, past the end of the file (%d bytes): %w", n, off, log.Size(), ErrCorrupt)
		}
		buf := make([]byte, n)
		return buf, log.Path(), log.ReadAt(buf, off)
	}
	seg := db.mu.segs[id]
	if seg == nil || seg.f == nil {
		return nil, "", fmt.Errorf("key directory points at data file %d, which is not open: %w", id, ErrCorrupt)
	}
	if b, ok := seg.m.View(off, n); ok {
		return b, seg.path, nil
	}
	if off < 0 || n > seg.size-off {
		return nil, seg.path, fmt.Errorf("%d bytes at offset %d, past the end of the file (%d bytes): %w", n, off, seg.size, ErrCorrupt)
	}
	buf := make([]byte, n)
	if got, err := seg.f.ReadAt(buf, off); got != len(buf) {
		return nil, seg.path, fmt.Errorf("read %s at %d: %w", seg.path, off, err)
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
