package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// setBig sets key "big" to a 1 MiB value through rc and returns the value.
func setBig(t *testing.T, rc *rawConn) string {
	t.Helper()
	value := strings.Repeat("v", 1<<20)
	if got := rc.do("SET", "big", value); got != ok {
		t.Fatal(got)
	}
	return value
}

// readBig reads n replies of the value of setBig.
func readBig(t *testing.T, rc *rawConn, n int) {
	t.Helper()
	for i := range n {
		got, err := rc.read()
		if err != nil || len(got) != 1<<20+len("$1048576\r\n\r\n") {
			t.Fatalf("reply %d: %d bytes, %v", i, len(got), err)
		}
	}
}

// TestNonReaderDroppedAfterRequestTimeout: a client that sends a
// pipeline and takes none of the replies must be dropped after
// RequestTimeout (README, doc.go), also when its replies fit the queue.
func TestNonReaderDroppedAfterRequestTimeout(t *testing.T) {
	ts := startServer(t, Config{RequestTimeout: 300 * time.Millisecond})
	setter := ts.raw(t)
	setBig(t, setter)
	setter.nc.Close()
	rc := ts.raw(t)
	rc.send(bytes.Repeat(encode("GET", "big"), 20)) // 20 MiB of replies, not read
	deadline := time.Now().Add(3 * time.Second)
	for ts.srv.clients.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := ts.srv.clients.Load(); n != 0 {
		t.Errorf("%d clients still connected 3s after a RequestTimeout of 300ms, want the non-reader dropped", n)
	}
}

// TestSlowDownloadIsNotIdle: a client that reads its replies, but
// needs longer than IdleTimeout to take them all, is not idle: its next
// request must be answered.
func TestSlowDownloadIsNotIdle(t *testing.T) {
	ts := startServer(t, Config{IdleTimeout: 1500 * time.Millisecond})
	rc := ts.raw(t)
	setBig(t, rc)
	const n = 64
	rc.send(bytes.Repeat(encode("GET", "big"), n))
	for range n {
		time.Sleep(40 * time.Millisecond) // ~2.6s in all to take the replies
		readBig(t, rc, 1)
	}
	if got, err := func() (string, error) { rc.send(encode("PING")); return rc.read() }(); got != "+PONG\r\n" {
		t.Fatalf("PING right after the last reply = %q, %v; want +PONG", got, err)
	}
}

// TestUnauthenticatedReplyQueue: before AUTH a request is at most 1 MiB, and
// a client that sends without reading should make the server hold about
// that much, not the 256 MiB an authenticated request may take.
func TestUnauthenticatedReplyQueue(t *testing.T) {
	ts := startServer(t, Config{Password: "s3cret"})
	rc := ts.raw(t)
	before := heapInUse()
	req := bytes.Repeat([]byte("PING\r\n"), 1<<20) // 6 MiB of requests, 34 MiB of NOAUTH replies
	for range 4 {
		rc.nc.SetWriteDeadline(time.Now().Add(3 * time.Second))
		if _, err := rc.nc.Write(req); err != nil {
			t.Logf("client write: %v (the server stopped reading)", err)
			break
		}
	}
	time.Sleep(300 * time.Millisecond)
	var queued int64
	ts.srv.mu.Lock()
	for c := range ts.srv.mu.conns {
		c.snd.mu.Lock()
		queued += c.snd.queued
		c.snd.mu.Unlock()
	}
	ts.srv.mu.Unlock()
	grown := heapInUse() - before
	t.Logf("queued %d MiB, heap grew %d MiB", queued>>20, grown>>20)
	if grown > 16<<20 {
		t.Errorf("heap grew by %d MiB for an unauthenticated client that does not read (%d MiB queued), want a few MiB", grown>>20, queued>>20)
	}
}

// TestRepliesInOrderThroughTheQueue pipelines GETs of values of many sizes
// (through the buffer, and straight from the value for the large ones),
// then QUIT, and reads at an uneven pace: every reply comes once, in
// order, whether written at once or queued.
func TestRepliesInOrderThroughTheQueue(t *testing.T) {
	ts := startServer(t, Config{RequestTimeout: 5 * time.Second})
	rc := ts.raw(t)
	sizes := []int{1, 100, 60 << 10, 64 << 10, 70 << 10, 300 << 10, 1 << 20}
	for i, n := range sizes {
		if got := rc.do("SET", fmt.Sprint("k", i), strings.Repeat(string(rune('a'+i)), n)); got != ok {
			t.Fatal(got)
		}
	}
	const n = 600
	var req []byte
	want := make([]int, n)
	for j := range n {
		want[j] = rand.IntN(len(sizes))
		req = append(req, encode("GET", fmt.Sprint("k", want[j]))...)
	}
	req = append(req, encode("QUIT")...)
	go rc.nc.Write(req)
	for j := range n {
		if rand.IntN(20) == 0 {
			time.Sleep(time.Millisecond)
		}
		got, err := rc.read()
		i := want[j]
		exp := fmt.Sprintf("$%d\r\n%s\r\n", sizes[i], strings.Repeat(string(rune('a'+i)), sizes[i]))
		if err != nil || got != exp {
			t.Fatalf("reply %d: %d bytes (%.20q), %v; want %d bytes", j, len(got), got, err, len(exp))
		}
	}
	if got, err := rc.read(); got != ok {
		t.Fatalf("QUIT: %q %v", got, err)
	}
	if !rc.closed(2 * time.Second) {
		t.Fatal("not closed after QUIT")
	}
}

// TestProtocolErrorAfterQueuedReplies: a protocol error after a pipeline
// whose replies are queued is answered after them, then the connection
// closes.
func TestProtocolErrorAfterQueuedReplies(t *testing.T) {
	ts := startServer(t, Config{})
	rc := ts.raw(t)
	setBig(t, rc)
	rc.send(append(bytes.Repeat(encode("GET", "big"), 16), "*1\r\n$x\r\n"...))
	time.Sleep(100 * time.Millisecond)
	readBig(t, rc, 16)
	got, err := rc.read()
	if !strings.HasPrefix(got, "-ERR Protocol error") {
		t.Fatalf("after the replies: %q %v", got, err)
	}
}

// TestShutdownWhileRepliesQueued: Shutdown ends, at the latest when its
// context does, while a client that reads nothing has replies queued.
func TestShutdownWhileRepliesQueued(t *testing.T) {
	ts := startServer(t, Config{})
	rc := ts.raw(t)
	setBig(t, rc)
	rc.send(bytes.Repeat(encode("GET", "big"), 40)) // not read
	time.Sleep(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := ts.srv.Shutdown(ctx)
	if time.Since(start) > 3*time.Second {
		t.Fatalf("Shutdown took %v", time.Since(start))
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v", err)
	}
}
