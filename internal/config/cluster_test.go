package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestClusterSettings(t *testing.T) {
	dir := t.TempDir()
	c, err := Load("", env(map[string]string{
		"DATA_DIR": dir, "NODE_ID": "n1", "RAFT_ADDR": "127.0.0.1:7001", "RAFT_TRAILING_LOGS": "64",
		"PEERS": "n1=127.0.0.1:7001, n2=127.0.0.1:7002,n3=[::1]:7003",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := []Peer{{"n1", "127.0.0.1:7001"}, {"n2", "127.0.0.1:7002"}, {"n3", "[::1]:7003"}}
	if c.RaftTrailingLogs != 64 {
		t.Errorf("RaftTrailingLogs = %d, want 64", c.RaftTrailingLogs)
	}
	if c.NodeID != "n1" || c.RaftAddr != "127.0.0.1:7001" || !reflect.DeepEqual(c.Peers, want) || c.Join != "" || c.RaftDir != "" {
		t.Errorf("Load() cluster settings = %q %q %v %q %q", c.NodeID, c.RaftAddr, c.Peers, c.Join, c.RaftDir)
	}
	c, err = Load("", env(map[string]string{"DATA_DIR": dir, "NODE_ID": "n4", "RAFT_ADDR": "127.0.0.1:7004", "JOIN": "127.0.0.1:6381", "RAFT_DIR": "/r"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Join != "127.0.0.1:6381" || c.RaftDir != "/r" || c.Peers != nil {
		t.Errorf("Load() join settings = %q %q %v", c.Join, c.RaftDir, c.Peers)
	}
}

func TestClusterSettingsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"raft addr without node id", map[string]string{"RAFT_ADDR": "127.0.0.1:7001"}, "RAFT_ADDR is set"},
		{"peers without node id", map[string]string{"PEERS": "n1=127.0.0.1:7001"}, "PEERS is set"},
		{"node id without raft addr", map[string]string{"NODE_ID": "n1"}, "RAFT_ADDR is not"},
		{"bad node id", map[string]string{"NODE_ID": "n 1", "RAFT_ADDR": "127.0.0.1:7001"}, `NODE_ID "n 1": want letters`},
		{"bad raft addr", map[string]string{"NODE_ID": "n1", "RAFT_ADDR": "7001"}, `RAFT_ADDR "7001"`},
		{"peers without =", map[string]string{"NODE_ID": "n1", "RAFT_ADDR": "127.0.0.1:7001", "PEERS": "127.0.0.1:7001"}, "has no '='"},
		{"peer bad addr", map[string]string{"NODE_ID": "n1", "RAFT_ADDR": "127.0.0.1:7001", "PEERS": "n1=localhost"}, "node n1"},
		{"peer twice", map[string]string{"NODE_ID": "n1", "RAFT_ADDR": "127.0.0.1:7001", "PEERS": "n1=127.0.0.1:7001,n1=127.0.0.1:7002"}, "listed twice"},
		{"self not in peers", map[string]string{"NODE_ID": "n9", "RAFT_ADDR": "127.0.0.1:7001", "PEERS": "n1=127.0.0.1:7001"}, `does not list NODE_ID "n9"`},
		{"trailing logs zero", map[string]string{"RAFT_TRAILING_LOGS": "0"}, `RAFT_TRAILING_LOGS "0"`},
		{"peers and join", map[string]string{"NODE_ID": "n1", "RAFT_ADDR": "127.0.0.1:7001", "PEERS": "n1=127.0.0.1:7001", "JOIN": "127.0.0.1:6380"}, "both set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.env["DATA_DIR"] = t.TempDir()
			_, err := loadServe("", env(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load() error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
