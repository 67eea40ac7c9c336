package cluster

import (
	"errors"
	"fmt"
	"sync"

	"github.com/hashicorp/raft"
)

// Limits of one log entry gathered by the proposer, and of the entries in
// flight at once: one, measured best (BenchmarkPropose, 50 writers: 1 in
// flight ~45 us per write, 2 ~75, 4 ~73, 8 ~97): the entry in flight
// waits for the fsyncs, and meanwhile the next one gathers.
const (
	maxEntryOps   = 4096
	maxEntryBytes = 4 << 20
	maxInFlight   = 1
)

// proposer gathers the writes of concurrent callers into one log entry,
// as the store's group commit gathers writers into one fsync: while
// maxInFlight entries wait for a majority, new writes queue, and the next
// entry takes all of them. Each caller's operations stay together and in
// order, so they apply atomically; writes to one key never share an entry
// out of order, since the server holds the key's lock until Propose
// returns. Raft's cost is per entry (encoding, a key in its log store),
// so fewer, larger entries carry more writes per fsync.
type proposer struct {
	n     *Node
	reqs  chan *proposal
	slots chan struct{}

	mu     sync.Mutex // guards closed, and sends on reqs against close
	closed bool
}

type proposal struct {
	ops  []Op
	term uint64 // the leader's term when the ops were made from its data
	done chan error
}

func newProposer(n *Node) *proposer {
	return &proposer{n: n, reqs: make(chan *proposal, maxEntryOps), slots: make(chan struct{}, maxInFlight)}
}

// enqueue queues ops, made from the leader's data in term, and returns
// the channel that receives the result of the entry that carries them.
// ops must not change until then.
func (p *proposer) enqueue(ops []Op, term uint64) <-chan error {
	pr := &proposal{ops: ops, term: term, done: make(chan error, 1)}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		pr.done <- ErrNotLeader // nothing was sent
		return pr.done
	}
	select {
	case p.reqs <- pr:
	case <-p.n.done:
		pr.done <- ErrNotLeader
	}
	return pr.done
}

// close stops enqueue from queueing; it reports false if it was closed
// already. The loop answers what is queued.
func (p *proposer) close() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	was := p.closed
	p.closed = true
	return !was
}

// loop gathers proposals into entries until the node closes.
func (p *proposer) loop() {
	defer p.n.wg.Done()
	for {
		var first *proposal
		select {
		case first = <-p.reqs:
		case <-p.n.done:
			p.failQueued()
			return
		}
		select {
		case p.slots <- struct{}{}: // writes queue while the entries in flight wait
		case <-p.n.done:
			first.done <- ErrNotLeader
			p.failQueued()
			return
		}
		batch := []*proposal{first}
		ops, size := len(first.ops), opsSize(first.ops)
	gather:
		for ops < maxEntryOps && size < maxEntryBytes {
			select {
			case pr := <-p.reqs:
				batch = append(batch, pr)
				ops += len(pr.ops)
				size += opsSize(pr.ops)
			default:
				break gather
			}
		}
		go p.commit(batch, ops)
	}
}

// failQueued answers the proposals still queued at close: none was sent.
func (p *proposer) failQueued() {
	for {
		select {
		case pr := <-p.reqs:
			pr.done <- ErrNotLeader
		default:
			return
		}
	}
}

// commit applies one entry and answers its proposals. A proposal made in
// an earlier term than the node's now is refused, not sent: its writes
// were computed from data that another leader may have changed since.
func (p *proposer) commit(batch []*proposal, n int) {
	defer func() { <-p.slots }()
	term := p.n.raft.CurrentTerm()
	all := make([]Op, 0, n)
	kept := batch[:0]
	for _, pr := range batch {
		if pr.term != term {
			pr.done <- ErrNotLeader
			continue
		}
		kept = append(kept, pr)
		all = append(all, pr.ops...)
	}
	batch = kept
	if len(batch) == 0 {
		return
	}
	f := p.n.raft.Apply(encodeWrite(all), p.n.cfg.ApplyTimeout)
	err := f.Error()
	switch {
	case err == nil:
		if rerr, ok := f.Response().(error); ok {
			err = rerr
		}
	case errors.Is(err, raft.ErrNotLeader):
		err = ErrNotLeader
	case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrEnqueueTimeout), errors.Is(err, raft.ErrRaftShutdown):
		err = fmt.Errorf("%w (%v)", ErrIndeterminate, err)
	default:
		err = fmt.Errorf("cluster: %w", err)
	}
	for _, pr := range batch {
		pr.done <- err
	}
}

func opsSize(ops []Op) int {
	n := 0
	for _, op := range ops {
		n += len(op.Key) + len(op.Value) + 16
	}
	return n
}
