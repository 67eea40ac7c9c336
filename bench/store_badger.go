package main

import (
	"errors"
	"fmt"
	"sync"

	badger "github.com/dgraph-io/badger/v4"
)

// badgerAdapter runs badger v4 with its DefaultOptions (64 MiB memtables,
// values under 1 MiB kept in the LSM tree, 256 MiB block cache) and no
// logger. Buffered: one WriteBatch shared by all writers, the API badger's
// documentation gives for bulk loading (a transaction per key is much
// slower); Flush flushes it. Durable: SyncWrites=true and one Update
// transaction per Put; badger's single writer goroutine commits the
// pending transactions of all writers with one write and one fsync, so
// writers share fsyncs. Get is a View transaction copying the value into
// dst. Merge compacts everything: badger has no call that compacts level 0
// by hand, and Flatten does nothing while every table is in one level (as
// here, where level 0 holds all the data), so Merge closes the store,
// reopens it with CompactL0OnClose and closes it again (level 0 is
// compacted into the next level), reopens it as before, then runs Flatten
// and RunValueLogGC until it has nothing to rewrite.
func badgerAdapter() adapter {
	return adapter{
		name:   "badger",
		family: familyLSM,
		module: "github.com/dgraph-io/badger/v4",
		about: "DefaultOptions; buffered = one shared WriteBatch (bulk-load API); " +
			"durable = SyncWrites + one Update per Put (shared fsyncs); View+ValueCopy; " +
			"Merge = close/reopen with CompactL0OnClose, Flatten, RunValueLogGC",
		open: openBadger,
	}
}

type badgerStore struct {
	opts    badger.Options
	db      *badger.DB
	durable bool

	mu sync.Mutex         // guards wb between Flush and Put
	wb *badger.WriteBatch // buffered mode only
}

func openBadger(c Config) (Store, error) {
	opts := badger.DefaultOptions(c.Dir).WithSyncWrites(c.Durable).WithLogger(nil)
	db, err := badger.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("badger: %w", err)
	}
	s := &badgerStore{opts: opts, db: db, durable: c.Durable}
	if !c.Durable {
		s.wb = db.NewWriteBatch()
	}
	return s, nil
}

func (s *badgerStore) Put(key, value []byte) error {
	if s.durable {
		return s.db.Update(func(txn *badger.Txn) error { return txn.Set(key, value) })
	}
	s.mu.Lock()
	wb := s.wb
	s.mu.Unlock()
	return wb.Set(key, value) // WriteBatch is safe for concurrent use
}

func (s *badgerStore) Get(key, dst []byte) ([]byte, error) {
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		dst, err = item.ValueCopy(dst[:0])
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, errNotFound
	}
	return dst, err
}

func (s *badgerStore) Flush() error {
	if s.durable {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.wb.Flush(); err != nil {
		return fmt.Errorf("badger: flush write batch: %w", err)
	}
	s.wb = s.db.NewWriteBatch()
	return nil
}

func (s *badgerStore) Close() error {
	if err := s.Flush(); err != nil {
		s.db.Close()
		return err
	}
	if s.wb != nil {
		s.wb.Cancel()
	}
	return s.db.Close()
}

func (s *badgerStore) Merge() error {
	if err := s.Flush(); err != nil {
		return err
	}
	if s.wb != nil {
		s.wb.Cancel() // the empty batch Flush made; a new one follows
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("badger: close: %w", err)
	}
	db, err := badger.Open(s.opts.WithCompactL0OnClose(true))
	if err != nil {
		return fmt.Errorf("badger: reopen: %w", err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("badger: compact level 0 on close: %w", err)
	}
	if s.db, err = badger.Open(s.opts); err != nil {
		return fmt.Errorf("badger: reopen: %w", err)
	}
	if s.wb != nil {
		s.wb = s.db.NewWriteBatch()
	}
	if err := s.db.Flatten(2); err != nil {
		return fmt.Errorf("badger: flatten: %w", err)
	}
	for {
		err := s.db.RunValueLogGC(0.5)
		if errors.Is(err, badger.ErrNoRewrite) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("badger: value log gc: %w", err)
		}
	}
}
