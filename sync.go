package aetherkv

import (
	"time"
)

// syncTo returns once everything up to log offset end is durable. Writers
// that arrive while an fsync is running wait for it, then one of them
// flushes and fsyncs everything they all appended: one fsync covers many
// writes (group commit).
func (db *DB) syncTo(end int64) error {
	if db.synced.Load() >= end {
		return nil
	}
	db.syncMu.Lock()
	defer db.syncMu.Unlock()
	if db.synced.Load() >= end {
		return nil
	}
	db.mu.Lock()
	if err := db.mu.err; err != nil || db.mu.closed {
		db.mu.Unlock()
		if err == nil {
			err = ErrClosed
		}
		return err
	}
	log := db.mu.log
	err := log.Flush()
	flushed := db.mu.base + log.Flushed()
	if err != nil {
		err = db.failLocked("write", err)
	}
	db.mu.Unlock()
	if err != nil {
		return err
	}
	// The fsync runs without the lock, so that writers go on appending to
	// the buffer while it runs. Close waits for syncMu before closing the
	// file.
	if err := log.Sync(); err != nil {
		// After a failed fsync the kernel may have dropped the dirty pages
		// and will not report it again: never retry and trust it.
		db.mu.Lock()
		err = db.failLocked("fsync", err)
		db.mu.Unlock()
		return err
	}
	db.advanceSynced(flushed)
	return nil
}

// advanceSynced records that everything up to write position pos is
// durable; it never moves backwards.
func (db *DB) advanceSynced(pos int64) {
	for {
		cur := db.synced.Load()
		if pos <= cur || db.synced.CompareAndSwap(cur, pos) {
			return
		}
	}
}

// backgroundSync flushes and fsyncs buffered writes.
func (db *DB) backgroundSync() {
	if err := db.Sync(); err != nil && err != ErrClosed {
		db.opts.Logger.Error("background sync failed", "dir", db.dir, "err", err)
	}
}

// loop calls fn every interval, and whenever kick fires (a nil kick never
// does), until Close.
func (db *DB) loop(interval time.Duration, kick <-chan struct{}, fn func()) {
	defer db.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-t.C:
		case <-kick:
		}
		fn()
	}
}
