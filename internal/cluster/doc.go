// Package cluster replicates an Aether store with hashicorp/raft: a Node
// is one member of a cluster, whose FSM applies the raft log to the
// node's own store.
//
// # Data flow
//
// The server (internal/server) runs every command on keys on the leader.
// A write becomes blind puts and deletes (Op) that the leader computes
// from its own data while it holds the keys' locks, proposes with Propose,
// and acknowledges once raft has them on a majority of the nodes' logs
// and the leader has applied them. Concurrent proposals share one log
// entry (proposer: group commit above raft). Reads are served after
// Verify, a leadership confirmation that concurrent readers share.
//
// # Durability and restarts
//
// Raft's log (raft-boltdb) is fsynced before an entry counts; each node's
// store runs buffered. Entries are blind writes, so applying a suffix of
// the log again is harmless: raft never restores a snapshot at start-up
// (the store keeps its data) and replays the log after the newest one.
// The index the store durably holds is recorded at each snapshot and
// restore (store-applied, in the store's directory, so that a store that
// lost its files lost it too), and Open restores the newest snapshot when
// the store may be behind it. Snapshots are a consistent copy of the store
// (DB.Backup) streamed as its live keys.
//
// # Addresses
//
// The leader records its Redis-protocol address through the log
// (registry), and followers theirs through the leader, so that a
// follower can forward commands to the leader.
package cluster
