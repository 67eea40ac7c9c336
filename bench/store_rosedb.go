package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/rosedblabs/rosedb/v2"
)

// rosedbAdapter runs rosedb v2 with its DefaultOptions (1 GiB segments, no
// block cache). Buffered: one DB.Put per key. Durable: one batch per key
// made with NewBatch(BatchOptions{Sync: true}), whose Commit fsyncs the WAL
// while holding the database lock, so writers do not share fsyncs. Not
// Options.Sync: in v2.3.6 a Put with Options.Sync=true is never fsynced
// (Batch.Commit syncs only when the DB option is off, and WAL.WriteAll
// ignores the WAL's own Sync option), which the benchmark's fsync count
// showed. Get returns a new slice; Merge is Merge(true), which rewrites
// the live records, writes a hint file and reloads the index.
func rosedbAdapter() adapter {
	return adapter{
		name:   "rosedb",
		family: familyBitcask,
		module: "github.com/rosedblabs/rosedb/v2",
		about: "DefaultOptions; one Put per key; durable = one NewBatch(BatchOptions{Sync: true}) " +
			"per key (Options.Sync=true does not fsync Puts in v2.3.6: 0 fsyncs counted); " +
			"Get; Merge(true) (hint file, index rebuilt)",
		open: openRosedb,
	}
}

type rosedbStore struct {
	db      *rosedb.DB
	durable bool
}

func openRosedb(c Config) (Store, error) {
	opts := rosedb.DefaultOptions
	opts.DirPath = c.Dir
	db, err := rosedb.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("rosedb: %w", err)
	}
	return &rosedbStore{db: db, durable: c.Durable}, nil
}

// init removes the empty directory that rosedb creates in os.TempDir when
// its package is initialised (for DefaultOptions.DirPath), so that the
// benchmark, whose every worker process links rosedb, does not leave one
// behind per process.
func init() {
	d := rosedb.DefaultOptions.DirPath
	if strings.Contains(d, "rosedb-temp") {
		os.Remove(d) // only if empty
	}
}

func (s *rosedbStore) Put(key, value []byte) error {
	if !s.durable {
		return s.db.Put(key, value)
	}
	b := s.db.NewBatch(rosedb.BatchOptions{Sync: true})
	if err := b.Put(key, value); err != nil {
		b.Rollback()
		return err
	}
	return b.Commit()
}

func (s *rosedbStore) Get(key, _ []byte) ([]byte, error) {
	v, err := s.db.Get(key)
	if errors.Is(err, rosedb.ErrKeyNotFound) {
		return nil, errNotFound
	}
	return v, err
}

func (s *rosedbStore) Flush() error { return nil }
func (s *rosedbStore) Close() error { return s.db.Close() }
func (s *rosedbStore) Merge() error { return s.db.Merge(true) }
