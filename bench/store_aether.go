package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	aetherkv "github.com/aether-kv/aether-kv"
)

// aetherAdapter runs Aether KV, this repository, built from ../ as it is
// now. Buffered: the default Options (SyncModeInterval: a write buffer
// flushed and fsynced in the background every 5 s; automatic merge at a
// dead ratio of 0.5). Durable: SyncModeAlways, where Put returns after the
// fsync that covers its record and concurrent writers share each fsync
// (group commit). One Put per
// key in both modes; Get is DB.GetInto, appending to the caller's buffer as
// the other stores' adapters do; Merge is DB.Merge.
func aetherAdapter() adapter {
	return adapter{
		name:   "aether",
		family: familyBitcask,
		module: "github.com/aether-kv/aether-kv",
		about: "default Options (SyncModeInterval); durable = SyncModeAlways (group commit); " +
			"one Put per key; Get = GetInto (the caller's buffer); Merge = DB.Merge (writes hint files)",
		open: openAether,
		// What Open reads besides the data files: the key-directory
		// checkpoint that a clean Close leaves, if there is one, and then
		// nothing else; else the hint files.
		indexFiles: func(dir string) []string {
			ckpt := filepath.Join(dir, checkpointName)
			if _, err := os.Stat(ckpt); err == nil {
				return []string{ckpt}
			}
			hints, _ := filepath.Glob(filepath.Join(dir, "*.hint"))
			return hints
		},
	}
}

type aetherStore struct{ db *aetherkv.DB }

func openAether(c Config) (Store, error) {
	opts := aetherkv.DefaultOptions()
	if c.Durable {
		opts.SyncMode = aetherkv.SyncModeAlways
	}
	db, err := aetherkv.Open(c.Dir, opts)
	if err != nil {
		return nil, fmt.Errorf("aether: %w", err)
	}
	return &aetherStore{db: db}, nil
}

func (s *aetherStore) Put(key, value []byte) error { return s.db.Put(key, value) }

func (s *aetherStore) Get(key, dst []byte) ([]byte, error) {
	v, err := s.db.GetInto(dst[:0], key)
	if errors.Is(err, aetherkv.ErrNotFound) {
		return nil, errNotFound
	}
	return v, err
}

func (s *aetherStore) Flush() error { return nil }
func (s *aetherStore) Close() error { return s.db.Close() }
func (s *aetherStore) Merge() error { return s.db.Merge() }
