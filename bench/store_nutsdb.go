package main

import (
	"errors"
	"fmt"

	"github.com/nutsdb/nutsdb"
)

// nutsdbBucket is the one BTree bucket the benchmark uses.
const nutsdbBucket = "bench"

// nutsdbAdapter runs nutsdb v1 with its DefaultOptions (256 MiB segments,
// FileIO, HintKeyValAndRAMIdxMode: keys and values held in memory). Buffered:
// SyncEnable=false; durable: SyncEnable=true (its default), an fsync in
// each transaction's commit, one commit at a time. One Update transaction
// per Put, as its README shows; Get is a View transaction. Merge is
// DB.Merge, which needs at least two data files (with one it has nothing to
// do and returns ErrDontNeedMerge, counted here as a merge that ran).
func nutsdbAdapter() adapter {
	return adapter{
		name:   "nutsdb",
		family: familyBitcask,
		module: "github.com/nutsdb/nutsdb",
		about: "DefaultOptions (values kept in RAM); SyncEnable = durable; " +
			"one Update per Put; View per Get; Merge (no-op with a single data file)",
		open: openNutsdb,
	}
}

type nutsdbStore struct{ db *nutsdb.DB }

func openNutsdb(c Config) (Store, error) {
	db, err := nutsdb.Open(nutsdb.DefaultOptions, nutsdb.WithDir(c.Dir), nutsdb.WithSyncEnable(c.Durable))
	if err != nil {
		return nil, fmt.Errorf("nutsdb: %w", err)
	}
	err = db.Update(func(tx *nutsdb.Tx) error {
		return tx.NewBucket(nutsdb.DataStructureBTree, nutsdbBucket)
	})
	if err != nil && !errors.Is(err, nutsdb.ErrBucketAlreadyExist) {
		db.Close()
		return nil, fmt.Errorf("nutsdb: create bucket: %w", err)
	}
	return &nutsdbStore{db: db}, nil
}

func (s *nutsdbStore) Put(key, value []byte) error {
	return s.db.Update(func(tx *nutsdb.Tx) error { return tx.Put(nutsdbBucket, key, value, 0) })
}

func (s *nutsdbStore) Get(key, dst []byte) ([]byte, error) {
	err := s.db.View(func(tx *nutsdb.Tx) error {
		v, err := tx.Get(nutsdbBucket, key)
		dst = append(dst[:0], v...) // v may be the store's own memory
		return err
	})
	if errors.Is(err, nutsdb.ErrKeyNotFound) {
		return nil, errNotFound
	}
	return dst, err
}

func (s *nutsdbStore) Flush() error { return nil }
func (s *nutsdbStore) Close() error { return s.db.Close() }

func (s *nutsdbStore) Merge() error {
	if err := s.db.Merge(); err != nil && !errors.Is(err, nutsdb.ErrDontNeedMerge) {
		return err
	}
	return nil
}
