package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/cockroachdb/pebble/v2"
)

// pebbleAdapter runs pebble v2 with its default Options (4 MiB memtable,
// 8 MiB block cache, Snappy blocks) and a logger that keeps only errors (on standard error).
// One Set per key, which pebble commits as a one-entry batch and makes
// visible at once: buffered with pebble.NoSync (the WAL is written, not
// synced), durable with pebble.Sync, where pebble's commit pipeline lets
// concurrent writers share each WAL fsync (group commit). Get copies the
// value into dst before releasing it. Merge is a full-range Compact.
func pebbleAdapter() adapter {
	return adapter{
		name:   "pebble",
		family: familyLSM,
		module: "github.com/cockroachdb/pebble/v2",
		about: "default Options; one Set per key, NoSync or Sync (group commit); " +
			"Get copied into a buffer; Merge = full-range Compact",
		open: openPebble,
	}
}

type pebbleStore struct {
	db    *pebble.DB
	write *pebble.WriteOptions
}

func openPebble(c Config) (Store, error) {
	db, err := pebble.Open(c.Dir, &pebble.Options{Logger: pebbleErrorLogger{}})
	if err != nil {
		return nil, fmt.Errorf("pebble: %w", err)
	}
	w := pebble.NoSync
	if c.Durable {
		w = pebble.Sync
	}
	return &pebbleStore{db: db, write: w}, nil
}

func (s *pebbleStore) Put(key, value []byte) error { return s.db.Set(key, value, s.write) }

func (s *pebbleStore) Get(key, dst []byte) ([]byte, error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	dst = append(dst[:0], v...)
	return dst, closer.Close()
}

func (s *pebbleStore) Flush() error { return nil }
func (s *pebbleStore) Close() error { return s.db.Close() }

func (s *pebbleStore) Merge() error {
	return s.db.Compact(context.Background(), []byte{0}, []byte{0xff}, true)
}

// pebbleErrorLogger drops pebble's informational messages, which would go
// to standard error for every flush and compaction.
type pebbleErrorLogger struct{}

func (pebbleErrorLogger) Infof(string, ...any) {}

func (pebbleErrorLogger) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pebble: "+format+"\n", args...)
}

func (pebbleErrorLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}
