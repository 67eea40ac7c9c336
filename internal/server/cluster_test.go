package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	aetherkv "github.com/aether-kv/aether-kv"
	"github.com/aether-kv/aether-kv/internal/cluster"
)

// startClusterServer starts a server over a single-node cluster (it
// elects itself at once), so that the cluster paths of the server (writes
// through the log, leadership checks, SETs sent without waiting) run in
// this process, under the race detector.
func startClusterServer(t *testing.T) *testServer {
	t.Helper()
	dir := t.TempDir()
	db, err := aetherkv.Open(filepath.Join(dir, "data"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	raftAddr := ln.Addr().String()
	ln.Close()
	node, err := cluster.Open(db, cluster.Config{
		NodeID: "n1", RaftAddr: raftAddr, RaftDir: filepath.Join(dir, "raft"), RESPAddr: "127.0.0.1:1",
		Peers:            []cluster.Peer{{ID: "n1", Addr: raftAddr}},
		HeartbeatTimeout: 100 * time.Millisecond, ElectionTimeout: 100 * time.Millisecond,
		Fatal: func(err error) { t.Errorf("fatal: %v", err) },
	})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := node.Close(); err != nil {
			t.Errorf("node.Close() = %v", err)
		}
		if err := db.Close(); err != nil {
			t.Errorf("db.Close() = %v", err)
		}
	})
	for start := time.Now(); !node.IsLeader(); time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the single node did not become leader")
		}
	}
	return startServerOn(t, db, Config{Cluster: node})
}

func TestClusterModeCommands(t *testing.T) {
	ts := startClusterServer(t)
	rdb := ts.client(t, nil)
	ctx := context.Background()
	check := func(what string, got, want any, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: error %v", what, err)
		} else if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	set, err := rdb.Set(ctx, "k", "v", 0).Result()
	check("SET", set, "OK", err)
	v, err := rdb.Get(ctx, "k").Result()
	check("GET", v, "v", err)
	nx, err := rdb.SetNX(ctx, "k", "w", 0).Result()
	check("SETNX existing", nx, false, err)
	old, err := rdb.SetArgs(ctx, "k", "w", redis.SetArgs{Get: true}).Result()
	check("SET GET", old, "v", err)
	ttl, err := rdb.Expire(ctx, "k", time.Hour).Result()
	check("EXPIRE", ttl, true, err)
	d, err := rdb.TTL(ctx, "k").Result()
	check("TTL", d, time.Hour, err)
	appended, err := rdb.Append(ctx, "k", "!").Result()
	check("APPEND", appended, 2, err)
	d, err = rdb.TTL(ctx, "k").Result()
	check("TTL after APPEND", d, time.Hour, err)
	persisted, err := rdb.Persist(ctx, "k").Result()
	check("PERSIST", persisted, true, err)
	mset, err := rdb.MSet(ctx, "a", "1", "b", "2").Result()
	check("MSET", mset, "OK", err)
	mget, err := rdb.MGet(ctx, "a", "b", "missing").Result()
	check("MGET", mget, []any{"1", "2", nil}, err)
	incr, err := rdb.IncrBy(ctx, "a", 41).Result()
	check("INCRBY", incr, 42, err)
	del, err := rdb.Del(ctx, "a", "b", "missing").Result()
	check("DEL", del, 2, err)
	gd, err := rdb.GetDel(ctx, "k").Result()
	check("GETDEL", gd, "w!", err)
	if err := rdb.Get(ctx, "k").Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("GET after GETDEL: %v, want nil", err)
	}
	if err := rdb.Set(ctx, "big", strings.Repeat("x", 10), 0).Err(); err != nil {
		t.Errorf("SET: %v", err)
	}
	n, err := rdb.DBSize(ctx).Result()
	check("DBSIZE", n, 1, err)
	status, err := rdb.Do(ctx, "RAFT", "STATUS").Text()
	if err != nil || !strings.Contains(status, "raft_state:leader") || !strings.Contains(status, "raft_leader_id:n1") {
		t.Errorf("RAFT STATUS = %q, %v", status, err)
	}
	info, err := rdb.Info(ctx, "replication").Result()
	if err != nil || !strings.Contains(info, "role:master") || !strings.Contains(info, "raft_members:1") {
		t.Errorf("INFO replication = %q, %v", info, err)
	}
	role, err := rdb.Do(ctx, "ROLE").Slice()
	if err != nil || len(role) != 3 || role[0] != "master" {
		t.Errorf("ROLE = %v, %v", role, err)
	}
	for _, bad := range [][]any{{"RAFT", "ADD", "n2"}, {"RAFT", "ADD", "n2", "no-port"}, {"RAFT", "NOPE"}} {
		if err := rdb.Do(ctx, bad...).Err(); err == nil || !strings.HasPrefix(err.Error(), "ERR") {
			t.Errorf("%v: err = %v, want an ERR reply", bad, err)
		}
	}
	if err := rdb.Do(ctx, "READONLY").Err(); err != nil {
		t.Errorf("READONLY: %v", err)
	}
}

// TestClusterModeConcurrentWrites runs INCRs and pipelines of SETs from
// many connections at once: no update lost, replies in order.
func TestClusterModeConcurrentWrites(t *testing.T) {
	ts := startClusterServer(t)
	ctx := context.Background()
	const workers, each = 10, 100
	var wg sync.WaitGroup
	for w := range workers {
		rdb := ts.client(t, &redis.Options{PoolSize: 1})
		wg.Go(func() {
			for i := range each {
				if err := rdb.Incr(ctx, "counter").Err(); err != nil {
					t.Error(err)
					return
				}
				var get *redis.StringCmd
				_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
					for j := range 5 {
						p.Set(ctx, fmt.Sprintf("w%d", w), fmt.Sprintf("%d-%d", i, j), 0)
					}
					get = p.Get(ctx, fmt.Sprintf("w%d", w))
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				if got, want := get.Val(), fmt.Sprintf("%d-4", i); got != want {
					t.Errorf("GET after a pipeline of SETs = %q, want %q", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	if v, err := ts.client(t, nil).Get(ctx, "counter").Int(); v != workers*each || err != nil {
		t.Errorf("counter = %d, %v; want %d", v, err, workers*each)
	}
}
