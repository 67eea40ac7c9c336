package server

import (
	"hash/maphash"
	"slices"
	"sync"
)

// numStripes is the number of locks that writes to keys are spread over.
const numStripes = 256

// stripes serializes the writes to each key. The store applies each Put
// and Delete atomically but has no read-modify-write: INCR, APPEND,
// SET NX/XX/GET, GETDEL and SETNX read a value and then write one. Every
// command that writes a key holds that key's stripe for the whole of its
// read and write, so no such update is lost to another writer. Reads take
// no lock. A stripes is safe for concurrent use.
type stripes struct {
	seed  maphash.Seed
	locks [numStripes]sync.Mutex // each guards the keys that hash to it
}

func newStripes() *stripes {
	return &stripes{seed: maphash.MakeSeed()}
}

// of returns the stripe of key.
func (s *stripes) of(key []byte) int {
	return int(maphash.Bytes(s.seed, key) % numStripes)
}

// lock locks the stripe of key and returns the function that unlocks it.
func (s *stripes) lock(key []byte) (unlock func()) {
	m := &s.locks[s.of(key)]
	m.Lock()
	return m.Unlock
}

// lockAll locks the stripes of every key, in stripe order so that two
// callers cannot deadlock, and returns the function that unlocks them.
func (s *stripes) lockAll(keys [][]byte) (unlock func()) {
	ids := make([]int, len(keys))
	for i, k := range keys {
		ids[i] = s.of(k)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for _, id := range ids {
		s.locks[id].Lock()
	}
	return func() {
		for _, id := range ids {
			s.locks[id].Unlock()
		}
	}
}
