package main

import (
	"errors"
	"fmt"

	"git.mills.io/prologic/bitcask"
)

// bitcaskMaxDatafileSize replaces prologic/bitcask's 1 MiB default data
// file size, whose README warns it runs out of file descriptors under
// write-heavy loads; 256 MiB is Aether's and nutsdb's default.
const bitcaskMaxDatafileSize = 256 << 20

// bitcaskAdapter runs prologic/bitcask v1.0.2 (module
// git.mills.io/prologic/bitcask; github.com/prologic/bitcask@v1.0.2 is not
// served by the module proxy) with its defaults but for 256 MiB data files.
// Durable: WithSync(true), an fsync inside each Put under the database
// lock. One Put per key; Get returns a new slice; Merge is Bitcask.Merge.
func bitcaskAdapter() adapter {
	return adapter{
		name:   "bitcask",
		family: familyBitcask,
		module: "git.mills.io/prologic/bitcask",
		about: "defaults but 256 MiB data files (1 MiB default runs out of fds); " +
			"durable = WithSync(true) (fsync in every Put); one Put per key; Get; Merge",
		open: openBitcask,
	}
}

type bitcaskStore struct{ db *bitcask.Bitcask }

func openBitcask(c Config) (Store, error) {
	db, err := bitcask.Open(c.Dir, bitcask.WithSync(c.Durable), bitcask.WithMaxDatafileSize(bitcaskMaxDatafileSize))
	if err != nil {
		return nil, fmt.Errorf("bitcask: %w", err)
	}
	return &bitcaskStore{db: db}, nil
}

func (s *bitcaskStore) Put(key, value []byte) error { return s.db.Put(key, value) }

func (s *bitcaskStore) Get(key, _ []byte) ([]byte, error) {
	v, err := s.db.Get(key)
	if errors.Is(err, bitcask.ErrKeyNotFound) {
		return nil, errNotFound
	}
	return v, err
}

func (s *bitcaskStore) Flush() error { return nil }
func (s *bitcaskStore) Close() error { return s.db.Close() }
func (s *bitcaskStore) Merge() error { return s.db.Merge() }
