package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// registryKey is the key of the registry in raft's stable store.
var registryKey = []byte("aether.registry")

// registry maps node ids to the addresses of their Redis-protocol
// listeners, so that a follower can forward commands to the leader. The
// leader registers itself through the log when it takes office; the map
// lives in raft's stable store (so it survives restarts without a
// snapshot restore) and in snapshots.
type registry struct {
	stable raft.StableStore
	mu     sync.Mutex
	addrs  map[string]string
}

// loadRegistry reads the registry from stable, empty if it has none.
func loadRegistry(stable raft.StableStore) (*registry, error) {
	r := &registry{stable: stable, addrs: map[string]string{}}
	b, err := stable.Get(registryKey)
	if errors.Is(err, raftboltdb.ErrKeyNotFound) || (err == nil && len(b) == 0) {
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: read the registry from the raft store: %w", err)
	}
	if err := json.Unmarshal(b, &r.addrs); err != nil {
		return nil, fmt.Errorf("cluster: registry in the raft store: %w", err)
	}
	return r, nil
}

// get returns the address of node id, "" if unknown.
func (r *registry) get(id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addrs[id]
}

// all returns a copy of the registry.
func (r *registry) all() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.addrs)
}

// set records addr for node id and stores the registry.
func (r *registry) set(id, addr string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.addrs[id] == addr {
		return nil
	}
	r.addrs[id] = addr
	return r.storeLocked()
}

// replace sets the whole registry, as a snapshot has it.
func (r *registry) replace(addrs map[string]string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addrs = maps.Clone(addrs)
	return r.storeLocked()
}

func (r *registry) storeLocked() error {
	b, err := json.Marshal(r.addrs)
	if err != nil {
		return err
	}
	if err := r.stable.Set(registryKey, b); err != nil {
		return fmt.Errorf("cluster: store the registry: %w", err)
	}
	return nil
}
