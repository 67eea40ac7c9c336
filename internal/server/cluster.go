package server

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/aether-kv/aether-kv/internal/cluster"
)

// Cluster mode (Config.Cluster set): every command on keys runs on the
// leader. A follower forwards it to the leader and relays the reply, so a
// client may talk to any node; a client that has said READONLY gets reads
// from the node it talks to, which may be stale. On the leader, reads are
// served once a majority has confirmed the leadership (linearizable), and
// writes are acknowledged once a majority has them in its log.
//
// Error replies: TRYAGAIN when nothing was done and the command may be
// sent again (no leader yet, a new leader still applying the log, the
// leader could not be reached); ERR when a write may or may not have been
// applied (leadership lost while it was under way).

// routeHere reports whether a command on keys runs on this node; if not,
// it has written the reply: the leader's, forwarded, or an error.
func (s *Server) routeHere(c *conn, spec *commandSpec, args [][]byte) bool {
	node := s.cfg.Cluster
	if !spec.write && c.readonly {
		return true
	}
	if spec.write && node.IsLeader() {
		// The leadership check runs while the command does: a write
		// that commits needs none, but one that writes nothing (SET NX
		// of a key that exists, DEL of a missing one) answered from
		// this node's data, and must not be acknowledged if the node
		// was no longer the leader (see finishWrite).
		c.verifying = node.VerifyAsync()
		return true
	}
	err := node.Verify()
	if err == nil {
		return true
	}
	switch {
	case errors.Is(err, cluster.ErrNotLeader) && !c.forwarded:
		s.forward(c, args)
	case errors.Is(err, cluster.ErrNotLeader):
		c.out.error("TRYAGAIN this node is no longer the leader")
	case errors.Is(err, cluster.ErrNotReady):
		c.out.error("TRYAGAIN the new leader is still applying the log")
	default:
		c.out.error("TRYAGAIN " + err.Error())
	}
	return false
}

// setAsync sends a plain SET key value to the raft log without waiting
// for it, when this node leads, so that the SETs of one pipeline share
// entries and rounds; the reply is written by resolvePending, before the
// reply of any later command. The key's stripe stays locked until the
// entry is applied, as a waiting SET would hold it: another command on
// the key, from any connection, sees the value or waits for it. A SET
// that commits needs no leadership check. It returns false, having done
// nothing, when the SET must take the ordinary path.
func (s *Server) setAsync(c *conn, args [][]byte) bool {
	node := s.cfg.Cluster
	if !node.IsLeader() || s.checkWrite(args[1], args[2]) != "" {
		return false
	}
	unlock := s.keys.lock(args[1])
	done := node.ProposeAsync([]cluster.Op{{Key: bytes.Clone(args[1]), Value: bytes.Clone(args[2])}})
	res := make(chan error, 1)
	go func() {
		err := <-done
		unlock()
		res <- err
	}()
	c.pending = append(c.pending, res)
	return true
}

// resolvePending waits for the SETs setAsync sent and writes their
// replies, in order.
func (c *conn) resolvePending() {
	for _, done := range c.pending {
		switch err := <-done; {
		case err == nil:
			c.out.ok()
		case !clusterError(c, err):
			c.srv.storeError(c, err)
		}
	}
	clear(c.pending)
	c.pending = c.pending[:0]
}

// finishWrite waits for the leadership check begun with a write command
// whose reply starts at mark in the output buffer (sent is the count of
// buffers sent before it). If the check failed, the reply is replaced by
// an error: the command may have written or not.
func (s *Server) finishWrite(c *conn, mark, sent int) {
	err := <-c.verifying
	c.verifying = nil
	if err == nil {
		return
	}
	if c.out.sent != sent || len(c.out.buf) < mark {
		// Part of the reply is on its way already (a long value is sent
		// as it is written): an error now would be a second reply. The
		// connection is closed instead, as when a server dies mid-reply.
		c.srv.log.Warn("leadership lost while a write command's reply was being sent: connection closed", "client", c.id, "remote", c.addr, "err", err)
		c.out.err = errLeadershipLost
		return
	}
	c.out.buf = c.out.buf[:mark]
	c.out.error("ERR leadership lost while the command ran: it may or may not have been applied (" + err.Error() + ")")
}

// errLeadershipLost closes a connection whose reply could not be taken
// back when leadership was lost.
var errLeadershipLost = errors.New("leadership lost during the reply")

// forward runs args on the leader and relays its reply.
func (s *Server) forward(c *conn, args [][]byte) {
	id, addr := s.cfg.Cluster.Leader()
	// Just after an election the leader is known before its address is
	// (it registers it through the log): wait a little rather than
	// refuse.
	for wait := 0; addr == "" && wait < 100; wait++ {
		time.Sleep(10 * time.Millisecond)
		id, addr = s.cfg.Cluster.Leader()
	}
	if addr == "" {
		if id == "" {
			c.out.error("TRYAGAIN no leader elected yet")
		} else {
			c.out.error("TRYAGAIN the address of leader " + id + " is not known yet")
		}
		return
	}
	s.stats.forwarded.Add(1)
	var err error
	changed := func() bool { now, _ := s.cfg.Cluster.Leader(); return now != id }
	c.out.buf, err = s.fwd.do(addr, c.out.resp3, args, c.out.buf, changed)
	switch {
	case err == nil:
		c.out.spill()
	case errors.Is(err, errNotSent):
		c.out.error(fmt.Sprintf("TRYAGAIN cannot reach leader %s at %s: %v", id, addr, err))
	default:
		c.out.error(fmt.Sprintf("ERR connection to leader %s at %s lost while it ran the command, which may or may not have been applied: %v", id, addr, err))
	}
}

// clusterError writes the reply for an error of the cluster during a
// write, and reports whether err was one.
func clusterError(c *conn, err error) bool {
	switch {
	case errors.Is(err, cluster.ErrNotLeader), errors.Is(err, cluster.ErrNotReady):
		c.out.error("TRYAGAIN leadership changed before the write was sent; nothing was written")
	case errors.Is(err, cluster.ErrIndeterminate):
		c.out.error("ERR " + err.Error())
	default:
		return false
	}
	return true
}

// RAFT ADD id raft-addr [FORCE] | REMOVE id | STATUS | SNAPSHOT |
// FORWARDED: change the members (on the leader; followers forward; FORCE
// moves a member to a new address), show this node's view, take a
// snapshot, or mark a connection as a follower's forwarding one.
func (s *Server) raftCmd(c *conn, args [][]byte) {
	node := s.cfg.Cluster
	if node == nil {
		c.out.error("ERR this server is not in a cluster (start it with NODE_ID and RAFT_ADDR)")
		return
	}
	sub := strings.ToLower(string(args[1]))
	switch {
	case sub == "add" && (len(args) == 4 || len(args) == 5 && strings.EqualFold(string(args[4]), "force")),
		sub == "remove" && len(args) == 3, sub == "register" && len(args) == 4:
		if !node.IsLeader() {
			if c.forwarded {
				c.out.error("TRYAGAIN this node is no longer the leader")
			} else {
				s.forward(c, args)
			}
			return
		}
		var err error
		if sub == "add" {
			if _, _, e := net.SplitHostPort(string(args[3])); e != nil {
				c.out.error("ERR raft address " + strconv.Quote(string(args[3])) + ": want host:port")
				return
			}
			err = node.AddVoter(string(args[2]), string(args[3]), len(args) == 5) // FORCE: move a member
		} else if sub == "register" {
			err = node.Register(string(args[2]), string(args[3]))
		} else {
			err = node.RemoveServer(string(args[2]))
		}
		if err != nil {
			if !clusterError(c, err) {
				c.out.error("ERR " + err.Error())
			}
			return
		}
		c.out.ok()
	case sub == "status" && len(args) == 2:
		c.out.verbatim(s.raftStatus())
	case sub == "snapshot" && len(args) == 2:
		if err := node.Snapshot(); err != nil {
			c.out.error("ERR " + err.Error())
			return
		}
		c.out.ok()
	case sub == "forwarded" && len(args) == 2:
		c.forwarded = true
		c.out.ok()
	case sub == "add" || sub == "remove" || sub == "register" || sub == "status" || sub == "snapshot" || sub == "forwarded":
		c.out.error(wrongArgs("raft|" + sub))
	default:
		c.out.error(unknownSubcommand(args[1], "raft"))
	}
}

// registerLoop has the leader record this node's address, once a second
// until it has, so that ROLE and RAFT STATUS show it.
func (s *Server) registerLoop() {
	node := s.cfg.Cluster
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		if node.Registered() || node.IsLeader() {
			continue // a leader registers itself
		}
		if _, addr := node.Leader(); addr != "" {
			args := [][]byte{[]byte("RAFT"), []byte("REGISTER"), []byte(node.ID()), []byte(node.RESPAddr())}
			stopping := func() bool { // Shutdown must not wait on a leader that does not answer
				select {
				case <-s.stop:
					return true
				default:
					return false
				}
			}
			s.fwd.do(addr, false, args, nil, stopping)
		}
	}
}

// raftStatus is the text of RAFT STATUS and of INFO replication's raft
// fields.
func (s *Server) raftStatus() string {
	var b infoBuilder
	s.infoRaft(&b)
	return b.String()
}

func (s *Server) infoRaft(b *infoBuilder) {
	st := s.cfg.Cluster.Status()
	b.add("raft_node_id", st.ID)
	b.add("raft_state", strings.ToLower(st.State))
	b.add("raft_term", st.Term)
	b.add("raft_leader_id", st.LeaderID)
	b.add("raft_leader_addr", st.LeaderAddr)
	b.add("raft_commit_index", st.CommitIndex)
	b.add("raft_applied_index", st.AppliedIndex)
	b.add("raft_last_index", st.LastIndex)
	b.add("raft_members", len(st.Members))
	for i, m := range st.Members {
		b.add("raft_member"+strconv.Itoa(i), "id="+m.ID+",raft="+m.RaftAddr+",addr="+m.RESPAddr+",voter="+strconv.Itoa(boolInt(m.Voter)))
	}
}

// ROLE: Redis's reply shape. The leader: master, its applied index, and
// its followers' addresses; a follower: slave, the leader's host and
// port, connected (or connect while there is none), its applied index.
func (s *Server) role(c *conn) {
	node := s.cfg.Cluster
	if node == nil {
		c.out.array(3)
		c.out.bulkString("master")
		c.out.int(0)
		c.out.array(0)
		return
	}
	st := node.Status()
	if st.LeaderID == st.ID {
		c.out.array(3)
		c.out.bulkString("master")
		c.out.int(int64(st.AppliedIndex))
		var followers []cluster.Member
		for _, m := range st.Members {
			if m.ID != st.ID {
				followers = append(followers, m)
			}
		}
		c.out.array(len(followers))
		for _, m := range followers {
			host, port, _ := net.SplitHostPort(m.RESPAddr)
			c.out.array(3)
			c.out.bulkString(host)
			c.out.bulkString(port)
			c.out.bulkString("0")
		}
		return
	}
	host, port, _ := net.SplitHostPort(st.LeaderAddr)
	state := "connected"
	if st.LeaderID == "" {
		state = "connect"
	}
	c.out.array(5)
	c.out.bulkString("slave")
	c.out.bulkString(host)
	p, _ := strconv.Atoi(port)
	c.out.int(int64(p))
	c.out.bulkString(state)
	c.out.int(int64(st.AppliedIndex))
}
