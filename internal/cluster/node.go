package cluster

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"

	aetherkv "github.com/aether-kv/aether-kv"
)

// Errors of a node that cannot take a command now. Callers test them with
// errors.Is.
var (
	// ErrNotLeader: the node is not the leader; the command must go to
	// the leader (see Node.Leader).
	ErrNotLeader = errors.New("cluster: not the leader")
	// ErrNotReady: the node has just become leader and has not yet
	// applied every entry of the terms before its own.
	ErrNotReady = errors.New("cluster: leader not ready yet")
	// ErrIndeterminate: leadership was lost while a write was under
	// way; it may or may not have been applied.
	ErrIndeterminate = errors.New("cluster: leadership lost while the write was under way: it may or may not have been applied")
	// ErrMemberElsewhere: AddVoter was asked for an id that is a member
	// at another address, and not told to move it.
	ErrMemberElsewhere = errors.New("cluster: the id is a member at another address")
)

// Peer is a member of the cluster: its node id and raft address.
type Peer struct {
	ID   string
	Addr string
}

// Config configures a Node.
type Config struct {
	NodeID   string // unique in the cluster
	RaftAddr string // host:port of the raft transport, reachable by every other node
	RaftDir  string // raft's log, stable store and snapshots
	RESPAddr string // this node's Redis-protocol address, for followers to forward to

	// Peers, when not empty, bootstraps a new cluster of these voters on
	// the first start (a node with raft state ignores it). Every initial
	// node may be given the same list. A node started without Peers
	// waits to be added by the leader (RAFT ADD, or serve --join).
	Peers []Peer

	// HeartbeatTimeout and ElectionTimeout are raft's (500 ms when zero).
	HeartbeatTimeout time.Duration
	ElectionTimeout  time.Duration
	// SnapshotThreshold is the number of log entries between snapshots
	// (8192 when zero); TrailingLogs the entries kept after one (10240
	// when zero).
	SnapshotThreshold uint64
	TrailingLogs      uint64
	// ApplyTimeout bounds the wait for a write to be committed (10 s when
	// zero).
	ApplyTimeout time.Duration

	// Options are the store's, for opening snapshot copies and checking
	// sizes; every node must have the same MaxKeySize and MaxValueSize.
	Options aetherkv.Options

	Logger    *slog.Logger // the node's own logs
	LogOutput io.Writer    // raft's logs; discarded when nil
	// Fatal is called when the store fails a write the log has
	// committed: the node cannot go on without diverging, and must stop
	// (it replays the log when it starts again). Nil panics.
	Fatal func(error)
}

func (c *Config) setDefaults() {
	if c.HeartbeatTimeout == 0 {
		c.HeartbeatTimeout = 500 * time.Millisecond
	}
	if c.ElectionTimeout == 0 {
		c.ElectionTimeout = 500 * time.Millisecond
	}
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = 8192
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = 10240
	}
	if c.ApplyTimeout == 0 {
		c.ApplyTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.LogOutput == nil {
		c.LogOutput = io.Discard
	}
	if c.Fatal == nil {
		c.Fatal = func(err error) { panic(err) }
	}
	if c.Options.MaxKeySize == 0 {
		c.Options.MaxKeySize = aetherkv.DefaultMaxKeySize
	}
	if c.Options.MaxValueSize == 0 {
		c.Options.MaxValueSize = aetherkv.DefaultMaxValueSize
	}
}

// Node is one member of a replicated Aether KV cluster: an Aether store
// kept by the FSM of a hashicorp/raft instance. Writes go through Propose
// on the leader; reads are linearizable after Verify.
type Node struct {
	cfg   Config
	db    *aetherkv.DB
	raft  *raft.Raft
	fsm   *fsm
	trans *raft.NetworkTransport
	store *raftboltdb.BoltStore
	log   *slog.Logger

	// readyTerm is the term in which this node, as leader, applied a
	// barrier: it serves while it leads in that very term.
	readyTerm atomic.Uint64
	verifier  verifier
	prop      *proposer
	done      chan struct{}
	wg        sync.WaitGroup
}

// Open starts a node over db, which must be open and stay so until
// Close. The store's data must be the raft log applied: a store that has
// keys but no raft state beside it is refused.
func Open(db *aetherkv.DB, cfg Config) (*Node, error) {
	cfg.setDefaults()
	if cfg.NodeID == "" || cfg.RaftAddr == "" || cfg.RaftDir == "" {
		return nil, errors.New("cluster: NodeID, RaftAddr and RaftDir must be set")
	}
	if err := os.MkdirAll(cfg.RaftDir, 0o755); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	hlog := hclog.New(&hclog.LoggerOptions{Name: "raft", Output: cfg.LogOutput, Level: hclog.Info})
	store, err := raftboltdb.New(raftboltdb.Options{
		Path: filepath.Join(cfg.RaftDir, "raft.db"),
		// The freelist is rebuilt at open rather than written at every
		// commit: fewer pages to sync per append.
		BoltOptions: &bbolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bbolt.FreelistMapType},
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: open the raft store in %s: %w", cfg.RaftDir, err)
	}
	n := &Node{cfg: cfg, db: db, store: store, log: cfg.Logger, done: make(chan struct{})}
	fail := func(err error) (*Node, error) {
		if n.trans != nil {
			n.trans.Close()
		}
		store.Close()
		return nil, err
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.RaftDir, 2, hlog)
	if err != nil {
		return fail(fmt.Errorf("cluster: snapshot store: %w", err))
	}
	reg, err := loadRegistry(store)
	if err != nil {
		return fail(err)
	}
	n.fsm = &fsm{
		db: db, opts: cfg.Options, reg: reg, log: cfg.Logger, fatal: cfg.Fatal, raftDir: cfg.RaftDir,
	}
	existing, err := raft.HasExistingState(store, store, snaps)
	if err != nil {
		return fail(fmt.Errorf("cluster: %w", err))
	}
	if !existing && db.Len() > 0 {
		return fail(fmt.Errorf("cluster: the store has %d keys but %s has no raft state: a node must start with an empty store (it receives the data from the cluster); to replicate existing data, start the cluster empty and copy the keys in through it", db.Len(), cfg.RaftDir))
	}
	n.fsm.snaps = snaps
	if err := n.finishRestore(snaps); err != nil {
		return fail(err)
	}
	if err := n.catchUp(snaps, store); err != nil {
		return fail(err)
	}
	removeSnapshotCopies(cfg.RaftDir)

	advertise, err := net.ResolveTCPAddr("tcp", cfg.RaftAddr)
	if err != nil {
		return fail(fmt.Errorf("cluster: raft address %q: %w", cfg.RaftAddr, err))
	}
	n.trans, err = raft.NewTCPTransportWithLogger(cfg.RaftAddr, advertise, 3, 10*time.Second, hlog)
	if err != nil {
		return fail(fmt.Errorf("cluster: raft transport on %s: %w", cfg.RaftAddr, err))
	}
	logs, err := raft.NewLogCache(1024, store)
	if err != nil {
		return fail(err)
	}
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = min(cfg.HeartbeatTimeout, rc.LeaderLeaseTimeout)
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.TrailingLogs = cfg.TrailingLogs
	rc.NoSnapshotRestoreOnStart = true // the store keeps its data; see fsm
	rc.BatchApplyCh = true
	rc.MaxAppendEntries = 512
	rc.Logger = hlog
	if err := raft.ValidateConfig(rc); err != nil {
		return fail(fmt.Errorf("cluster: %w", err))
	}
	if !existing && len(cfg.Peers) > 0 {
		var servers []raft.Server
		self := false
		for _, p := range cfg.Peers {
			servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Addr)})
			self = self || p.ID == cfg.NodeID
			if p.ID == cfg.NodeID && p.Addr != cfg.RaftAddr {
				return fail(fmt.Errorf("cluster: the initial peers list node %q at %s, but its raft address is %s: the other nodes would never reach it", cfg.NodeID, p.Addr, cfg.RaftAddr))
			}
		}
		if !self {
			return fail(fmt.Errorf("cluster: node %q is not in the initial peers %v", cfg.NodeID, cfg.Peers))
		}
		if err := raft.BootstrapCluster(rc, logs, store, snaps, n.trans, raft.Configuration{Servers: servers}); err != nil {
			return fail(fmt.Errorf("cluster: bootstrap: %w", err))
		}
	}
	n.raft, err = raft.NewRaft(rc, n.fsm, logs, store, snaps, n.trans)
	if err != nil {
		return fail(fmt.Errorf("cluster: start raft: %w", err))
	}
	n.verifier.raft = n.raft
	n.prop = newProposer(n)
	n.wg.Add(2)
	go n.watchLeadership()
	go n.prop.loop()
	return n, nil
}

// finishRestore restores the latest snapshot when a restore was cut
// short: the store holds part of a snapshot, which raft, having recorded
// the snapshot, would never send again.
func (n *Node) finishRestore(snaps *raft.FileSnapshotStore) error {
	if _, err := os.Stat(filepath.Join(n.cfg.RaftDir, restoringName)); err != nil {
		return nil
	}
	list, err := snaps.List()
	if err != nil || len(list) == 0 {
		return fmt.Errorf("cluster: a snapshot restore was interrupted and no snapshot is left to finish it (%v): start this node with empty %s and data directories, and add it again", err, n.cfg.RaftDir)
	}
	_, rc, err := snaps.Open(list[0].ID)
	if err != nil {
		return fmt.Errorf("cluster: finish an interrupted restore: %w", err)
	}
	n.log.Warn("finishing an interrupted snapshot restore", "snapshot", list[0].ID)
	return n.fsm.Restore(rc)
}

// catchUp restores the newest snapshot when the store may lack entries
// it holds: when the log has a command between the index the store is
// known to hold and the snapshot's, or no longer has those entries at all.
// That happens when a node stops after raft saved a snapshot sent by the
// leader and before the store took it in; raft, which never restores at
// start-up here (the store keeps its data), would replay only what
// follows the snapshot.
func (n *Node) catchUp(snaps *raft.FileSnapshotStore, logs raft.LogStore) error {
	list, err := snaps.List()
	if err != nil || len(list) == 0 {
		return err
	}
	applied, err := readApplied(n.db.Dir()) // in the store's directory: a store that lost its files lost it too
	if err != nil {
		return err
	}
	n.fsm.lastIndex = applied
	snap := list[0]
	if snap.Index <= applied {
		return nil
	}
	for i := applied + 1; i <= snap.Index; i++ {
		var l raft.Log
		if err := logs.GetLog(i, &l); err != nil || l.Type == raft.LogCommand {
			n.log.Warn("the store is behind the newest raft snapshot; restoring it", "store_index", applied, "snapshot", snap.ID, "snapshot_index", snap.Index)
			_, rc, err := snaps.Open(snap.ID)
			if err != nil {
				return fmt.Errorf("cluster: open snapshot %s: %w", snap.ID, err)
			}
			return n.fsm.Restore(rc)
		}
	}
	return nil
}

// removeSnapshotCopies removes the store copies of snapshots that a crash
// left behind.
func removeSnapshotCopies(dir string) {
	copies, _ := filepath.Glob(filepath.Join(dir, "snapshot-copy-*"))
	for _, c := range copies {
		os.RemoveAll(c)
	}
}

// watchLeadership marks the node ready once, as a new leader, it has
// applied every entry of the log (a barrier) in its term, and registers
// its address.
func (n *Node) watchLeadership() {
	defer n.wg.Done()
	for {
		select {
		case <-n.done:
			return
		case leader := <-n.raft.LeaderCh():
			if !leader {
				continue
			}
			term := n.raft.CurrentTerm()
			n.wg.Add(1)
			go func() {
				defer n.wg.Done()
				if err := n.raft.Barrier(n.cfg.ApplyTimeout).Error(); err != nil {
					n.log.Warn("new leader: barrier failed", "err", err)
					return
				}
				if !n.leadsIn(term) {
					return
				}
				if n.cfg.RESPAddr != "" && n.fsm.reg.get(n.cfg.NodeID) != n.cfg.RESPAddr {
					f := n.raft.Apply(encodeRegister(n.cfg.NodeID, n.cfg.RESPAddr), n.cfg.ApplyTimeout)
					if err := f.Error(); err != nil {
						n.log.Warn("new leader: register address failed", "err", err)
						return
					}
				}
				if n.leadsIn(term) {
					n.readyTerm.Store(term)
					n.log.Info("leader ready", "node", n.cfg.NodeID, "term", term)
				}
			}()
		}
	}
}

// leadsIn reports whether the node is the leader in term.
func (n *Node) leadsIn(term uint64) bool {
	return n.raft.State() == raft.Leader && n.raft.CurrentTerm() == term
}

// readyIn returns the term in which the node leads and is ready, or 0.
func (n *Node) readyIn() uint64 {
	if t := n.readyTerm.Load(); t != 0 && n.leadsIn(t) {
		return t
	}
	return 0
}

// IsLeader reports whether the node is the leader and ready to serve.
func (n *Node) IsLeader() bool { return n.readyIn() != 0 }

// notReady is the error of a node that cannot serve as leader now.
func (n *Node) notReady() error {
	if n.raft.State() != raft.Leader {
		return ErrNotLeader
	}
	return ErrNotReady
}

// Verify returns nil if the node is the leader, ready, and a majority
// confirms it still is: a read served after it sees every write
// acknowledged before it began. Concurrent callers share confirmations.
func (n *Node) Verify() error {
	if n.readyIn() == 0 {
		return n.notReady()
	}
	if err := n.verifier.verify(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return ErrNotLeader
		}
		return fmt.Errorf("cluster: verify leadership: %w", err)
	}
	return nil
}

// VerifyAsync starts Verify and returns the channel that receives its
// result.
func (n *Node) VerifyAsync() <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- n.Verify() }()
	return ch
}

// Propose commits ops through the log and returns once the leader has
// applied them: a majority of the nodes has them on disk.
func (n *Node) Propose(ops []Op) error {
	if len(ops) == 0 {
		return nil
	}
	return <-n.ProposeAsync(ops)
}

// ProposeAsync is Propose without the wait: it returns the channel that
// receives Propose's result. Proposals are queued in the order of the
// calls, and ops must not change until the result is in.
func (n *Node) ProposeAsync(ops []Op) <-chan error {
	err := n.fsm.check(ops) // refused before it is sent: an entry carries other writes too
	term := n.readyIn()
	if err == nil && term == 0 {
		err = n.notReady()
	}
	if err != nil {
		ch := make(chan error, 1)
		ch <- err
		return ch
	}
	return n.prop.enqueue(ops, term)
}

// Leader returns the id of the leader and the address of its
// Redis-protocol listener, empty when unknown.
func (n *Node) Leader() (id, respAddr string) {
	_, lid := n.raft.LeaderWithID()
	if lid == "" {
		return "", ""
	}
	return string(lid), n.fsm.reg.get(string(lid))
}

// Register records, through the log, the Redis-protocol address of node
// id; only the leader can. Followers register themselves through the
// leader (RAFT REGISTER), so that ROLE and RAFT STATUS show every
// node's address.
func (n *Node) Register(id, respAddr string) error {
	if n.fsm.reg.get(id) == respAddr {
		return nil
	}
	f := n.raft.Apply(encodeRegister(id, respAddr), n.cfg.ApplyTimeout)
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) {
			return ErrNotLeader
		}
		return fmt.Errorf("cluster: register %s: %w", id, err)
	}
	return nil
}

// Registered reports whether the registry has this node's address.
func (n *Node) Registered() bool { return n.fsm.reg.get(n.cfg.NodeID) == n.cfg.RESPAddr }

// RESPAddr returns the node's Redis-protocol address, as registered.
func (n *Node) RESPAddr() string { return n.cfg.RESPAddr }

// ID returns the node's id.
func (n *Node) ID() string { return n.cfg.NodeID }

// AddVoter adds a node to the cluster; only the leader can. An id that is
// a member already at another address is moved there only if move is
// set, else refused with ErrMemberElsewhere: a new node started with a
// live member's id (a typo) would otherwise take its place in the
// configuration, silently.
func (n *Node) AddVoter(id, raftAddr string, move bool) error {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return fmt.Errorf("cluster: add %s at %s: %w", id, raftAddr, err)
	}
	for _, s := range f.Configuration().Servers {
		if string(s.ID) == id && string(s.Address) != raftAddr && !move {
			return fmt.Errorf("%w: node %s is at %s, not %s; to move it, add it with FORCE (or remove it first)", ErrMemberElsewhere, id, s.Address, raftAddr)
		}
	}
	// prevIndex: refused if the configuration changed since it was read.
	if err := n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(raftAddr), f.Index(), n.cfg.ApplyTimeout).Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) {
			return ErrNotLeader
		}
		return fmt.Errorf("cluster: add %s at %s: %w", id, raftAddr, err)
	}
	return nil
}

// RemoveServer removes a node from the cluster; only the leader can.
func (n *Node) RemoveServer(id string) error {
	if err := n.raft.RemoveServer(raft.ServerID(id), 0, n.cfg.ApplyTimeout).Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) {
			return ErrNotLeader
		}
		return fmt.Errorf("cluster: remove %s: %w", id, err)
	}
	return nil
}

// Member is a node of the cluster's configuration.
type Member struct {
	ID, RaftAddr, RESPAddr string
	Voter                  bool
}

// Status is what INFO replication and ROLE report.
type Status struct {
	ID, State, LeaderID, LeaderAddr string
	Term, CommitIndex, AppliedIndex uint64
	LastIndex                       uint64
	Members                         []Member
}

// Status returns the node's view of the cluster.
func (n *Node) Status() Status {
	st := Status{
		ID: n.cfg.NodeID, State: n.raft.State().String(),
		Term: n.raft.CurrentTerm(), CommitIndex: n.raft.CommitIndex(),
		AppliedIndex: n.raft.AppliedIndex(), LastIndex: n.raft.LastIndex(),
	}
	st.LeaderID, st.LeaderAddr = n.Leader()
	if f := n.raft.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			st.Members = append(st.Members, Member{
				ID: string(s.ID), RaftAddr: string(s.Address),
				RESPAddr: n.fsm.reg.get(string(s.ID)), Voter: s.Suffrage == raft.Voter,
			})
		}
	}
	return st
}

// Snapshot takes a raft snapshot now (raft also takes them every
// SnapshotThreshold entries).
func (n *Node) Snapshot() error { return n.raft.Snapshot().Error() }

// Close stops raft and closes its stores. The store given to Open stays
// open.
func (n *Node) Close() error {
	if !n.prop.close() {
		return nil // closed already
	}
	close(n.done)
	err := n.raft.Shutdown().Error()
	n.wg.Wait()
	return errors.Join(err, n.trans.Close(), n.store.Close())
}

// verifier shares leadership confirmations among concurrent readers: a
// reader waits for a confirmation that began after it arrived.
type verifier struct {
	raft    *raft.Raft
	mu      sync.Mutex
	next    *verifyRound // the round that will start next, joined by new readers
	running bool
}

type verifyRound struct {
	done chan struct{}
	err  error
}

func (v *verifier) verify() error {
	v.mu.Lock()
	if v.next == nil {
		v.next = &verifyRound{done: make(chan struct{})}
	}
	r := v.next
	if !v.running {
		v.running = true
		go v.loop()
	}
	v.mu.Unlock()
	<-r.done
	return r.err
}

func (v *verifier) loop() {
	for {
		v.mu.Lock()
		r := v.next
		v.next = nil
		if r == nil {
			v.running = false
			v.mu.Unlock()
			return
		}
		v.mu.Unlock()
		r.err = v.raft.VerifyLeader().Error()
		close(r.done)
	}
}
