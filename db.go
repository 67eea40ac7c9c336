package aetherkv

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aether-kv/aether-kv/internal/format"
	"github.com/aether-kv/aether-kv/internal/keydir"
	"github.com/aether-kv/aether-kv/internal/storage"
)

// DB is an open Aether KV store. A DB is safe for concurrent use by
// multiple goroutines.
type DB struct {
	dir  string
	opts *Options
	lock io.Closer // the directory's LOCK file, held while open

	mu struct {
		sync.RWMutex // Writers (Put, Delete, flushes) hold it exclusively, readers shared.
		keys         *keydir.Keydir
		log          *storage.Log        // the active file
		segs         map[uint32]*segment // every data file, the active one too
		base         int64               // write position of the active file's offset 0
		merges       mergeStats
		batchSeq     uint64   // number of the last batch written
		expiries     expiries // deadlines of keys, for the sweep
		err          error    // sticky: once a write or fsync fails, writes return it
		unremoved    []string // files a merge replaced but could not remove: removed before the next merge drops any tombstone
	}

	clock  *clock       // timestamps of records
	commit committer    // lets writers share fsyncs
	synced atomic.Int64 // write position up to which everything is durable
	fsyncs atomic.Int64 // fsyncs of the active file by sync rounds

	files  atomic.Pointer[fileTable] // what Get may read without db.mu (read.go)
	closed atomic.Bool               // set by Close, under db.mu; Get reads it without

	merging atomic.Bool // a merge is running
	maint   sync.Mutex  // held by a merge or a backup: they must not run at once

	stop chan struct{}  // closed by Close to stop the background loops
	shut chan struct{}  // closed by Close once the log is flushed, fsynced and closed
	kick chan struct{}  // asks the sync loop to sync now: many bytes are unsynced
	wg   sync.WaitGroup // the background loops and merges
}

// Open opens the store in dir, creating dir (mode 0700) if it does not
// exist, and rebuilds the key directory from the data files. A nil opts
// means DefaultOptions.
//
// Open fails with ErrLocked if another process, or another DB in this
// process, has dir open, and with an error wrapping ErrCorrupt, naming the
// file and offset, if a record in the middle of a file it reads is
// damaged (after a clean Close it reads only the key-directory
// checkpoint; Get reports damage done since, record by record). A
// record torn by a crash at the very end of the log is cut off (its bytes
// are kept beside the log, in a file ending in .torn) and logged.
//
// On Linux, once the keys are loaded, a background goroutine asks the
// kernel to back a large key directory's tables with transparent huge
// pages (see the README's Architecture), unless they are set to never.
func Open(dir string, opts *Options) (*DB, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	if err := storage.CreateDir(o.fs, dir); err != nil {
		return nil, fmt.Errorf("aetherkv: open %s: %w", dir, err)
	}
	lock, err := storage.Lock(o.fs, dir)
	if err != nil {
		return nil, fmt.Errorf("aetherkv: open: %w", err)
	}
	db := &DB{dir: dir, opts: o, lock: lock, clock: newClock(), stop: make(chan struct{}), shut: make(chan struct{}), kick: make(chan struct{}, 1)}
	if err := db.load(); err != nil {
		lock.Close()
		return nil, fmt.Errorf("aetherkv: open %s: %w", dir, err)
	}
	db.synced.Store(db.mu.log.Size())
	// Back the key directory's tables with huge pages, beside the first
	// reads and writes (Keydir.CollapseTables: ~13 ms for 500k keys).
	keys := db.mu.keys
	db.wg.Add(1)
	go func() {
		defer db.wg.Done()
		// An error only means no huge pages: the tables work as they are.
		_, _ = keys.CollapseTables(db.closed.Load)
	}()
	db.mu.batchSeq = uint64(time.Now().UnixNano()) // batch numbers only tell batches apart in a dump
	if o.SyncMode != SyncModeAlways {
		// Every SyncInterval, and whenever writers leave more than
		// unsyncedLimit bytes unsynced.
		db.wg.Add(1)
		go db.loop(o.SyncInterval, db.kick, db.backgroundSync)
	}
	if o.MergeRatio > 0 {
		db.wg.Add(1)
		go db.loop(o.mergeCheck, nil, db.autoMerge)
	}
	db.wg.Add(1)
	go db.loop(time.Second, nil, db.sweep)
	return db, nil
}

func (o *Options) validate() error {
	if o == nil {
		return nil
	}
	return o.Validate()
}

// Get returns a copy of the value of key, or ErrNotFound. A record that
// fails its checksum is never returned: Get reports ErrCorrupt instead.
//
// Get runs beside writes, rotations and merges without waiting for them,
// unless key's newest record is still in the write buffer; it sees every
// write that returned before it began.
func (db *DB) Get(key []byte) ([]byte, error) {
	v, err := db.GetInto(nil, key)
	if err == nil && v == nil {
		v = []byte{} // an empty value, not a missing one
	}
	return v, err
}

// GetInto is Get, appending the value to dst and returning the extended
// slice: with a dst of enough capacity it allocates nothing.
func (db *DB) GetInto(dst, key []byte) ([]byte, error) {
	if v, ok, err := db.getShared(dst, key); ok {
		return v, err
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed.Load() {
		return nil, ErrClosed
	}
	return db.getLocked(dst, key)
}

// getLocked appends the value of key to dst. The caller holds db.mu,
// shared at least.
//
// It finds key by its record: the key directory's slot says where the
// record is, and the record holds the key, so the key is compared there
// rather than in the key directory's arena (one cache miss fewer).
func (db *DB) getLocked(dst, key []byte) (value []byte, err error) {
	var (
		rec  []byte
		path string
		at   keydir.Location
	)
	// A mapped file that another program truncated raises SIGBUS on
	// access: turn that into an error for this call, not a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("aetherkv: get: data file %d at offset %d is unreadable (was it truncated?): %v", at.FileID, at.Offset, r)
		}
	}()
	found := db.mu.keys.Lookup(key, func(l keydir.Location) keydir.Verdict {
		at = l
		rec, path, err = db.recordAtLocked(l)
		if err == nil && format.KeyIs(rec, key) {
			return keydir.Found
		}
		// Unreadable, or another key's record (a hash tag collision), or
		// key's own record damaged: the key in memory says which. Its
		// damage is then reported by Decode below, never hidden.
		return keydir.Verify
	})
	if !found {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("aetherkv: get: %s at offset %d: %w", path, at.Offset, err)
	}
	value, err = valueOf(dst, rec, key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("aetherkv: get: %s at offset %d: %w", path, at.Offset, err)
	}
	return value, err
}

// Put sets the value of key. It is safe to modify key and value after Put
// returns. The write is visible to every Get that starts after Put
// returns; it is durable once Sync or Close returns, once the background
// sync has run, or at once in SyncModeAlways.
func (db *DB) Put(key, value []byte) error {
	if err := db.checkPut(key, value); err != nil {
		return err
	}
	return db.write(key, value, 0, false)
}

// checkPut checks the key and value of a Put.
func (db *DB) checkPut(key, value []byte) error {
	if err := db.checkKey(key); err != nil {
		return err
	}
	if len(value) > db.opts.MaxValueSize {
		return fmt.Errorf("value of %d bytes, limit %d: %w", len(value), db.opts.MaxValueSize, ErrValueTooLarge)
	}
	return nil
}

// Delete removes key by writing a tombstone. It returns ErrNotFound, and
// writes nothing, if key has no value.
func (db *DB) Delete(key []byte) error {
	if err := db.checkKey(key); err != nil {
		return err
	}
	return db.write(key, nil, 0, true)
}

func (db *DB) checkKey(key []byte) error {
	switch {
	case len(key) == 0:
		return ErrKeyEmpty
	case len(key) > db.opts.MaxKeySize:
		return fmt.Errorf("key of %d bytes, limit %d: %w", len(key), db.opts.MaxKeySize, ErrKeyTooLarge)
	}
	return nil
}

// write appends a record and updates the key directory, then waits for
// the fsync that covers it when every write is synced.
func (db *DB) write(key, value []byte, deadline int64, del bool) error {
	db.mu.Lock()
	end, err := db.writeLocked(key, value, deadline, del)
	db.mu.Unlock()
	if err != nil || db.opts.SyncMode != SyncModeAlways {
		return err
	}
	return db.syncTo(end)
}

func (db *DB) writeLocked(key, value []byte, deadline int64, del bool) (end int64, err error) {
	if db.closed.Load() {
		return 0, ErrClosed
	}
	if db.mu.err != nil {
		return 0, db.mu.err
	}
	if del {
		if e, ok := db.mu.keys.Get(key); !ok || expired(e) {
			return 0, ErrNotFound
		}
	}
	size := int64(format.Size(key, value))
	if deadline != 0 {
		size += format.DeadlineSize
	}
	if n := db.mu.log.Size(); n > 0 && n+size > db.opts.MaxFileSize {
		if err := db.rotateLocked(db.mu.log.ID() + 1); err != nil {
			return 0, err
		}
	}
	log := db.mu.log
	ts := db.clock.stampLocked()
	off, n, err := log.AppendFunc(func(b []byte) []byte {
		switch {
		case del:
			return format.Append(b, ts, format.FlagTombstone, key, nil)
		case deadline != 0:
			return format.AppendWithDeadline(b, ts, format.FlagValueTTL, key, deadline, value)
		}
		return format.Append(b, ts, format.FlagValue, key, value)
	})
	if err != nil {
		return 0, db.writeFailedLocked("write", err)
	}
	e := keydir.Entry{FileID: log.ID(), Offset: off, Size: uint32(n), Expire: deadline}
	if del || deadline != 0 {
		db.applyLocked(key, e, del)
	} else {
		// The key directory makes this put at the next change, so that
		// finding the key's slot overlaps with the caller's work until
		// then (PutLater); settledLocked accounts for what it replaced.
		db.mu.keys.PutLater(key, e)
		db.accountLocked(keydir.Entry{}, false, e, true)
	}
	db.mu.segs[log.ID()].size += int64(n)
	return db.kickLocked(off, n), nil
}

// settledLocked accounts for the entry that a put of Keydir.PutLater
// replaced, once the key directory has made it.
func (db *DB) settledLocked(old keydir.Entry) { db.accountLocked(old, true, keydir.Entry{}, false) }

// expired reports whether e's value has a deadline that has passed. It
// reads the clock only for a value with a deadline.
func expired(e keydir.Entry) bool {
	return e.Expire != 0 && e.Expired(time.Now().UnixNano())
}

// applyLocked points key at a new record e, or deletes it, keeping the
// byte accounting and the expiry heap.
func (db *DB) applyLocked(key []byte, e keydir.Entry, del bool) {
	if del {
		old, ok := db.mu.keys.Delete(key)
		db.accountLocked(old, ok, e, false)
		return
	}
	old, ok := db.mu.keys.Put(key, e)
	db.accountLocked(old, ok, e, true)
	if e.Expire != 0 {
		db.noteExpiryLocked(key, e.Expire)
	}
}

// kickLocked returns the write position after the size bytes appended at
// off, and wakes the sync loop if too much is unsynced.
func (db *DB) kickLocked(off int64, size int) int64 {
	end := db.mu.base + off + int64(size)
	if db.opts.SyncMode == SyncModeInterval && end-db.synced.Load() > unsyncedLimit {
		select {
		case db.kick <- struct{}{}:
		default:
		}
	}
	return end
}

// unsyncedLimit is how many written but unsynced bytes make the sync loop
// sync before its interval is up. It bounds the fsync that a rotation does
// while writers wait, and what a power loss can take at high write rates.
const unsyncedLimit = 8 << 20

// writeFailedLocked handles an error of writing the buffer to the file:
// a full disk (ENOSPC) only refuses this write, since nothing reached the
// file (a partial write is cut off again) and the buffer is written once
// there is space; anything else is sticky (failLocked).
func (db *DB) writeFailedLocked(op string, err error) error {
	if errors.Is(err, syscall.ENOSPC) && db.mu.log.Err() == nil {
		return fmt.Errorf("aetherkv: disk full, the %s was not made; writes resume once space is freed: %w", op, err)
	}
	return db.failLocked(op, err)
}

// failLocked makes err sticky: every later write returns it. Reads go on.
func (db *DB) failLocked(op string, err error) error {
	if db.mu.err == nil {
		db.mu.err = fmt.Errorf("aetherkv: writes are refused after a failed %s; data written since the last successful sync may be lost (reopen the store once the cause is fixed): %w", op, err)
	}
	return db.mu.err
}

// Sync flushes buffered writes and fsyncs them: every write acknowledged
// before Sync was called is durable when it returns nil.
func (db *DB) Sync() error { return db.sync(true) }

// sync is Sync; the background sync loop passes waitClose false: Close
// waits for that loop (db.wg) before it closes db.shut.
func (db *DB) sync(waitClose bool) error {
	db.mu.RLock()
	closed, end := db.closed.Load(), int64(0)
	if !closed {
		end = db.mu.base + db.mu.log.Size()
	}
	db.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	return db.syncUntil(end, waitClose)
}

// Len returns the number of keys, not counting expired ones.
func (db *DB) Len() int {
	db.mu.Lock()
	defer db.mu.Unlock()
	if !db.closed.Load() {
		db.sweepLocked(time.Now().UnixNano())
	}
	return db.mu.keys.Len()
}

// Dir returns the data directory.
func (db *DB) Dir() string { return db.dir }

// Close flushes and fsyncs buffered writes, stops the background sync,
// writes a checkpoint of the key directory for the next Open to load
// quickly (if nothing failed), and releases the directory. Every method
// called after Close returns ErrClosed, Close included.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed.Load() {
		db.mu.Unlock()
		return ErrClosed
	}
	db.closed.Store(true)
	db.mu.Unlock()
	db.mu.keys.Barrier() // no Get is still reading a file (see read.go)

	close(db.stop)
	db.wg.Wait()
	db.clock.stop()
	var err error
	db.pauseSyncs(func() { // no fsync may be running on a file Close closes
		db.mu.Lock()
		defer db.mu.Unlock()
		err = db.mu.log.Close()
		if err == nil {
			db.advanceSynced(db.mu.base + db.mu.log.Size()) // writers waiting in syncTo are covered
		}
		for _, s := range db.mu.segs {
			s.close()
		}
		if db.mu.err != nil {
			err = errors.Join(db.mu.err, err)
		}
		if err == nil {
			db.closeCheckpointLocked()
		}
	})
	close(db.shut) // writers waiting in syncTo learn whether Close made them durable
	if lerr := db.lock.Close(); lerr != nil && err == nil {
		err = lerr
	}
	if err != nil {
		return fmt.Errorf("aetherkv: close %s: %w", filepath.Clean(db.dir), err)
	}
	return nil
}
