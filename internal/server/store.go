package server

import (
	"iter"
	"time"

	aetherkv "github.com/aether-kv/aether-kv"
)

// store is what the server needs of a database. *aetherkv.DB satisfies it;
// tests substitute fakes to inject failures.
//
// Get and GetInto return an error wrapping aetherkv.ErrNotFound for a
// missing key, and so do Delete, ExpiresAt and Expire. Write applies a
// batch atomically. The store has no read-modify-write operation: the
// server serializes the writes to each key itself (see stripes). ExpiresAt
// is also the cheap test of whether a key exists: it reads no value.
type store interface {
	Get(key []byte) ([]byte, error)
	GetInto(dst, key []byte) ([]byte, error)
	Put(key, value []byte) error
	Delete(key []byte) error
	PutWithTTL(key, value []byte, ttl time.Duration) error
	ExpiresAt(key []byte) (time.Time, error)
	Expire(key []byte, deadline time.Time) error
	NewBatch() *aetherkv.Batch
	Write(b *aetherkv.Batch) error
	Scan(cursor uint64, count int, match func(key []byte) bool) (keys [][]byte, next uint64, err error)
	Keys(prefix []byte) iter.Seq2[[]byte, error]
	Len() int
	Stats() aetherkv.Stats
	Sync() error
	Merge() error
	Backup(dir string) (aetherkv.BackupStats, error)
}

var _ store = (*aetherkv.DB)(nil)
