package aetherkv

import (
	"container/heap"
	"fmt"
	"time"

	"github.com/aether-kv/aether-kv/internal/keydir"
)

// Expiry: a value written with a deadline (PutWithTTL, Batch.PutWithTTL,
// Expire) is invisible to Get, Keys, Scan and Len from its deadline on.
// Its record carries the deadline, so that it survives restarts; expired
// keys are removed from the key directory by a sweep (every second, and
// before Len and Stats count), without writing anything: an expired record
// read back at Open is expired still, and merge copies only what the key
// directory points at.

// ErrInvalidTTL is returned for a time to live that is not positive.
var ErrInvalidTTL = fmt.Errorf("aetherkv: time to live must be positive")

// PutWithTTL sets the value of key until ttl from now; from then on the key
// is gone. It is Put otherwise.
func (db *DB) PutWithTTL(key, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return ErrInvalidTTL
	}
	if err := db.checkPut(key, value); err != nil {
		return err
	}
	return db.write(key, value, deadlineNanos(time.Now().Add(ttl)), false)
}

// ExpiresAt returns the deadline of the value of key, or the zero time if
// it has none; ErrNotFound if the key has no value.
func (db *DB) ExpiresAt(key []byte) (time.Time, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed.Load() {
		return time.Time{}, ErrClosed
	}
	e, ok := db.mu.keys.Get(key)
	if !ok || expired(e) {
		return time.Time{}, ErrNotFound
	}
	if e.Expire == 0 {
		return time.Time{}, nil
	}
	return time.Unix(0, e.Expire), nil
}

// Expire sets the deadline of the value of key (the zero time removes it)
// by writing the value again with the new deadline. It returns ErrNotFound
// if the key has no value, and deletes the key if the deadline has passed.
func (db *DB) Expire(key []byte, deadline time.Time) error {
	if err := db.checkKey(key); err != nil {
		return err
	}
	db.mu.Lock()
	end, err := db.expireLocked(key, deadline)
	db.mu.Unlock()
	if err != nil || db.opts.SyncMode != SyncModeAlways {
		return err
	}
	return db.syncTo(end)
}

func (db *DB) expireLocked(key []byte, deadline time.Time) (int64, error) {
	if db.closed.Load() {
		return 0, ErrClosed
	}
	value, err := db.getLocked(nil, key)
	if err != nil {
		return 0, err
	}
	if !deadline.IsZero() && !deadline.After(time.Now()) {
		return db.writeLocked(key, nil, 0, true)
	}
	return db.writeLocked(key, value, deadlineNanos(deadline), false)
}

// expiries is a min-heap of the deadlines of keys, for the sweep. An
// entry whose key has since been overwritten or deleted is stale: the
// sweep checks each against the key directory.
type expiries []expiry

type expiry struct {
	deadline int64
	key      string
}

func (h expiries) Len() int           { return len(h) }
func (h expiries) Less(i, j int) bool { return h[i].deadline < h[j].deadline }
func (h expiries) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiries) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiries) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// noteExpiryLocked records that key now expires at deadline.
func (db *DB) noteExpiryLocked(key []byte, deadline int64) {
	heap.Push(&db.mu.expiries, expiry{deadline: deadline, key: string(key)})
	if n := len(db.mu.expiries); n > 1024 && n > 2*db.mu.keys.Len() {
		db.rebuildExpiriesLocked() // too many stale entries
	}
}

// rebuildExpiriesLocked rebuilds the heap from the key directory.
func (db *DB) rebuildExpiriesLocked() {
	h := db.mu.expiries[:0]
	db.mu.keys.Range(func(key []byte, e keydir.Entry) bool {
		if e.Expire != 0 {
			h = append(h, expiry{deadline: e.Expire, key: string(key)})
		}
		return true
	})
	heap.Init(&h)
	db.mu.expiries = h
}

// sweepLocked removes the keys whose deadline is not after now.
func (db *DB) sweepLocked(now int64) {
	for len(db.mu.expiries) > 0 && db.mu.expiries[0].deadline <= now {
		x := heap.Pop(&db.mu.expiries).(expiry)
		key := []byte(x.key)
		if e, ok := db.mu.keys.Get(key); ok && e.Expire == x.deadline {
			db.mu.keys.Delete(key)
			db.accountLocked(e, true, keydir.Entry{}, false)
		}
	}
}

// sweep is the background sweep.
func (db *DB) sweep() {
	db.mu.Lock()
	if !db.closed.Load() {
		db.sweepLocked(time.Now().UnixNano())
	}
	db.mu.Unlock()
}
