package aetherkv

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/aether-kv/aether-kv/internal/format"
	"github.com/aether-kv/aether-kv/internal/keydir"
	"github.com/aether-kv/aether-kv/internal/storage"
)

// The read path without the DB's lock.
//
// Get finds a key in its key-directory shard, holding only that shard's
// lock, and reads the record through the memory map of its data file,
// found in a table of the files that is replaced, never changed, when
// files come and go (rotation, merge, Close). A record that has not been
// written to its file yet (still in the write buffer), or one in a file
// that is not mapped, or anything unusual (damage, a fault) is left to the
// locked path, getLocked, which reads it as before and reports errors.
//
// Why a map stays valid while a reader uses it: a file is unmapped only
// after no key points into it any more (merge retires its inputs once
// their keys point at its outputs; Close first marks the DB closed), and
// after Keydir.Barrier, which waits for every lookup that might have found
// a key there before.

// fileTable is the data files Get may read without db.mu: the closed
// files that are mapped, and the active file, whose Log tells how much of
// it was written. It never changes once published.
type fileTable struct {
	closed map[uint32]mappedFile
	active *storage.Log
}

// mappedFile is a closed data file's mapping and size.
type mappedFile struct {
	m    *storage.Mapping
	size int64
}

// view returns the n bytes at off in file id, or false if they cannot be
// read without db.mu.
func (t *fileTable) view(id uint32, off, n int64) ([]byte, bool) {
	if t.active != nil && id == t.active.ID() {
		return t.active.FlushedView(off, n)
	}
	f, ok := t.closed[id]
	if !ok || off < 0 || n < 0 || off+n > f.size {
		return nil, false
	}
	return f.m.View(off, n)
}

// record returns the record at l, or false.
func (t *fileTable) record(l keydir.Location) ([]byte, bool) {
	b, ok := t.view(l.FileID, l.Offset, format.HeaderSize)
	if !ok {
		return nil, false
	}
	// Unchecked: the record's reader verifies it (PlainValue, Decode).
	return t.view(l.FileID, l.Offset, format.ClaimedSize(b))
}

// publishFilesLocked publishes the table of the files as db.mu.segs and
// db.mu.log now have them. The caller holds db.mu exclusively, and calls
// it whenever a file is added, mapped, sealed or removed.
func (db *DB) publishFilesLocked() {
	t := &fileTable{closed: make(map[uint32]mappedFile, len(db.mu.segs)), active: db.mu.log}
	for id, s := range db.mu.segs {
		if s.f != nil && s.m != nil { // f is nil while the file is active
			t.closed[id] = mappedFile{m: s.m, size: s.size}
		}
	}
	db.files.Store(t)
}

// getShared is Get without db.mu. ok is false if it could not tell, and
// the caller must ask getLocked.
func (db *DB) getShared(dst, key []byte) (value []byte, ok bool, err error) {
	if db.closed.Load() {
		return nil, true, ErrClosed
	}
	// A mapped file that another program truncated raises SIGBUS on
	// access: getLocked reads it again and reports it. Any other panic is
	// a bug, and goes on.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if _, fault := r.(interface{ Addr() uintptr }); !fault {
				panic(r)
			}
			value, ok, err = nil, false, nil
		}
	}()
	stopped := false
	found := db.mu.keys.Lookup(key, func(l keydir.Location) keydir.Verdict {
		if db.closed.Load() {
			err = ErrClosed
			return keydir.Stop
		}
		t := db.files.Load()
		if t == nil {
			stopped = true
			return keydir.Stop
		}
		rec, readable := t.record(l)
		if !readable {
			stopped = true
			return keydir.Stop
		}
		if !format.KeyIs(rec, key) {
			return keydir.Verify // another key's record, or key's, damaged
		}
		value, err = valueOf(dst, rec, key)
		if err != nil {
			if !errors.Is(err, ErrNotFound) { // an expired value is an answer
				err, stopped = nil, true // damage: getLocked says where
			}
			return keydir.Stop
		}
		ok = true
		return keydir.Found
	})
	switch {
	case err != nil:
		return nil, true, err
	case stopped:
		return nil, false, nil
	case ok:
		return value, true, nil
	case found:
		return nil, false, nil // Verify found key's record damaged: getLocked reports it
	}
	return nil, true, ErrNotFound
}

// valueOf appends the value of key's record rec to dst. It is ErrNotFound
// if the value's deadline has passed.
func valueOf(dst, rec, key []byte) ([]byte, error) {
	if v, ok := format.PlainValue(rec, key); ok {
		return append(dst, v...), nil
	}
	r, err := format.Decode(rec)
	if err == nil && !batchValue(r, key) {
		err = fmt.Errorf("record is not the value of this key: %w", ErrCorrupt)
	}
	if err != nil {
		return nil, err
	}
	value := r.Value
	if format.HasDeadline(r.Flag) {
		var deadline int64
		deadline, value = format.SplitDeadline(value)
		if deadline <= time.Now().UnixNano() {
			return nil, ErrNotFound
		}
	}
	return append(dst, value...), nil
}
