package main

import (
	"errors"
	"fmt"
	"strings"
)

// Config says how a store is opened for one workload.
type Config struct {
	// Dir is the store's data directory; it is created if missing.
	Dir string
	// Durable asks that Put return only once its record is on disk: the
	// store has fsynced it (or an equivalent) before acknowledging.
	Durable bool
	// Writers is how many goroutines will call Put at once. Adapters may use
	// it to pick the store's documented tool for concurrent writers (bbolt's
	// Batch); it never changes what a Put promises.
	Writers int
}

// Store is one open store under test. Put and Get are safe for concurrent
// use; Flush and Close are called with no Put running.
type Store interface {
	// Put sets key to value. The harness never reuses key or value after
	// passing them, so a store may keep them.
	Put(key, value []byte) error
	// Get returns the value of key, which may be appended to dst[:0] when
	// the store can copy into a buffer, or errNotFound.
	Get(key, dst []byte) ([]byte, error)
	// Flush hands the store every Put that an adapter is still batching,
	// so that Get sees them. It does not have to fsync.
	Flush() error
	// Close flushes and closes the store.
	Close() error
}

// Merger is a Store that can compact its files: a Bitcask merge, an LSM
// full compaction, a B+tree copy into a fresh file.
type Merger interface {
	Merge() error
}

// errNotFound is what every adapter's Get returns for a missing key.
var errNotFound = errors.New("key not found")

// Store families. The issue measures memory against the Bitcask family
// only: LSM trees and B+trees keep their index on disk.
const (
	familyBitcask = "bitcask"
	familyLSM     = "lsm"
	familyBTree   = "btree"
)

// adapter names a store, says how the benchmark uses it, and opens it.
type adapter struct {
	name   string // the name used in flags and tables
	family string // familyBitcask, familyLSM or familyBTree
	module string // the Go module it comes from
	about  string // how the adapter uses the store, for the results file
	open   func(Config) (Store, error)
	// indexFiles, if set, lists the files a reopen reads instead of the
	// data (Aether's hint files), so that reopening can be compared with
	// reading them.
	indexFiles func(dir string) []string
}

// adapters returns every store the benchmark knows, Aether KV first.
func adapters() []adapter {
	return []adapter{
		aetherAdapter(),
		rosedbAdapter(),
		nutsdbAdapter(),
		bitcaskAdapter(),
		badgerAdapter(),
		bboltAdapter(),
		pebbleAdapter(),
	}
}

// findAdapters returns the adapters named in a comma-separated list, or all
// of them for "all" or "".
func findAdapters(list string) ([]adapter, error) {
	all := adapters()
	if list == "" || list == "all" {
		return all, nil
	}
	var out []adapter
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, a := range all {
			if a.name == name {
				out = append(out, a)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown store %q; known: %s", name, adapterNames(all))
		}
	}
	return out, nil
}

func adapterNames(as []adapter) string {
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = a.name
	}
	return strings.Join(names, ",")
}
