package aetherkv

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// gatherYields is how many times a round's leader yields, at least, to
// let other writers join the round before it flushes, unless they all
// have.
const gatherYields = 8

// maxGather bounds a leader's wait for writers, whatever the fsyncs took:
// one slow fsync must not make the next rounds wait long.
const maxGather = time.Millisecond

// committer lets concurrent writers share fsyncs (group commit). A writer
// that needs its record durable waits until an fsync that started after
// its append has finished. One waiter at a time leads: it flushes the
// buffer and fsyncs, without holding the DB's lock, while new writers go
// on appending; when it is done it wakes every waiter at once, and the
// first whose record is still not covered leads the next round, which
// covers everyone who appended meanwhile.
//
// Waiters sleep on a channel that the round closes, so that waking them
// takes no lock: with a condition variable, each woken writer had to
// take the committer's mutex in turn before it could write again.
type committer struct {
	mu      sync.Mutex    // guards leading and done
	leading bool          // a round is running
	done    chan struct{} // closed when the running round ends

	waiting   atomic.Int32 // writers in syncTo
	arrivals  atomic.Int32 // writers that came to wait since the last round's flush
	target    atomic.Int32 // writers waiting when the last round ended
	fsyncTime atomic.Int64 // how long the rounds' fsyncs take, in nanoseconds: a moving average
}

// syncTo returns once everything up to write position end is durable, or
// the sticky error.
func (db *DB) syncTo(end int64) error { return db.syncUntil(end, true) }

// syncUntil is syncTo; with waitClose false, a round refused by Close
// returns ErrClosed at once instead of waiting for Close to end.
func (db *DB) syncUntil(end int64, waitClose bool) error {
	if db.synced.Load() >= end {
		return nil
	}
	c := &db.commit
	c.waiting.Add(1)
	defer c.waiting.Add(-1)
	c.arrivals.Add(1)
	for db.synced.Load() < end {
		c.mu.Lock()
		if c.leading {
			done := c.done
			c.mu.Unlock()
			<-done
			continue
		}
		c.leading = true
		c.done = make(chan struct{})
		c.mu.Unlock()
		err := db.syncRound(c.target.Load())
		c.target.Store(c.waiting.Load())
		c.mu.Lock()
		c.leading = false
		close(c.done)
		c.mu.Unlock()
		if waitClose && errors.Is(err, ErrClosed) {
			// Close flushes and fsyncs what was appended before it: a
			// record it made durable was written, not refused.
			<-db.shut
			if db.synced.Load() >= end {
				return nil
			}
		}
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
	for {
		c.mu.Lock()
		if !c.leading {
			defer c.mu.Unlock()
			fn()
			return
		}
		done := c.done
		c.mu.Unlock()
		<-done
	}
}

// syncRound flushes the buffer and fsyncs the active file, and records
// what is durable. Only the leader of a round calls it.

func (db *DB) syncRound(target int32) error {
	db.mu.Lock()
	halted := db.mu.err != nil || db.closed.Load()
	db.mu.Unlock()
	if !halted { // a store that cannot sync answers its waiters at once
		db.gather(target)
	}
	db.mu.Lock()
	if err := db.mu.err; err != nil || db.closed.Load() {
		db.mu.Unlock()
		if err == nil {
			err = ErrClosed
		}
		return err
	}
	log := db.mu.log
	db.commit.arrivals.Store(0)
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
	start := time.Now()
	if err := log.Sync(); err != nil {
		// After a failed fsync the kernel may have dropped the dirty pages
		// and will not report it again: never retry and trust it.
		db.mu.Lock()
		err = db.failLocked("fsync", err)
		db.mu.Unlock()
		return err
	}
	took := int64(time.Since(start))
	if avg := db.commit.fsyncTime.Load(); avg != 0 {
		took = avg - avg/8 + took/8
	}
	db.commit.fsyncTime.Store(took)
	db.fsyncs.Add(1)
	db.advanceSynced(flushed)
	return nil
}

// gather lets the writers that the last round released append again, so
// that this round covers them too rather than leaving them for the next:
// the leader yields until as many writers have come to wait as were
// waiting when the last round ended (target), or gatherYields times and
// half as long as an fsync takes (a moving average; maxGather at most),
// past which waiting costs the writers that have come more than it saves
// the others.
func (db *DB) gather(target int32) {
	c := &db.commit
	start := time.Now()
	limit := min(time.Duration(c.fsyncTime.Load()/2), maxGather)
	for i := 0; c.arrivals.Load() < target && (i < gatherYields || time.Since(start) < limit); i++ {
		runtime.Gosched()
	}
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
		if !db.closed.Load() && db.mu.err == nil {
			if ferr := db.mu.log.Flush(); ferr != nil {
				err = db.writeFailedLocked("write", ferr)
			}
		}
		db.mu.Unlock()
	} else {
		err = db.sync(false)
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
