package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// bboltBatch is how many buffered puts the bbolt adapter commits in one
// read-write transaction.
const bboltBatch = 1000

// bboltBucket is the one bucket the benchmark uses.
const bboltBucket = "bench"

// bboltAdapter runs bbolt with its DefaultOptions in one file, bolt.db.
// Buffered: NoSync (which its docs give for bulk loading) and puts grouped
// 1000 to a transaction, since every bbolt commit rewrites the touched
// pages and the meta page; Flush commits the open group. Durable: one
// Update per Put with one writer, and db.Batch with several, bbolt's own
// tool for concurrent writers, which commits their puts together with one
// commit; MaxBatchSize is set to the number of writers, so that a batch
// starts as soon as every writer has joined it rather than after its 10 ms
// MaxBatchDelay. Get is a View transaction
// copying the value into dst. Merge is bbolt.Compact into a new file that
// then replaces the old one, the only way bbolt returns free pages.
func bboltAdapter() adapter {
	return adapter{
		name:   "bbolt",
		family: familyBTree,
		module: "go.etcd.io/bbolt",
		about: "DefaultOptions; buffered = NoSync + 1000 puts per Update; " +
			"durable = Update per Put (1 writer) or db.Batch with MaxBatchSize = writers (shared commit); " +
			"View + copy; Merge = bbolt.Compact into a new file",
		open: openBbolt,
	}
}

type bboltStore struct {
	path    string
	durable bool
	writers int

	mu      sync.Mutex // guards db during Merge, and pending
	db      *bolt.DB
	pending [][2][]byte // buffered puts not committed yet
}

func openBbolt(c Config) (Store, error) {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("bbolt: %w", err)
	}
	s := &bboltStore{path: filepath.Join(c.Dir, "bolt.db"), durable: c.Durable, writers: c.Writers}
	if err := s.openFile(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *bboltStore) openFile() error {
	db, err := bolt.Open(s.path, 0o600, nil)
	if err != nil {
		return fmt.Errorf("bbolt: %w", err)
	}
	db.NoSync = !s.durable
	if s.writers > 1 {
		db.MaxBatchSize = s.writers
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists([]byte(bboltBucket))
		return err
	})
	if err != nil {
		db.Close()
		return fmt.Errorf("bbolt: create bucket: %w", err)
	}
	s.db = db
	return nil
}

func bboltPut(tx *bolt.Tx, key, value []byte) error {
	return tx.Bucket([]byte(bboltBucket)).Put(key, value)
}

func (s *bboltStore) Put(key, value []byte) error {
	if s.durable {
		fn := func(tx *bolt.Tx) error { return bboltPut(tx, key, value) }
		if s.writers > 1 {
			return s.db.Batch(fn)
		}
		return s.db.Update(fn)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(s.pending, [2][]byte{key, value})
	if len(s.pending) < bboltBatch {
		return nil
	}
	return s.commitLocked()
}

// commitLocked writes the pending puts in one transaction.
func (s *bboltStore) commitLocked() error {
	if len(s.pending) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, kv := range s.pending {
			if err := bboltPut(tx, kv[0], kv[1]); err != nil {
				return err
			}
		}
		return nil
	})
	clear(s.pending)
	s.pending = s.pending[:0]
	if err != nil {
		return fmt.Errorf("bbolt: commit: %w", err)
	}
	return nil
}

func (s *bboltStore) Get(key, dst []byte) ([]byte, error) {
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket([]byte(bboltBucket)).Get(key)
		found = v != nil
		dst = append(dst[:0], v...) // v is valid only inside the transaction
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, errNotFound
	}
	return dst, nil
}

func (s *bboltStore) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commitLocked()
}

func (s *bboltStore) Close() error {
	if err := s.Flush(); err != nil {
		s.db.Close()
		return err
	}
	if err := s.db.Sync(); err != nil {
		s.db.Close()
		return fmt.Errorf("bbolt: sync: %w", err)
	}
	return s.db.Close()
}

// Merge copies the live pages into a new file with bbolt.Compact and puts
// it in place of the old one.
func (s *bboltStore) Merge() error {
	if err := s.Flush(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tmp := s.path + ".compact"
	os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		return fmt.Errorf("bbolt: compact: %w", err)
	}
	if err := bolt.Compact(dst, s.db, 4<<20); err != nil {
		dst.Close()
		return fmt.Errorf("bbolt: compact: %w", err)
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return fmt.Errorf("bbolt: compact: %w", err)
	}
	if err := dst.Close(); err != nil {
		return fmt.Errorf("bbolt: compact: %w", err)
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("bbolt: compact: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("bbolt: compact: %w", err)
	}
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		return fmt.Errorf("bbolt: compact: %w", err)
	}
	return s.openFile()
}
