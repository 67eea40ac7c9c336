package aetherkv

import (
	"bytes"
	"iter"
	"time"

	"github.com/aether-kv/aether-kv/internal/keydir"
)

// Scan returns keys in pieces, as Redis's SCAN does: start with cursor 0,
// call again with the cursor returned, and stop when it returns 0. Each
// call returns the keys that match (all when match is nil) of at least
// count keys' worth of the store; the keys are copies.
//
// A key present from the first call to the last is returned exactly once;
// a key written or deleted in between may or may not be. The cursor is
// valid only for this DB while it stays open. The order is unspecified.
func (db *DB) Scan(cursor uint64, count int, match func(key []byte) bool) (keys [][]byte, next uint64, err error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed.Load() {
		return nil, 0, ErrClosed
	}
	if cursor >= keydir.Shards {
		return nil, 0, nil
	}
	// A cursor is a shard number: each call returns whole shards, under
	// one read lock each, so no key can be missed or repeated.
	seen := 0
	shard := int(cursor)
	now := time.Now().UnixNano()
	for ; shard < keydir.Shards && (seen == 0 || seen < count); shard++ {
		db.mu.keys.RangeShard(shard, func(key []byte, e keydir.Entry) bool {
			seen++
			if !e.Expired(now) && (match == nil || match(key)) {
				keys = append(keys, bytes.Clone(key))
			}
			return true
		})
	}
	if shard == keydir.Shards {
		return keys, 0, nil
	}
	return keys, uint64(shard), nil
}

// Keys returns an iterator over the keys that start with prefix (all keys
// when prefix is empty), with the guarantees of Scan: a key present for
// the whole iteration is yielded exactly once. Each key is a copy. An error
// (ErrClosed) ends the iteration, yielded with a nil key.
func (db *DB) Keys(prefix []byte) iter.Seq2[[]byte, error] {
	match := func(key []byte) bool { return bytes.HasPrefix(key, prefix) }
	return func(yield func([]byte, error) bool) {
		var cursor uint64
		for {
			keys, next, err := db.Scan(cursor, 1024, match)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, k := range keys {
				if !yield(k, nil) {
					return
				}
			}
			if next == 0 {
				return
			}
			cursor = next
		}
	}
}
