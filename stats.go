package aetherkv

import (
	"errors"
	"time"
)

// Stats describes a store at one moment.
type Stats struct {
	Keys      int   // live keys
	LiveBytes int64 // bytes of the records that hold the live keys' values
	DeadBytes int64 // bytes a merge would reclaim: old values, tombstones
	DataBytes int64 // bytes of all data files, buffered writes included
	DataFiles int   // data files, the active one included
	Fsyncs    int64 // fsyncs by Sync, the background sync and group commit since Open

	Merges             int64         // merges completed since Open
	MergeRunning       bool          // a merge is running now
	LastMerge          time.Time     // when the last completed merge started; zero if none
	LastMergeDuration  time.Duration // how long it took
	LastMergeReclaimed int64         // bytes it reclaimed: its input minus its output
}

// Stats returns the store's figures.
func (db *DB) Stats() Stats {
	db.mu.Lock()
	defer db.mu.Unlock()
	if !db.closed.Load() {
		db.sweepLocked(time.Now().UnixNano())
	}
	db.mu.keys.Settle() // so that the live bytes count what the last put replaced
	st := Stats{
		Keys:               db.mu.keys.Len(),
		DataFiles:          len(db.mu.segs),
		Fsyncs:             db.fsyncs.Load(),
		Merges:             db.mu.merges.runs,
		MergeRunning:       db.merging.Load(),
		LastMerge:          db.mu.merges.last,
		LastMergeDuration:  db.mu.merges.duration,
		LastMergeReclaimed: db.mu.merges.reclaimed,
	}
	for _, s := range db.mu.segs {
		st.LiveBytes += s.live
		st.DataBytes += s.size
	}
	st.DeadBytes = st.DataBytes - st.LiveBytes
	return st
}

// needsMerge reports whether a closed data file's dead bytes have passed
// Options.MergeRatio.
func (db *DB) needsMerge() bool {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed.Load() || db.mu.err != nil {
		return false
	}
	for id, s := range db.mu.segs {
		if id != db.mu.log.ID() && s.size > 0 && float64(s.dead()) >= db.opts.MergeRatio*float64(s.size) {
			return true
		}
	}
	return false
}

// autoMerge starts a merge if needsMerge says so.
func (db *DB) autoMerge() {
	if !db.needsMerge() {
		return
	}
	err := db.Merge()
	if err != nil && !errors.Is(err, ErrMergeRunning) && !errors.Is(err, ErrClosed) {
		db.opts.Logger.Error("automatic merge failed", "dir", db.dir, "err", err)
	}
}
