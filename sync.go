package aetherkv

import (
	"runtime"
	"sync"
	"time"
)

// gatherYields is how many times a round's leader yields before it
// flushes.
const gatherYields = 8

// committer lets concurrent writers share fsyncs (group commit). A writer
// that needs its record durable waits until an fsync that started after
// its append has finished. One waiter at a time leads: it flushes the
// buffer and fsyncs, without holding the DB's lock, while new writers go
// on appending; when it is done it wakes every waiter at once, and the
// first whose record is still not covered leads the next round, which
// covers everyone who appended meanwhile.
type committer struct {
	mu      sync.Mutex
	cond    sync.Cond // signalled when a round ends
	leading bool      // a round is running
}

// syncTo returns once everything up to write position end is durable, or
// the sticky error.
func (db *DB) syncTo(end int64) error {
	if db.synced.Load() >= end {
		return nil
	}
	c := &db.commit
	c.mu.Lock()
	defer c.mu.Unlock()
	for db.synced.Load() < end {
		if c.leading {
			c.cond.Wait()
			continue
		}
		c.leading = true
		c.mu.Unlock()
		err := db.syncRound()
		c.mu.Lock()
		c.leading = false
		c.cond.Broadcast()
		if err != nil {
			return err
		}
	}
	return nil
}

// pauseSyncs runs fn while no sync round runs or starts: fn may close a
// file that a round could otherwise be fsyncing.
func (db *DB) pauseSyncs(fn func()) {
	c := &db.commit
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.leading {
		c.cond.Wait()
	}
	fn()
}

// syncRound flushes the buffer and fsyncs the active file, and records
// what is durable. Only the leader of a round calls it.
func (db *DB) syncRound() error {
	// The writers the last round released are appending again: give them
	// a moment, so that this round covers them too rather than leaving
	// them for the next (about twice the writes per fsync with many
	// writers; see BenchmarkPutDurable).
	for range gatherYields {
		runtime.Gosched()
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
		err = db.writeFailedLocked("write", err)
	}
	db.mu.Unlock()
	if err != nil {
		return err
	}
	// The fsync runs without the lock, so that writers go on appending to
	// the buffer while it runs. Close and merge wait for the round to end
	// (pauseSyncs) before they close a file.
	if err := log.Sync(); err != nil {
		// After a failed fsync the kernel may have dropped the dirty pages
		// and will not report it again: never retry and trust it.
		db.mu.Lock()
		err = db.failLocked("fsync", err)
		db.mu.Unlock()
		return err
	}
	db.fsyncs.Add(1)
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

// backgroundSync flushes buffered writes, and fsyncs them unless the mode
// is SyncModeNever.
func (db *DB) backgroundSync() {
	var err error
	if db.opts.SyncMode == SyncModeNever {
		db.mu.Lock()
		if !db.mu.closed && db.mu.err == nil {
			if ferr := db.mu.log.Flush(); ferr != nil {
				err = db.writeFailedLocked("write", ferr)
			}
		}
		db.mu.Unlock()
	} else {
		err = db.Sync()
	}
	if err != nil && err != ErrClosed {
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
