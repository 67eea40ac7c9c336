package config

import (
	"errors"
	"fmt"
	"strings"
)

// Peer is a member of a cluster in PEERS: a node id and its raft address.
type Peer struct {
	ID   string
	Addr string
}

// maxNodeID is the longest NODE_ID accepted.
const maxNodeID = 64

// resolveCluster parses and checks the cluster settings of "aether-kv
// serve": NODE_ID (empty: a single server), RAFT_ADDR, RAFT_DIR, PEERS and
// JOIN.
func resolveCluster(settings map[string]setting, c *Config) error {
	c.NodeID = strings.TrimSpace(settings[keyNodeID].value)
	c.RaftDir = strings.TrimSpace(settings[keyRaftDir].value)
	errs := []error{
		checkNodeID(keyNodeID, settings[keyNodeID], c.NodeID),
		parseAddr(keyRaftAddr, settings[keyRaftAddr], true, &c.RaftAddr),
		parsePeers(settings[keyPeers], &c.Peers),
		parseAddr(keyJoin, settings[keyJoin], true, &c.Join),
		parseInt(keyRaftTrailingLogs, settings[keyRaftTrailingLogs], 1, 100_000_000, "an integer from 1 to 100000000", &c.RaftTrailingLogs),
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if c.NodeID == "" {
		for _, k := range []string{keyRaftAddr, keyPeers, keyJoin} {
			if s := settings[k]; strings.TrimSpace(s.value) != "" {
				return invalid(fmt.Errorf("config: %s is set (%s) but NODE_ID is not: set NODE_ID to run a cluster node, or unset %[1]s", k, s.origin))
			}
		}
		return nil
	}
	if c.RaftAddr == "" {
		return invalid(fmt.Errorf("config: NODE_ID %q is set but RAFT_ADDR is not: a cluster node needs the host:port its raft transport listens on, reachable by the other nodes", c.NodeID))
	}
	if len(c.Peers) > 0 && c.Join != "" {
		return invalid(errors.New("config: PEERS and JOIN are both set: PEERS starts a new cluster, JOIN adds this node to a running one; set one"))
	}
	if len(c.Peers) > 0 {
		self := false
		for _, p := range c.Peers {
			self = self || p.ID == c.NodeID
		}
		if !self {
			return invalid(fmt.Errorf("config: PEERS does not list NODE_ID %q (%s): list every initial node, this one included", c.NodeID, settings[keyPeers].origin))
		}
	}
	return nil
}

func checkNodeID(key string, s setting, id string) error {
	if len(id) > maxNodeID {
		return badValue(key, s, fmt.Sprintf("at most %d characters", maxNodeID), nil)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return badValue(key, s, "letters, digits, '-', '_' and '.'", nil)
		}
	}
	return nil
}

// parsePeers parses "id=host:port,id=host:port,...".
func parsePeers(s setting, dst *[]Peer) error {
	*dst = nil
	v := strings.TrimSpace(s.value)
	if v == "" {
		return nil
	}
	want := "a comma-separated list of id=host:port, one per initial node, such as n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003"
	seen := map[string]bool{}
	for item := range strings.SplitSeq(v, ",") {
		id, addr, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return badValue(keyPeers, s, want, fmt.Errorf("%q has no '='", item))
		}
		if err := checkNodeID(keyPeers, s, id); err != nil || id == "" {
			return badValue(keyPeers, s, want, fmt.Errorf("node id %q", id))
		}
		if err := CheckAddr(addr); err != nil {
			return badValue(keyPeers, s, want, fmt.Errorf("node %s: %w", id, err))
		}
		if seen[id] {
			return badValue(keyPeers, s, want, fmt.Errorf("node %s listed twice", id))
		}
		seen[id] = true
		*dst = append(*dst, Peer{ID: id, Addr: addr})
	}
	return nil
}
