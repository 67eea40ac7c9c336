package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	aetherkv "github.com/aether-kv/aether-kv"
)

func TestEntryRoundTrip(t *testing.T) {
	deadline := time.Unix(1700000000, 123)
	ops := []Op{
		{Key: []byte("a"), Value: []byte("1")},
		{Key: []byte("b"), Delete: true},
		{Key: []byte("c"), Value: []byte{}, Deadline: deadline},
	}
	e, err := decodeEntry(encodeWrite(ops))
	if err != nil {
		t.Fatal(err)
	}
	if e.kind != kindWrite || len(e.ops) != 3 {
		t.Fatalf("decoded %+v", e)
	}
	for i, op := range e.ops {
		if !bytes.Equal(op.Key, ops[i].Key) || !bytes.Equal(op.Value, ops[i].Value) || op.Delete != ops[i].Delete || !op.Deadline.Equal(ops[i].Deadline) {
			t.Errorf("op %d = %+v, want %+v", i, op, ops[i])
		}
	}
	r, err := decodeEntry(encodeRegister("n1", "127.0.0.1:6380"))
	if err != nil || r.kind != kindRegister || r.id != "n1" || r.addr != "127.0.0.1:6380" {
		t.Fatalf("register decoded %+v, %v", r, err)
	}
	enc := encodeWrite(ops)
	for i := range len(enc) {
		if _, err := decodeEntry(enc[:i]); !errors.Is(err, ErrBadEntry) {
			t.Errorf("decode of the first %d of %d bytes: err = %v, want ErrBadEntry", i, len(enc), err)
		}
	}
}

// testNode is a node of an in-process cluster.
type testNode struct {
	*Node
	db  *aetherkv.DB
	dir string
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startNode(t testing.TB, dir, id, addr string, peers []Peer) *testNode {
	t.Helper()
	db, err := aetherkv.Open(filepath.Join(dir, "data"), nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Open(db, Config{
		NodeID: id, RaftAddr: addr, RaftDir: filepath.Join(dir, "data", "raft"), RESPAddr: "resp-" + id,
		Peers: peers, HeartbeatTimeout: 100 * time.Millisecond, ElectionTimeout: 100 * time.Millisecond,
		SnapshotThreshold: 64, TrailingLogs: 16,
		Fatal: func(err error) { t.Errorf("fatal: %v", err) },
	})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	tn := &testNode{Node: n, db: db, dir: dir}
	t.Cleanup(func() { tn.stop() })
	return tn
}

func (tn *testNode) stop() {
	if tn.Node != nil {
		tn.Node.Close()
		tn.db.Close()
		tn.Node = nil
	}
}

func waitLeader(t testing.TB, nodes []*testNode) *testNode {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range nodes {
			if n.Node != nil && n.IsLeader() {
				return n
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no leader within 10 s")
	return nil
}

func waitValue(t *testing.T, n *testNode, key, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := n.db.Get([]byte(key))
		if err == nil && string(v) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s: %s = %q, %v; want %q", n.ID(), key, v, err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startCluster starts an in-process cluster of n nodes under base.
func startCluster(t testing.TB, base string, n int) ([]*testNode, []Peer) {
	var peers []Peer
	for i := range n {
		peers = append(peers, Peer{ID: fmt.Sprintf("n%d", i+1), Addr: freeAddr(t)})
	}
	var nodes []*testNode
	for i, p := range peers {
		nodes = append(nodes, startNode(t, filepath.Join(base, fmt.Sprint(i)), p.ID, p.Addr, peers))
	}
	return nodes, peers
}

// proposeKeys has leader write keys k00.. with the value "v", n of them.
func proposeKeys(t *testing.T, leader *testNode, n int) {
	t.Helper()
	for i := range n {
		if err := leader.Propose([]Op{{Key: fmt.Appendf(nil, "k%02d", i), Value: []byte("v")}}); err != nil {
			t.Fatal(err)
		}
	}
}

// follower returns a node of nodes other than leader.
func follower(nodes []*testNode, leader *testNode) *testNode {
	for _, n := range nodes {
		if n != leader {
			return n
		}
	}
	return nil
}

// addrOf returns the raft address of node id in peers.
func addrOf(peers []Peer, id string) string {
	for _, p := range peers {
		if p.ID == id {
			return p.Addr
		}
	}
	return ""
}

func TestClusterReplicatesAndJoinsFromSnapshot(t *testing.T) {
	base := t.TempDir()
	nodes, peers := startCluster(t, base, 3)
	leader := waitLeader(t, nodes)
	if err := leader.Verify(); err != nil {
		t.Fatalf("Verify on the leader: %v", err)
	}
	for _, n := range nodes {
		if n != leader {
			if err := n.Propose([]Op{{Key: []byte("x"), Value: []byte("y")}}); !errors.Is(err, ErrNotLeader) {
				t.Errorf("Propose on follower %s: err = %v, want ErrNotLeader", n.ID(), err)
			}
			if id, addr := n.Leader(); id != leader.ID() || addr != "resp-"+leader.ID() {
				// The registration may still be on its way.
				time.Sleep(200 * time.Millisecond)
				if id, addr = n.Leader(); id != leader.ID() || addr != "resp-"+leader.ID() {
					t.Errorf("follower %s: Leader() = %q %q, want %q resp-%[3]s", n.ID(), id, addr, leader.ID())
				}
			}
		}
	}
	for i := range 200 {
		ops := []Op{{Key: fmt.Appendf(nil, "k%03d", i), Value: fmt.Appendf(nil, "v%d", i)}}
		if i%10 == 0 {
			ops = append(ops, Op{Key: fmt.Appendf(nil, "k%03d", i-1), Delete: true})
		}
		if i == 7 {
			ops = append(ops, Op{Key: []byte("ttl"), Value: []byte("t"), Deadline: time.Now().Add(time.Hour)})
		}
		if err := leader.Propose(ops); err != nil {
			t.Fatalf("Propose %d: %v", i, err)
		}
	}
	if err := leader.Propose([]Op{{Key: bytes.Repeat([]byte("k"), aetherkv.DefaultMaxKeySize+1), Value: []byte("v")}}); !errors.Is(err, aetherkv.ErrKeyTooLarge) {
		t.Errorf("Propose of a key too large: err = %v, want ErrKeyTooLarge", err)
	}
	for _, n := range nodes {
		waitValue(t, n, "k199", "v199")
		if _, err := n.db.Get([]byte("k009")); !errors.Is(err, aetherkv.ErrNotFound) {
			t.Errorf("node %s: k009 was deleted; Get err = %v", n.ID(), err)
		}
		if d, err := n.db.ExpiresAt([]byte("ttl")); err != nil || d.IsZero() {
			t.Errorf("node %s: ttl deadline = %v, %v", n.ID(), d, err)
		}
	}
	// A new node joins: the log before the last snapshot is gone, so it
	// must be sent the snapshot.
	if err := leader.Snapshot(); err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	addr4 := freeAddr(t)
	n4 := startNode(t, filepath.Join(base, "3"), "n4", addr4, nil)
	if err := leader.AddVoter("n4", addr4, false); err != nil {
		t.Fatalf("AddVoter: %v", err)
	}
	waitValue(t, n4, "k199", "v199")
	waitValue(t, n4, "k100", "v100")
	if got, want := n4.db.Len(), leader.db.Len(); got != want {
		t.Errorf("new node has %d keys, leader %d", got, want)
	}
	for start := time.Now(); len(n4.Status().Members) != 4; time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("members seen by the new node after it joined: %+v", n4.Status().Members)
		}
	}

	// A follower restarts and catches up on what it missed.
	var follower *testNode
	for _, n := range nodes {
		if n != leader {
			follower = n
			break
		}
	}
	fid := follower.ID()
	follower.stop()
	if err := leader.Propose([]Op{{Key: []byte("missed"), Value: []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	idx := 0
	for i, p := range peers {
		if p.ID == fid {
			idx = i
		}
	}
	id := peers[idx].ID
	restarted := startNode(t, follower.dir, id, peers[idx].Addr, peers)
	waitValue(t, restarted, "missed", "1")
	waitValue(t, restarted, "k150", "v150")
}

func TestInterruptedRestoreFinishesAtStart(t *testing.T) {
	base := t.TempDir()
	nodes, peers := startCluster(t, base, 3)
	leader := waitLeader(t, nodes)
	proposeKeys(t, leader, 50)
	if err := leader.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if err := leader.Propose([]Op{{Key: []byte("after"), Value: []byte("snapshot")}}); err != nil {
		t.Fatal(err)
	}
	// The node stops in the middle of a restore: its store has lost keys,
	// and the marker says a restore was under way.
	id, dir := leader.ID(), leader.dir
	addr := addrOf(peers, id)
	leader.stop()
	db, err := aetherkv.Open(filepath.Join(dir, "data"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		db.Delete(fmt.Appendf(nil, "k%02d", i))
	}
	db.Put([]byte("junk"), []byte("from a snapshot half read"))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := writeSynced(filepath.Join(dir, "data", "raft", restoringName), nil); err != nil {
		t.Fatal(err)
	}
	restarted := startNode(t, dir, id, addr, peers)
	if _, err := os.Stat(filepath.Join(dir, "data", "raft", restoringName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("restore marker still there after start-up: %v", err)
	}
	for i := range 50 {
		waitValue(t, restarted, fmt.Sprintf("k%02d", i), "v")
	}
	waitValue(t, restarted, "after", "snapshot") // replayed from the log after the snapshot
	if _, err := restarted.db.Get([]byte("junk")); !errors.Is(err, aetherkv.ErrNotFound) {
		t.Errorf("a key the snapshot does not hold survived the restore: err = %v", err)
	}
}

// openStore opens a store in dir/data, closed when the test ends.
func openStore(t *testing.T, dir string) *aetherkv.DB {
	t.Helper()
	db, err := aetherkv.Open(filepath.Join(dir, "data"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestRefusesStoreWithoutRaftState(t *testing.T) {
	dir := t.TempDir()
	db := openStore(t, dir)
	if err := db.Put([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	_, err := Open(db, Config{NodeID: "n1", RaftAddr: addr, RaftDir: filepath.Join(dir, "raft"), Peers: []Peer{{"n1", addr}}})
	if err == nil || !strings.Contains(err.Error(), "has 1 keys but") {
		t.Fatalf("Open over a store with data and no raft state: err = %v", err)
	}
}

// TestSnapshotSavedBeforeStoreTookIt stops a follower in the state it is
// in when it stops after raft saved a snapshot from the leader and before
// the store took it in: the snapshot is on disk, the store lacks its
// writes, and no restore marker says so. Raft, not restoring at start-up,
// would replay only what follows the snapshot; the node must restore it.
func TestSnapshotSavedBeforeStoreTookIt(t *testing.T) {
	base := t.TempDir()
	nodes, peers := startCluster(t, base, 3)
	leader := waitLeader(t, nodes)
	f := follower(nodes, leader)
	fid, lid := f.ID(), leader.ID()
	f.stop()
	for i := range 300 {
		if err := leader.Propose([]Op{{Key: fmt.Appendf(nil, "k%03d", i), Value: []byte("v")}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := leader.Snapshot(); err != nil {
		t.Fatal(err)
	}
	// Raft's state right after saving a snapshot sent by the leader.
	snapDir := func(n string) string { return filepath.Join(n, "data", "raft", "snapshots") }
	list, err := os.ReadDir(snapDir(leader.dir))
	if err != nil || len(list) == 0 {
		t.Fatalf("leader's snapshots: %v, %v", list, err)
	}
	newest := list[len(list)-1].Name()
	if err := os.CopyFS(filepath.Join(snapDir(f.dir), newest), os.DirFS(filepath.Join(snapDir(leader.dir), newest))); err != nil {
		t.Fatal(err)
	}
	// The leader restarts too, so that nothing sends the snapshot again.
	ldir := leader.dir
	leader.stop()
	restartedLeader := startNode(t, ldir, lid, addrOf(peers, lid), peers)
	restarted := startNode(t, f.dir, fid, addrOf(peers, fid), peers)
	all := []*testNode{restartedLeader, restarted}
	for _, n := range nodes {
		if n.Node != nil {
			all = append(all, n)
		}
	}
	l := waitLeader(t, all)
	if err := l.Propose([]Op{{Key: []byte("late"), Value: []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	waitValue(t, restarted, "late", "1")
	for i := range 300 {
		waitValue(t, restarted, fmt.Sprintf("k%03d", i), "v")
	}
}

// TestProposeAfterClose: a proposal made after Close is answered at once,
// never left waiting.
func TestProposeAfterClose(t *testing.T) {
	nodes, _ := startCluster(t, t.TempDir(), 1)
	n := waitLeader(t, nodes)
	if err := n.Propose([]Op{{Key: []byte("k"), Value: []byte("v")}}); err != nil {
		t.Fatal(err)
	}
	node := n.Node
	if err := node.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		select {
		case err := <-node.ProposeAsync([]Op{{Key: []byte("k"), Value: []byte("v")}}):
			if !errors.Is(err, ErrNotLeader) {
				t.Errorf("proposal %d after Close: err = %v, want ErrNotLeader", i, err)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("proposal %d after Close not answered within 2 s", i)
		}
	}
	if err := node.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	n.db.Close()
	n.Node = nil
}

// TestStoreLostRaftKept: a node whose store files are lost while its raft
// directory is kept (and holds a snapshot) must come back with every key,
// not only the entries after the snapshot. The record of what the store
// held lived in the raft directory, so it survived the store: the node
// came back with 2 keys of 51, silently, and its acknowledged writes were
// gone once it led.
func TestStoreLostRaftKept(t *testing.T) {
	base := t.TempDir()
	nodes, peers := startCluster(t, base, 3)
	leader := waitLeader(t, nodes)
	proposeKeys(t, leader, 50)
	f := follower(nodes, leader)
	waitValue(t, f, "k49", "v")
	if err := f.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if err := leader.Propose([]Op{{Key: []byte("late"), Value: []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	waitValue(t, f, "late", "1")
	fid, fdir := f.ID(), f.dir
	f.stop()
	// The store's files are lost; data/raft is kept.
	entries, err := os.ReadDir(filepath.Join(fdir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			if err := os.Remove(filepath.Join(fdir, "data", e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := startNode(t, fdir, fid, addrOf(peers, fid), peers)
	waitValue(t, r, "late", "1")
	if n := r.db.Len(); n != 51 {
		t.Fatalf("restarted node holds %d keys, want 51", n)
	}
}

// TestRefusesPeersWithAnotherSelfAddress: PEERS listing this node at an
// address other than its RAFT_ADDR (a typo) is refused at start: the node
// ran, unreachable, as a candidate forever, and a cluster that lost one
// more node had no leader.
func TestRefusesPeersWithAnotherSelfAddress(t *testing.T) {
	dir := t.TempDir()
	db := openStore(t, dir)
	addr, other := freeAddr(t), freeAddr(t)
	_, err := Open(db, Config{NodeID: "n1", RaftAddr: addr, RaftDir: filepath.Join(dir, "raft"), Peers: []Peer{{"n1", other}, {"n2", freeAddr(t)}}})
	if err == nil || !strings.Contains(err.Error(), "its raft address is "+addr) {
		t.Fatalf("Open with PEERS giving n1 another address: err = %v", err)
	}
}

// TestAddVoterRefusesALiveMembersID: adding an id that is a member at
// another address (a new node started with a live member's id, a typo)
// is refused unless told to move it; adding it again at its own address
// (a node restarted with --join) is harmless.
func TestAddVoterRefusesALiveMembersID(t *testing.T) {
	nodes, peers := startCluster(t, t.TempDir(), 3)
	leader := waitLeader(t, nodes)
	id := follower(nodes, leader).ID()
	member := Peer{ID: id, Addr: addrOf(peers, id)}
	elsewhere := freeAddr(t)
	if err := leader.AddVoter(member.ID, elsewhere, false); !errors.Is(err, ErrMemberElsewhere) {
		t.Fatalf("AddVoter(%s at another address) = %v, want ErrMemberElsewhere", member.ID, err)
	}
	if err := leader.AddVoter(member.ID, member.Addr, false); err != nil {
		t.Fatalf("AddVoter(%s at its own address) = %v", member.ID, err)
	}
	if err := leader.AddVoter(member.ID, elsewhere, true); err != nil {
		t.Fatalf("AddVoter(%s, move) = %v", member.ID, err)
	}
	for _, m := range leader.Status().Members {
		if m.ID == member.ID && m.RaftAddr != elsewhere {
			t.Errorf("after the move, %s is at %s, want %s", m.ID, m.RaftAddr, elsewhere)
		}
	}
}
