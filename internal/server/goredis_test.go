package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestGoRedisCommands runs every command through go-redis, in RESP2 and
// RESP3, checking the values the library decodes.
func TestGoRedisCommands(t *testing.T) {
	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
			ts := startServer(t, Config{})
			rdb := ts.client(t, &redis.Options{Protocol: proto})
			ctx := context.Background()
			check := func(what string, got, want any, err error) {
				t.Helper()
				if err != nil {
					t.Errorf("%s: error %v", what, err)
					return
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			pong, err := rdb.Ping(ctx).Result()
			check("PING", pong, "PONG", err)
			echo, err := rdb.Echo(ctx, "hi").Result()
			check("ECHO", echo, "hi", err)
			set, err := rdb.Set(ctx, "k", "v", 0).Result()
			check("SET", set, "OK", err)
			v, err := rdb.Get(ctx, "k").Result()
			check("GET", v, "v", err)
			if _, err := rdb.Get(ctx, "missing").Result(); !errors.Is(err, redis.Nil) {
				t.Errorf("GET missing: error %v, want redis.Nil", err)
			}
			nx, err := rdb.SetNX(ctx, "k", "w", 0).Result()
			check("SETNX existing", nx, false, err)
			old, err := rdb.SetArgs(ctx, "k", "w", redis.SetArgs{Get: true}).Result()
			check("SET GET", old, "v", err)
			xx, err := rdb.SetXX(ctx, "nope", "w", 0).Result()
			check("SET XX missing", xx, false, err)
			ex, err := rdb.Set(ctx, "k", "w", 10*time.Second).Result()
			check("SET EX", ex, "OK", err)
			ttl, err := rdb.TTL(ctx, "k").Result()
			check("TTL", ttl, 10*time.Second, err)
			persisted, err := rdb.Persist(ctx, "k").Result()
			check("PERSIST", persisted, true, err)
			msetr, err := rdb.MSet(ctx, "a", "1", "b", "2").Result()
			check("MSET", msetr, "OK", err)
			mget, err := rdb.MGet(ctx, "a", "missing", "b").Result()
			check("MGET", mget, []any{"1", nil, "2"}, err)
			n, err := rdb.Append(ctx, "a", "23").Result()
			check("APPEND", n, 3, err)
			n, err = rdb.StrLen(ctx, "a").Result()
			check("STRLEN", n, 3, err)
			n, err = rdb.Incr(ctx, "a").Result()
			check("INCR", n, 124, err)
			n, err = rdb.IncrBy(ctx, "a", -24).Result()
			check("INCRBY", n, 100, err)
			n, err = rdb.Decr(ctx, "a").Result()
			check("DECR", n, 99, err)
			n, err = rdb.DecrBy(ctx, "a", 9).Result()
			check("DECRBY", n, 90, err)
			gd, err := rdb.GetDel(ctx, "a").Result()
			check("GETDEL", gd, "90", err)
			n, err = rdb.Exists(ctx, "a", "b", "k").Result()
			check("EXISTS", n, 2, err)
			typ, err := rdb.Type(ctx, "b").Result()
			check("TYPE", typ, "string", err)
			keys, err := rdb.Keys(ctx, "b").Result()
			check("KEYS", keys, []string{"b"}, err)
			n, err = rdb.DBSize(ctx).Result()
			check("DBSIZE", n, 2, err)
			n, err = rdb.Del(ctx, "b", "missing").Result()
			check("DEL", n, 1, err)
			n, err = rdb.Unlink(ctx, "k").Result()
			check("UNLINK", n, 1, err)
			sel, err := rdb.Do(ctx, "SELECT", 0).Result()
			check("SELECT 0", sel, "OK", err)
			cfg, err := rdb.ConfigGet(ctx, "save").Result()
			check("CONFIG GET save", cfg, map[string]string{"save": ""}, err)
			cnt, err := rdb.Do(ctx, "COMMAND", "COUNT").Int()
			check("COMMAND COUNT", cnt, len(commandList), err)
			cmds, err := rdb.Command(ctx).Result()
			if err != nil || cmds["get"] == nil || cmds["get"].Arity != 2 || !cmds["get"].ReadOnly {
				t.Errorf("COMMAND = %v entries, get = %+v, %v; want get with arity 2, read-only", len(cmds), cmds["get"], err)
			}
			name, err := rdb.ClientGetName(ctx).Result()
			if !errors.Is(err, redis.Nil) {
				t.Errorf("CLIENT GETNAME = %q, %v; want redis.Nil", name, err)
			}
			id, err := rdb.ClientID(ctx).Result()
			if err != nil || id < 1 {
				t.Errorf("CLIENT ID = %d, %v", id, err)
			}
			save, err := rdb.Save(ctx).Result()
			check("SAVE", save, "OK", err)
			flush, err := rdb.FlushDB(ctx).Result()
			check("FLUSHDB", flush, "OK", err)
			if info, err := rdb.Info(ctx, "server").Result(); err != nil || !bytes.Contains([]byte(info), []byte("redis_version:7.0.0")) {
				t.Errorf("INFO server = %q, %v", info, err)
			}
		})
	}
}

// TestPipelines sends pipelines of mixed commands, in both protocols.
func TestPipelines(t *testing.T) {
	ts := startServer(t, Config{})
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
			rdb := ts.client(t, &redis.Options{Protocol: proto})
			const n = 5000
			pipe := rdb.Pipeline()
			prefix := "p" + strconv.Itoa(proto) + ":"
			for i := range n {
				pipe.Set(ctx, prefix+strconv.Itoa(i), i, 0)
			}
			gets := make([]*redis.StringCmd, n)
			for i := range n {
				gets[i] = pipe.Get(ctx, prefix+strconv.Itoa(i))
			}
			incr := pipe.Incr(ctx, prefix+"counter")
			miss := pipe.Get(ctx, prefix+"missing")
			if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
				t.Fatalf("pipeline: %v", err)
			}
			for i, g := range gets {
				if v := g.Val(); v != strconv.Itoa(i) {
					t.Fatalf("pipelined GET %d = %q, want %d", i, v, i)
				}
			}
			if incr.Val() != 1 || !errors.Is(miss.Err(), redis.Nil) {
				t.Errorf("pipelined INCR = %d, GET missing = %v; want 1, redis.Nil", incr.Val(), miss.Err())
			}
		})
	}
}

// TestConcurrentClients runs 50 connections at once, each writing and
// reading its own keys.
func TestConcurrentClients(t *testing.T) {
	ts := startServer(t, Config{})
	ctx := context.Background()
	const clients, ops = 50, 200
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		rdb := ts.client(t, &redis.Options{PoolSize: 1, Protocol: 2 + c%2})
		wg.Go(func() {
			for i := range ops {
				k := fmt.Sprintf("c%d:k%d", c, i)
				if err := rdb.Set(ctx, k, k, 0).Err(); err != nil {
					errs <- fmt.Errorf("SET %s: %w", k, err)
					return
				}
				if v, err := rdb.Get(ctx, k).Result(); v != k || err != nil {
					errs <- fmt.Errorf("GET %s = %q, %v", k, v, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := ts.db.Len(); n != clients*ops {
		t.Errorf("keys = %d, want %d", n, clients*ops)
	}
	if got := ts.raw(t).do("INFO", "stats"); !bytes.Contains([]byte(got), []byte("total_connections_received:5")) {
		t.Errorf("INFO stats = %q, want at least 50 connections received", got)
	}
}

// TestConcurrentIncr checks that INCR is atomic per key: 20 goroutines,
// each on its own connection, increment one key 500 times.
func TestConcurrentIncr(t *testing.T) {
	ts := startServer(t, Config{})
	ctx := context.Background()
	const workers, each = 20, 500
	var wg sync.WaitGroup
	for w := range workers {
		rdb := ts.client(t, &redis.Options{PoolSize: 1})
		wg.Go(func() {
			for range each {
				var err error
				switch w % 4 { // mix the writes that read first
				case 0, 1:
					err = rdb.Incr(ctx, "counter").Err()
				case 2:
					err = rdb.IncrBy(ctx, "counter", 1).Err()
				case 3:
					err = rdb.DecrBy(ctx, "counter", -1).Err()
				}
				if err != nil {
					t.Error(err)
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

// TestConcurrentAppendAndSetNX checks the other read-modify-write
// commands under concurrency.
func TestConcurrentAppendAndSetNX(t *testing.T) {
	ts := startServer(t, Config{})
	ctx := context.Background()
	const workers, each = 10, 100
	var wg sync.WaitGroup
	var won sync.Map
	for w := range workers {
		rdb := ts.client(t, &redis.Options{PoolSize: 1})
		wg.Go(func() {
			for i := range each {
				if err := rdb.Append(ctx, "log", "x").Err(); err != nil {
					t.Error(err)
					return
				}
				ok, err := rdb.SetNX(ctx, "once:"+strconv.Itoa(i), w, 0).Result()
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					if _, dup := won.LoadOrStore(i, w); dup {
						t.Errorf("SETNX once:%d succeeded twice", i)
					}
				}
			}
		})
	}
	wg.Wait()
	if n := ts.client(t, nil).StrLen(ctx, "log").Val(); n != workers*each {
		t.Errorf("STRLEN log = %d, want %d", n, workers*each)
	}
}

// TestBinarySafety round-trips keys and values holding every byte, CR LF
// and NUL among them, through go-redis and across a restart.
func TestBinarySafety(t *testing.T) {
	ts := startServer(t, Config{})
	ctx := context.Background()
	rdb := ts.client(t, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	pairs := map[string]string{
		"a\x00b":       "c\x00d",
		"line\r\nkey":  "line\r\nvalue\r\n",
		"\r\n":         "\r\n\r\n",
		"\xff\xfe":     "\x00\x00\x00",
		"*1\r\n$4\r\n": "$-1\r\n",
		"big":          string(bytes.Repeat([]byte("\r\n\x00x"), 2<<20)),
	}
	for range 200 {
		k, v := make([]byte, 1+rng.IntN(40)), make([]byte, rng.IntN(300))
		for i := range k {
			k[i] = byte(rng.Uint32())
		}
		for i := range v {
			v[i] = byte(rng.Uint32())
		}
		pairs[string(k)] = string(v)
	}
	for k, v := range pairs {
		if err := rdb.Set(ctx, k, v, 0).Err(); err != nil {
			t.Fatalf("SET %q: %v", k, err)
		}
	}
	check := func(when string, rdb *redis.Client) {
		for k, v := range pairs {
			got, err := rdb.Get(ctx, k).Result()
			if got != v || err != nil {
				t.Errorf("%s: GET %q = %d bytes, %v; want %d bytes", when, k, len(got), err, len(v))
			}
		}
	}
	check("before restart", rdb)

	ts.stop(t)
	if err := ts.db.Close(); err != nil {
		t.Fatal(err)
	}
	db := reopen(t, ts.dir)
	ts3 := startServerOn(t, db, Config{})
	check("after restart", ts3.client(t, nil))
}

// TestMsetAtomic checks that a reader never sees part of an MSET: one
// connection sets two keys to the same value again and again, another
// reads both at once.
func TestMsetAtomic(t *testing.T) {
	ts := startServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	writer, reader := ts.client(t, &redis.Options{PoolSize: 1}), ts.client(t, &redis.Options{PoolSize: 1})
	if err := writer.MSet(ctx, "a", 0, "b", 0).Err(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 1; ctx.Err() == nil; i++ {
			writer.MSet(ctx, "a", i, "b", i)
		}
	})
	reads := 0
	for ; ctx.Err() == nil; reads++ {
		vs, err := reader.MGet(ctx, "a", "b").Result()
		if err != nil {
			break
		}
		if vs[0] != vs[1] {
			t.Fatalf("MGET a b = %v: a reader saw part of an MSET", vs)
		}
	}
	wg.Wait()
	t.Logf("%d reads, each saw a whole MSET", reads)
}

// TestExpiry checks that keys set with an expiry through go-redis expire,
// and that their deadlines survive a restart.
func TestExpiry(t *testing.T) {
	ts := startServer(t, Config{})
	rdb := ts.client(t, nil)
	ctx := context.Background()
	if err := rdb.Set(ctx, "short", "v", 100*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.SetEx(ctx, "long", "v", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, err := rdb.Expire(ctx, "long", 2*time.Hour).Result(); !ok || err != nil {
		t.Errorf("EXPIRE long = %v, %v; want true", ok, err)
	}
	if d, err := rdb.PTTL(ctx, "short").Result(); d <= 0 || d > 100*time.Millisecond || err != nil {
		t.Errorf("PTTL short = %v, %v; want up to 100ms", d, err)
	}
	time.Sleep(150 * time.Millisecond)
	if _, err := rdb.Get(ctx, "short").Result(); !errors.Is(err, redis.Nil) {
		t.Errorf("GET short after its expiry = %v, want redis.Nil", err)
	}
	if n := rdb.Exists(ctx, "short", "long").Val(); n != 1 {
		t.Errorf("EXISTS short long = %d, want 1", n)
	}
	if n := rdb.DBSize(ctx).Val(); n != 1 {
		t.Errorf("DBSIZE = %d, want 1", n)
	}
	deadline := rdb.ExpireTime(ctx, "long").Val()
	ts.stop(t)
	if err := ts.db.Close(); err != nil {
		t.Fatal(err)
	}
	rdb2 := startServerOn(t, reopen(t, ts.dir), Config{}).client(t, nil)
	if got := rdb2.ExpireTime(ctx, "long").Val(); got != deadline || got == 0 {
		t.Errorf("EXPIRETIME long after a restart = %v, want %v", got, deadline)
	}
}

// TestDelAtomic checks that DEL of several keys deletes them in one step:
// a reader sees all of them or none, and the count is of distinct keys.
func TestDelAtomic(t *testing.T) {
	ts := startServer(t, Config{})
	ctx := context.Background()
	writer, reader := ts.client(t, &redis.Options{PoolSize: 1}), ts.client(t, &redis.Options{PoolSize: 1})
	if n, err := writer.Del(ctx, "x", "y").Result(); n != 0 || err != nil {
		t.Fatalf("DEL of missing keys = %d, %v", n, err)
	}
	writer.MSet(ctx, "x", 1, "y", 2)
	if n, err := writer.Del(ctx, "x", "x", "y", "missing").Result(); n != 2 || err != nil {
		t.Fatalf("DEL x x y missing = %d, %v; want 2", n, err)
	}
	tctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 1; tctx.Err() == nil; i++ {
			writer.MSet(tctx, "a", i, "b", i)
			if n, err := writer.Del(tctx, "a", "b").Result(); err == nil && n != 2 {
				t.Errorf("DEL a b after MSET a b = %d, want 2", n)
				return
			}
		}
	})
	for tctx.Err() == nil {
		vs, err := reader.MGet(tctx, "a", "b").Result()
		if err != nil {
			break
		}
		if (vs[0] == nil) != (vs[1] == nil) {
			t.Fatalf("MGET a b = %v: a reader saw part of a DEL", vs)
		}
	}
	wg.Wait()
}

// TestLargeClientPipeline: go-redis, like redis-py and most client
// libraries, writes a whole pipeline before it reads a reply. A server
// that stopped reading requests while its replies waited to be taken
// never finished such a pipeline once the requests and the replies both
// passed what the sockets buffer: the client blocked writing, the server
// blocked writing, and the client's write timeout failed the pipeline.
// Redis finishes it; so must the server (its sender queues the replies).
func TestLargeClientPipeline(t *testing.T) {
	ts := startServer(t, Config{RequestTimeout: 10 * time.Second})
	rdb := ts.client(t, &redis.Options{MaxRetries: -1})
	ctx := context.Background()
	value := strings.Repeat("v", 100)
	if err := rdb.Set(ctx, "k", value, 0).Err(); err != nil {
		t.Fatal(err)
	}
	const n = 400_000 // ~9 MiB of requests, ~42 MiB of replies
	pipe := rdb.Pipeline()
	for range n {
		pipe.Get(ctx, "k")
	}
	cmds, err := pipe.Exec(ctx)
	if err != nil {
		t.Fatalf("pipeline of %d GETs: %v (%d replies)", n, err, len(cmds))
	}
	for i, c := range cmds {
		if got := c.(*redis.StringCmd).Val(); got != value {
			t.Fatalf("reply %d = %q, want the value", i, got)
		}
	}
}
