package server

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestServerCommands(t *testing.T) {
	runScripts(t, Config{MaxClients: 100, IdleTimeout: 300 * time.Second}, map[string][]step{
		"config get": {
			s("CONFIG GET save", "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"),
			s("CONFIG GET appendonly", "*2\r\n$10\r\nappendonly\r\n$3\r\nyes\r\n"),
			s("CONFIG GET databases", "*2\r\n$9\r\ndatabases\r\n$1\r\n1\r\n"),
			s("CONFIG GET MAXCLIENTS", "*2\r\n$10\r\nmaxclients\r\n$3\r\n100\r\n"),
			s("CONFIG GET save databases save", "*4\r\n$4\r\nsave\r\n$0\r\n\r\n$9\r\ndatabases\r\n$1\r\n1\r\n"),
			s("CONFIG GET maxmemory*", "*4\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n$16\r\nmaxmemory-policy\r\n$10\r\nnoeviction\r\n"),
			s("CONFIG GET timeout", "*2\r\n$7\r\ntimeout\r\n$3\r\n300\r\n"),
			s("CONFIG GET nothing", "*0\r\n"),
			s("CONFIG GET", "-ERR wrong number of arguments for 'config|get' command\r\n"),
			s("CONFIG SET save x", "-ERR CONFIG SET is not supported: change the configuration file or environment and restart\r\n"),
			s("CONFIG BOGUS", "-ERR unknown subcommand 'BOGUS'. Try CONFIG HELP.\r\n"),
			s("CONFIG", "-ERR wrong number of arguments for 'config' command\r\n"),
			s("HELLO 3", "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:1\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"),
			s("CONFIG GET save", "%1\r\n$4\r\nsave\r\n$0\r\n\r\n"),
		},
		"command": {
			s("COMMAND COUNT", ":"+strconv.Itoa(len(commandList))+"\r\n"),
			s("COMMAND DOCS", "*0\r\n"),
			s("COMMAND DOCS get", "*0\r\n"),
			s("COMMAND INFO get nope", "*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*0\r\n*0\r\n$-1\r\n"),
			s("COMMAND BOGUS", "-ERR unknown subcommand 'BOGUS'. Try COMMAND HELP.\r\n"),
			s("COMMAND COUNT x", "-ERR wrong number of arguments for 'command|count' command\r\n"),
			s("HELLO 3", "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:1\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"),
			s("COMMAND DOCS", "%0\r\n"),
			s("COMMAND INFO echo", "*1\r\n*10\r\n$4\r\necho\r\n:2\r\n~1\r\n+fast\r\n:0\r\n:0\r\n:0\r\n~2\r\n+@fast\r\n+@connection\r\n*0\r\n*0\r\n*0\r\n"),
		},
		"save": {
			s("SET k v", ok),
			s("SAVE", ok),
			s("BGSAVE", "+Background saving started\r\n"),
			s("BGSAVE SCHEDULE", "+Background saving started\r\n"),
			s("BGSAVE NOW", "-ERR syntax error\r\n"),
			s("SAVE x", "-ERR wrong number of arguments for 'save' command\r\n"),
		},
	})
}

// TestCommandList checks that every command COMMAND lists runs: none
// falls through to the dispatcher's default.
func TestCommandList(t *testing.T) {
	ts := startServer(t, Config{})
	rc := ts.raw(t)
	for _, spec := range commandList {
		if spec.name == "quit" || spec.name == "backup" { // TestBackup: it writes a directory
			continue
		}
		args := []string{spec.name}
		for len(args) < max(spec.arity, -spec.arity) {
			args = append(args, "0")
		}
		got := rc.do(args...)
		if strings.HasPrefix(got, "-ERR unknown command") || strings.HasPrefix(got, "-ERR wrong number") {
			t.Errorf("%q = %q, want it run", args, got)
		}
	}
	if got := rc.do("PING"); got != "+PONG\r\n" {
		t.Errorf("PING after every command = %q, want +PONG", got)
	}
}

func TestBgrewriteaof(t *testing.T) {
	ts := startServer(t, Config{})
	rdb := ts.client(t, nil)
	ctx := context.Background()
	for i := range 100 {
		rdb.Set(ctx, "k", i, 0)
	}
	before := ts.db.Stats()
	if got, err := rdb.BgRewriteAOF(ctx).Result(); got != "Background append only file rewriting started" || err != nil {
		t.Fatalf("BGREWRITEAOF = %q, %v", got, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for ts.db.Stats().Merges == before.Merges && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	after := ts.db.Stats()
	if after.Merges != before.Merges+1 || after.DeadBytes >= before.DeadBytes {
		t.Errorf("after BGREWRITEAOF: merges %d -> %d, dead bytes %d -> %d; want one merge that reclaims", before.Merges, after.Merges, before.DeadBytes, after.DeadBytes)
	}
	if v := rdb.Get(ctx, "k").Val(); v != "99" {
		t.Errorf("GET k after the merge = %q, want 99", v)
	}
	info := rdb.Info(ctx, "persistence").Val()
	for _, want := range []string{"aether_merges:1\r\n", "aof_last_bgrewrite_status:ok\r\n", "aof_rewrite_in_progress:0\r\n"} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO persistence = %q, want it to contain %q", info, want)
		}
	}
}

// TestBgrewriteaofRunning checks the error for a rewrite while one runs.
func TestBgrewriteaofRunning(t *testing.T) {
	ts := startServer(t, Config{})
	ts.srv.rewriting.Store(true)
	defer ts.srv.rewriting.Store(false)
	rc := ts.raw(t)
	if got, want := rc.do("BGREWRITEAOF"), "-ERR Background append only file rewriting already in progress\r\n"; got != want {
		t.Errorf("BGREWRITEAOF during a merge = %q, want %q", got, want)
	}
}

func TestInfo(t *testing.T) {
	ts := startServer(t, Config{ConfigFile: "embedded default"})
	rdb := ts.client(t, &redis.Options{Protocol: 2})
	ctx := context.Background()
	rdb.Set(ctx, "a", "1", 0)
	rdb.Get(ctx, "a")
	rdb.Get(ctx, "missing")
	rdb.Do(ctx, "NOPE")

	tests := []struct {
		name     string
		sections []string
		want     []string // lines or headers that must appear
		notWant  []string
	}{
		{"default", nil,
			[]string{"# Server\r\nredis_version:7.0.0\r\n", "\r\n\r\n# Clients\r\n", "# Memory\r\n", "# Persistence\r\n", "# Stats\r\n", "# Replication\r\n", "# CPU\r\n", "# Errorstats\r\n", "# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n",
				"redis_mode:standalone\r\n", "config_file:embedded default\r\n", "connected_clients:1\r\n", "keyspace_hits:1\r\n", "keyspace_misses:1\r\n", "aether_keys:1\r\n", "aof_enabled:1\r\n", "errorstat_ERR:count=1\r\n", "role:master\r\n"},
			[]string{"# Commandstats"}},
		{"one section", []string{"keyspace"}, []string{"# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n"}, []string{"# Server"}},
		{"two sections, any case", []string{"SERVER", "Clients"}, []string{"# Server\r\n", "# Clients\r\n"}, []string{"# Memory"}},
		{"all", []string{"all"}, []string{"# Commandstats\r\ncmdstat_", "cmdstat_get:calls=2,", "cmdstat_set:calls=1,"}, nil},
		{"commandstats", []string{"commandstats"}, []string{"cmdstat_info:calls="}, []string{"# Server"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rdb.Info(ctx, tt.sections...).Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("INFO %v = %q, want it to contain %q", tt.sections, got, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(got, w) {
					t.Errorf("INFO %v contains %q, want not", tt.sections, w)
				}
			}
			for line := range strings.SplitSeq(strings.TrimSuffix(got, "\r\n"), "\r\n") {
				if line != "" && !strings.HasPrefix(line, "# ") && !strings.Contains(line, ":") {
					t.Errorf("INFO line %q is neither a header nor key:value", line)
				}
			}
		})
	}
	t.Run("unknown section", func(t *testing.T) {
		if got := ts.raw(t).do("INFO", "nope"); got != "$0\r\n\r\n" {
			t.Errorf("INFO nope = %q, want an empty bulk string", got)
		}
	})
	t.Run("resp3", func(t *testing.T) {
		rc := ts.raw(t)
		rc.do("HELLO", "3")
		if got := rc.do("INFO", "keyspace"); !strings.HasPrefix(got, "=") || !strings.Contains(got, "txt:# Keyspace\r\n") {
			t.Errorf("INFO in RESP3 = %q, want a verbatim string", got)
		}
	})
}

func TestBackup(t *testing.T) {
	ts := startServer(t, Config{})
	rdb := ts.client(t, nil)
	ctx := context.Background()
	for i := range 100 {
		rdb.Set(ctx, fmt.Sprint("k", i), i, 0)
	}
	dest := filepath.Join(t.TempDir(), "copy")
	got, err := rdb.Do(ctx, "BACKUP", dest).Text()
	if err != nil || !strings.HasPrefix(got, "Backup of ") || !strings.HasSuffix(got, "written to "+dest) {
		t.Fatalf("BACKUP = %q, %v", got, err)
	}
	if err := rdb.Do(ctx, "BACKUP", dest).Err(); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("BACKUP into a non-empty directory = %v, want an error saying so", err)
	}
	copyDB := reopen(t, dest)
	if v, err := copyDB.Get([]byte("k42")); err != nil || string(v) != "42" {
		t.Fatalf("the backup's k42 = %q, %v", v, err)
	}
}
