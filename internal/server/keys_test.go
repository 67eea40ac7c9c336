package server

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

func TestKeyCommands(t *testing.T) {
	runScripts(t, Config{}, map[string][]step{
		"del and unlink": {
			s("MSET a 1 b 2 c 3", ok),
			s("DEL a nope a", ":1\r\n"),
			s("UNLINK b c", ":2\r\n"),
			s("DEL b", ":0\r\n"),
			s("DEL", "-ERR wrong number of arguments for 'del' command\r\n"),
			s("UNLINK", "-ERR wrong number of arguments for 'unlink' command\r\n"),
		},
		"exists and type": {
			s("SET a 1", ok),
			s("EXISTS a a nope", ":2\r\n"),
			s("EXISTS nope", ":0\r\n"),
			s("TYPE a", "+string\r\n"),
			s("TYPE nope", "+none\r\n"),
			s("EXISTS", "-ERR wrong number of arguments for 'exists' command\r\n"),
		},
		"dbsize and flushdb": {
			s("DBSIZE", ":0\r\n"),
			s("MSET a 1 b 2 c 3", ok),
			s("DBSIZE", ":3\r\n"),
			s("FLUSHDB", ok),
			s("DBSIZE", ":0\r\n"),
			s("GET a", null),
			s("SET a 1", ok),
			s("FLUSHALL ASYNC", ok),
			s("FLUSHDB SYNC", ok),
			s("FLUSHDB BOGUS", "-ERR syntax error\r\n"),
			s("DBSIZE x", "-ERR wrong number of arguments for 'dbsize' command\r\n"),
		},
		"keys": {
			s("MSET user:1 a user:2 b other c", ok),
			s("KEYS oth*", "*1\r\n$5\r\nother\r\n"),
			s("KEYS user:[2-3]", "*1\r\n$6\r\nuser:2\r\n"),
			s("KEYS nothing*", "*0\r\n"),
			s("KEYS", "-ERR wrong number of arguments for 'keys' command\r\n"),
		},
		"expire and ttl": {
			s("TTL k", ":-2\r\n"),
			s("PTTL k", ":-2\r\n"),
			s("EXPIRETIME k", ":-2\r\n"),
			s("EXPIRE k 100", ":0\r\n"),
			s("SET k v", ok),
			s("TTL k", ":-1\r\n"),
			s("EXPIRETIME k", ":-1\r\n"),
			s("EXPIRE k 100 XX", ":0\r\n"),
			s("EXPIRE k 100 GT", ":0\r\n"), // no deadline counts as forever
			s("EXPIRE k 100 NX", ":1\r\n"),
			s("TTL k", ":100\r\n"),
			s("EXPIRE k 100 NX", ":0\r\n"),
			s("EXPIRE k 50 GT", ":0\r\n"),
			s("EXPIRE k 200 GT", ":1\r\n"),
			s("TTL k", ":200\r\n"),
			s("PEXPIRE k 50000 LT", ":1\r\n"),
			s("TTL k", ":50\r\n"),
			s("EXPIREAT k 4102444800 XX", ":1\r\n"),
			s("EXPIRETIME k", ":4102444800\r\n"),
			s("PEXPIREAT k 4102444800500", ":1\r\n"),
			s("PEXPIRETIME k", ":4102444800500\r\n"),
			s("EXPIRETIME k", ":4102444801\r\n"), // rounded, as Redis 7.0 does
			s("PEXPIREAT k 4102444800499", ":1\r\n"),
			s("EXPIRETIME k", ":4102444800\r\n"),
			s("GET k", "$1\r\nv\r\n"),
			s("PERSIST k", ":1\r\n"),
			s("PERSIST k", ":0\r\n"),
			s("PERSIST nope", ":0\r\n"),
			s("TTL k", ":-1\r\n"),
			s("EXPIRE k 100 LT", ":1\r\n"),
			s("EXPIRE k -1", ":1\r\n"),
			s("GET k", null),
			s("SET k v", ok),
			s("EXPIREAT k 1", ":1\r\n"),
			s("EXISTS k", ":0\r\n"),
		},
		"expire errors": {
			s("EXPIRE k x", "-ERR value is not an integer or out of range\r\n"),
			s("EXPIRE k 10 NX XX", "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"),
			s("EXPIRE k 10 GT LT", "-ERR GT and LT options at the same time are not compatible\r\n"),
			s("EXPIRE k 10 FOO", "-ERR Unsupported option FOO\r\n"),
			s("EXPIRE k 9223372036854775807", "-ERR invalid expire time in 'expire' command\r\n"),
			s("PEXPIREAT k 9223372036854775807", "-ERR invalid expire time in 'pexpireat' command\r\n"),
			// Seconds past MaxInt64/1000 overflowed time.Unix into the past:
			// the key was deleted and the command answered 1.
			s("SET k v", ok),
			s("EXPIREAT k 9223372036854775807", "-ERR invalid expire time in 'expireat' command\r\n"),
			s("SET k v EXAT 9223372036854775807", "-ERR invalid expire time in 'set' command\r\n"),
			s("EXISTS k", ":1\r\n"),
			s("EXPIRE k", "-ERR wrong number of arguments for 'expire' command\r\n"),
			s("TTL", "-ERR wrong number of arguments for 'ttl' command\r\n"),
		},
		"scan errors": {
			s("SCAN x", "-ERR invalid cursor\r\n"),
			s("SCAN -1", "-ERR invalid cursor\r\n"),
			s("SCAN 0 COUNT 0", "-ERR syntax error\r\n"),
			s("SCAN 0 COUNT x", "-ERR value is not an integer or out of range\r\n"),
			s("SCAN 0 MATCH", "-ERR syntax error\r\n"),
			s("SCAN 0 BOGUS 1", "-ERR syntax error\r\n"),
			s("SCAN 0 TYPE hash", "*2\r\n$1\r\n0\r\n*0\r\n"),
			s("SCAN 18446744073709551615", "*2\r\n$1\r\n0\r\n*0\r\n"),
		},
		"scan one key": {
			s("SET only 1", ok),
			s("SCAN 0 COUNT 100000", "*2\r\n$1\r\n0\r\n*1\r\n$4\r\nonly\r\n"),
			s("SCAN 0 MATCH o* COUNT 100000 TYPE string", "*2\r\n$1\r\n0\r\n*1\r\n$4\r\nonly\r\n"),
			s("SCAN 0 MATCH x* COUNT 100000", "*2\r\n$1\r\n0\r\n*0\r\n"),
		},
	})
}

// TestScanAndKeysWithGoRedis checks that a full SCAN iteration, as a
// client library drives it, and KEYS return every key once.
func TestScanAndKeysWithGoRedis(t *testing.T) {
	ts := startServer(t, Config{})
	rdb := ts.client(t, nil)
	ctx := context.Background()
	var want, wantUsers []string
	pipe := rdb.Pipeline()
	for i := range 3000 {
		k := fmt.Sprintf("key:%d", i)
		if i%3 == 0 {
			k = fmt.Sprintf("user:%d", i)
			wantUsers = append(wantUsers, k)
		}
		want = append(want, k)
		pipe.Set(ctx, k, i, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	slices.Sort(wantUsers)

	tests := []struct {
		name  string
		match string
		count int64
		want  []string
	}{
		{"all, count 10", "", 10, want},
		{"all, count 1000", "*", 1000, want},
		{"match", "user:*", 50, wantUsers},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			iter := rdb.Scan(ctx, 0, tt.match, tt.count).Iterator()
			for iter.Next(ctx) {
				got = append(got, iter.Val())
			}
			if err := iter.Err(); err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("SCAN MATCH %q COUNT %d returned %d keys, want %d (each once)", tt.match, tt.count, len(got), len(tt.want))
			}
		})
	}
	t.Run("keys", func(t *testing.T) {
		got, err := rdb.Keys(ctx, "user:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if !slices.Equal(got, wantUsers) {
			t.Errorf("KEYS user:* returned %d keys, want %d", len(got), len(wantUsers))
		}
	})
	t.Run("dbsize and flushdb", func(t *testing.T) {
		if n := rdb.DBSize(ctx).Val(); n != int64(len(want)) {
			t.Errorf("DBSIZE = %d, want %d", n, len(want))
		}
		if err := rdb.FlushDB(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if n := rdb.DBSize(ctx).Val(); n != 0 {
			t.Errorf("DBSIZE after FLUSHDB = %d, want 0", n)
		}
	})
}
