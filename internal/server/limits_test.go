package server

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOversizedRequests(t *testing.T) {
	ts := startServer(t, Config{MaxKeySize: 1024, MaxValueSize: 1 << 20})
	longCount := "*" + strings.Repeat("1", 70<<10) + "\r\n"
	tests := []struct {
		name string
		send string
		want string // every reply, the last one the protocol error
	}{
		{"multibulk 2^31", "*2147483648\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"multibulk over MaxArgs", "*1048577\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"multibulk max int64", "*9223372036854775807\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"multibulk overflow", "*99999999999999999999\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"multibulk not a number", "*1x\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"multibulk count line too long", longCount, "-ERR Protocol error: too big mbulk count string\r\n"},
		{"bulk 1 GiB", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1073741824\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"bulk one over the limit", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"bulk negative", "*1\r\n$-2\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"bulk null", "*1\r\n$-1\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"bulk not a number", "*1\r\n$abc\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"bulk trailing garbage", "*1\r\n$1x\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"bulk overflow", "*1\r\n$99999999999999999999\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"bulk not terminated", "*1\r\n$4\r\nPINGxx", "-ERR Protocol error: bulk string not terminated by CRLF\r\n"},
		{"nested array", "*1\r\n" + strings.Repeat("*1\r\n", 10000), "-ERR Protocol error: expected '$', got '*'\r\n"},
		{"binary instead of bulk", "*1\r\n\x00", "-ERR Protocol error: expected '$', got '\\x00'\r\n"},
		{"inline 1 MiB without newline", strings.Repeat("A", 1<<20), "-ERR Protocol error: too big inline request\r\n"},
		{"good command first", "PING\r\n*1\r\n$4\r\nPING\r\n*2147483648\r\n", "+PONG\r\n+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := ts.raw(t)
			go rc.nc.Write([]byte(tt.send)) // the server may close before reading it all
			var got bytes.Buffer
			for got.Len() < len(tt.want) {
				r, err := rc.read()
				got.WriteString(r)
				if err != nil {
					break
				}
			}
			if got.String() != tt.want {
				t.Errorf("replies = %q, want %q", got.String(), tt.want)
			}
			if !rc.closed(5 * time.Second) {
				t.Errorf("connection still open after a protocol error")
			}
		})
	}
	t.Run("other clients unharmed", func(t *testing.T) {
		if got := ts.raw(t).do("PING"); got != "+PONG\r\n" {
			t.Errorf("PING = %q, want +PONG", got)
		}
	})
	t.Run("empty requests skipped", func(t *testing.T) {
		rc := ts.raw(t)
		rc.send([]byte("*0\r\n*-1\r\n\r\n*1\r\n$4\r\nPING\r\n"))
		if got, err := rc.read(); got != "+PONG\r\n" || err != nil {
			t.Errorf("reply = %q, %v; want +PONG", got, err)
		}
	})
}

// heapInUse returns the bytes of live heap objects after a collection.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestOversizedRequestsHeap sends requests that declare huge sizes on 50
// connections at once, and stalls, and checks that the server allocated
// no more than the bytes that really arrived.
func TestOversizedRequestsHeap(t *testing.T) {
	ts := startServer(t, Config{MaxKeySize: 1024, MaxValueSize: 64 << 20})
	tests := []struct{ name, send string }{
		{"max args declared", "*1048576\r\n$3\r\nSET\r\n"},
		{"max bulk declared", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$67108864\r\n" + strings.Repeat("v", 1024)},
		{"2^31 args", "*2147483648\r\n"},
		{"1 GiB bulk", "*2\r\n$3\r\nGET\r\n$1073741824\r\n"},
	}
	const conns = 50
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := heapInUse()
			var rcs []*rawConn
			for range conns {
				rc := ts.raw(t)
				rc.send([]byte(tt.send))
				rcs = append(rcs, rc)
			}
			if got := ts.raw(t).do("PING"); got != "+PONG\r\n" { // the server has read the requests
				t.Fatalf("PING = %q", got)
			}
			time.Sleep(100 * time.Millisecond)
			grown := heapInUse() - before
			if grown > 16<<20 {
				t.Errorf("heap grew by %d MiB with %d stalled connections, want under 16 MiB", grown>>20, conns)
			}
			t.Logf("heap grew by %d KiB for %d connections", grown>>10, conns)
			for _, rc := range rcs {
				rc.nc.Close()
			}
		})
	}
}

func TestUnauthenticatedLimits(t *testing.T) {
	ts := startServer(t, Config{Password: "pw"})
	tests := []struct {
		name string
		send string
		want string
	}{
		{"11 args", "*11\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n"},
		{"16 KiB + 1 bulk", "*2\r\n$4\r\nAUTH\r\n$16385\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n"},
		{"inline with 11 words", "a b c d e f g h i j k\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := ts.raw(t)
			rc.send([]byte(tt.send))
			if got, _ := rc.read(); got != tt.want {
				t.Errorf("reply = %q, want %q", got, tt.want)
			}
			if !rc.closed(5 * time.Second) {
				t.Errorf("connection still open")
			}
		})
	}
	t.Run("lifted by auth", func(t *testing.T) {
		rc := ts.raw(t)
		rc.do("AUTH", "pw")
		big := strings.Repeat("x", 100<<10)
		if got := rc.do("SET", "k", big); got != ok {
			t.Errorf("SET of 100 KiB after AUTH = %q", got)
		}
		if got := rc.do("MSET", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5", "f", "6"); got != ok {
			t.Errorf("MSET of 13 args after AUTH = %q", got)
		}
	})
}

func TestMaxClients(t *testing.T) {
	ts := startServer(t, Config{MaxClients: 2})
	a, b := ts.raw(t), ts.raw(t)
	for _, rc := range []*rawConn{a, b} {
		if got := rc.do("PING"); got != "+PONG\r\n" {
			t.Fatalf("PING = %q", got)
		}
	}
	c := ts.raw(t)
	if got, _ := c.read(); got != "-ERR max number of clients reached\r\n" {
		t.Errorf("third connection got %q, want the max clients error", got)
	}
	if !c.closed(5 * time.Second) {
		t.Errorf("third connection still open")
	}
	if got := a.do("PING"); got != "+PONG\r\n" {
		t.Errorf("first connection after the refusal: PING = %q", got)
	}
	b.nc.Close()
	deadline := time.Now().Add(5 * time.Second)
	for ts.srv.clients.Load() > 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := ts.raw(t).do("PING"); got != "+PONG\r\n" {
		t.Errorf("a connection after one closed: PING = %q", got)
	}
	if got := a.do("INFO", "stats"); !strings.Contains(got, "rejected_connections:1\r\n") {
		t.Errorf("INFO stats = %q, want rejected_connections:1", got)
	}
}

func TestTimeouts(t *testing.T) {
	ts := startServer(t, Config{IdleTimeout: 300 * time.Millisecond, RequestTimeout: 300 * time.Millisecond})
	t.Run("idle", func(t *testing.T) {
		rc := ts.raw(t)
		rc.do("PING")
		start := time.Now()
		if !rc.closed(5 * time.Second) {
			t.Fatalf("idle connection still open")
		}
		if d := time.Since(start); d < 250*time.Millisecond {
			t.Errorf("idle connection closed after %v, want about 300ms", d)
		}
	})
	t.Run("busy connection stays", func(t *testing.T) {
		// Its own server, with a wide margin: a test machine under load
		// may stretch a 100ms sleep past the 300ms above.
		ts := startServer(t, Config{IdleTimeout: time.Second})
		rc := ts.raw(t)
		for range 15 {
			if got := rc.do("PING"); got != "+PONG\r\n" {
				t.Fatalf("PING = %q", got)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	t.Run("request stalled", func(t *testing.T) {
		rc := ts.raw(t)
		rc.send([]byte("*2\r\n$3\r\nGET\r\n"))
		if !rc.closed(5 * time.Second) {
			t.Errorf("connection with a stalled request still open")
		}
	})
	t.Run("slowloris", func(t *testing.T) {
		rc := ts.raw(t)
		start := time.Now()
		for _, b := range []byte("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") {
			if _, err := rc.nc.Write([]byte{b}); err != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !rc.closed(5 * time.Second) {
			t.Errorf("connection sending a byte every 50ms still open")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("slow request closed after %v, want about 300ms", d)
		}
	})
}

// TestSlowReader pipelines GETs of a large value without reading the
// replies: the server queues replies up to its limit (8 MiB here), then
// must disconnect the client once a reply is left unread for
// RequestTimeout, holding no more than the limit meanwhile.
func TestSlowReader(t *testing.T) {
	ts := startServer(t, Config{RequestTimeout: 500 * time.Millisecond})
	ts.srv.replyLimit.Store(8 << 20)
	value := strings.Repeat("v", 1<<20)
	setter := ts.raw(t)
	if got := setter.do("SET", "big", value); got != ok {
		t.Fatal(got)
	}
	setter.nc.Close()
	before := heapInUse()
	rc := ts.raw(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		req := bytes.Repeat(encode("GET", "big"), 1000)
		rc.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		rc.nc.Write(req)
	}()
	time.Sleep(200 * time.Millisecond)
	if grown := heapInUse() - before; grown > 24<<20 {
		t.Errorf("heap grew by %d MiB for a client that does not read, want under 24 MiB (8 MiB of queued replies, and what is being read and sent)", grown>>20)
	}
	deadline := time.Now().Add(5 * time.Second)
	for ts.srv.clients.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := ts.srv.clients.Load(); n != 0 {
		t.Errorf("%d clients connected, want the slow reader disconnected", n)
	}
	rc.nc.Close()
	<-done
}

func TestHTTPRequestClosed(t *testing.T) {
	ts := startServer(t, Config{})
	for _, req := range []string{"POST / HTTP/1.1\r\nHost: x\r\n\r\n", "Host: example.com\r\n"} {
		rc := ts.raw(t)
		rc.send([]byte(req))
		rc.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		var buf [64]byte
		n, err := rc.nc.Read(buf[:])
		if n != 0 || err == nil {
			t.Errorf("%q: read %q, %v; want the connection closed without a reply", req, buf[:n], err)
		}
	}
}

// TestManyConnectionsOneBad checks that clients keep being served while
// another breaks the protocol over and over.
func TestManyConnectionsOneBad(t *testing.T) {
	ts := startServer(t, Config{MaxValueSize: 1 << 20})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			nc, err := net.Dial("tcp", ts.addr)
			if err != nil {
				continue
			}
			nc.Write([]byte("*2147483648\r\n*1\r\n$99999999\r\n"))
			nc.Close()
		}
	})
	rdb := ts.client(t, nil)
	for i := 0; ctx.Err() == nil; i++ {
		k := fmt.Sprintf("k%d", i)
		if err := rdb.Set(ctx, k, i, 0).Err(); err != nil && ctx.Err() == nil {
			t.Fatalf("SET %s = %v", k, err)
		}
	}
	wg.Wait()
}

// TestQueuedRepliesThenIdle: replies the client did not take at once go
// out from the sender's goroutine, each chunk with a write deadline. Once
// they are taken, a later reply written straight to the socket must not
// meet that old deadline: the client, idle for longer than RequestTimeout
// in between, keeps its connection.
func TestQueuedRepliesThenIdle(t *testing.T) {
	ts := startServer(t, Config{RequestTimeout: 300 * time.Millisecond})
	rc := ts.raw(t)
	setBig(t, rc)
	const n = 32 // 32 MiB of replies: more than the sockets buffer
	rc.send(bytes.Repeat(encode("GET", "big"), n))
	time.Sleep(100 * time.Millisecond) // the replies queue
	readBig(t, rc, n)
	time.Sleep(600 * time.Millisecond) // idle past RequestTimeout
	if got := rc.do("PING"); got != "+PONG\r\n" {
		t.Fatalf("PING after the queued replies = %q", got)
	}
}
