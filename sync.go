package aetherkv

import (
	"fmt"
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
	flushed := log.Flushed()
	if err != nil {
		db.mu.err = fmt.Errorf("aetherkv: writes are refused after a write error (reopen the store once the cause is fixed): %w", err)
		err = db.mu.err
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
		db.mu.err = fmt.Errorf("aetherkv: writes are refused after a failed fsync; data written since the last good sync may be lost (reopen the store once the disk is fixed): %w", err)
		err = db.mu.err
		db.mu.Unlock()
		return err
	}
	db.synced.Store(flushed)
	return nil
}

// syncLoop flushes and fsyncs every SyncInterval until Close.
func (db *DB) syncLoop() {
	defer db.wg.Done()
	t := time.NewTicker(db.opts.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-t.C:
			if err := db.Sync(); err != nil && err != ErrClosed {
				db.opts.Logger.Error("background sync failed", "dir", db.dir, "err", err)
			}
		}
	}
}
