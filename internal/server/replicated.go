package server

import (
	"time"

	aetherkv "github.com/aether-kv/aether-kv"
	"github.com/aether-kv/aether-kv/internal/cluster"
)

// replicated is the store of a cluster node: reads go to the node's own
// store, writes through the raft log (cluster.Node.Propose), which applies
// them to every node's store. Each write becomes blind puts and deletes
// here, on the leader, under the stripes of its keys that the commands
// hold: INCR reads the value and proposes the new one, EXPIRE proposes the
// value again with its deadline, a TTL becomes an absolute deadline. So
// every node applies the same bytes, whatever its clock, and replaying
// the log after a restart is harmless.
type replicated struct {
	store // the node's own
	node  *cluster.Node
}

// Put proposes key = value.
func (r *replicated) Put(key, value []byte) error {
	return r.node.Propose([]cluster.Op{{Key: key, Value: value}})
}

// Delete proposes the deletion of key, or returns ErrNotFound if it has
// no value.
func (r *replicated) Delete(key []byte) error {
	if _, err := r.store.ExpiresAt(key); err != nil {
		return err
	}
	return r.node.Propose([]cluster.Op{{Key: key, Delete: true}})
}

// PutWithTTL proposes key = value until ttl from now.
func (r *replicated) PutWithTTL(key, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return aetherkv.ErrInvalidTTL
	}
	return r.node.Propose([]cluster.Op{{Key: key, Value: value, Deadline: time.Now().Add(ttl)}})
}

// Expire proposes the value of key again with deadline.
func (r *replicated) Expire(key []byte, deadline time.Time) error {
	value, err := r.store.Get(key)
	if err != nil {
		return err
	}
	return r.node.Propose([]cluster.Op{{Key: key, Value: value, Deadline: deadline}})
}

// Write proposes the batch's operations as one log entry: every node
// applies them atomically.
func (r *replicated) Write(b *aetherkv.Batch) error {
	ops := make([]cluster.Op, 0, b.Len())
	for op := range b.All() {
		ops = append(ops, cluster.Op{Key: op.Key, Value: op.Value, Delete: op.Delete, Deadline: op.Deadline})
	}
	return r.node.Propose(ops)
}
