package server

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// gatedStore is a store whose Put waits until the test opens the gate,
// so that a command can be caught in flight.
type gatedStore struct {
	store
	entered chan struct{} // receives when a Put is waiting
	gate    chan struct{} // closed to let Puts go on
}

func (g *gatedStore) Put(key, value []byte) error {
	g.entered <- struct{}{}
	<-g.gate
	return g.store.Put(key, value)
}

// TestShutdownFinishesInFlight cancels the server while a SET is running:
// Shutdown must wait for it, the client must get its reply, and the value
// must be in the store when it is reopened.
func TestShutdownFinishesInFlight(t *testing.T) {
	dir := t.TempDir()
	db := reopen(t, dir)
	gs := &gatedStore{store: db, entered: make(chan struct{}, 1), gate: make(chan struct{})}
	ts := startServerOn(t, gs, Config{})
	inflight := ts.raw(t)
	idle := ts.raw(t)
	if got := idle.do("PING"); got != "+PONG\r\n" {
		t.Fatal(got)
	}
	inflight.send(encode("SET", "k", "v"))
	<-gs.entered

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- ts.srv.Shutdown(ctx) }()

	if !idle.closed(5 * time.Second) {
		t.Errorf("idle connection still open during Shutdown")
	}
	if _, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		t.Errorf("new connection accepted during Shutdown")
	}
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned %v with a command in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(gs.gate)
	if got, err := inflight.read(); got != ok || err != nil {
		t.Errorf("reply to the SET in flight = %q, %v; want +OK", got, err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Shutdown() = %v", err)
	}
	if !inflight.closed(5 * time.Second) {
		t.Errorf("connection still open after Shutdown")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2 := reopen(t, dir)
	if v, err := db2.Get([]byte("k")); string(v) != "v" || err != nil {
		t.Errorf("after reopen, Get(k) = %q, %v; want v", v, err)
	}
}

// TestShutdownTimeout lets Shutdown's context end while a command is
// stuck: Shutdown closes the connections, still waits for the command,
// and returns the context's error.
func TestShutdownTimeout(t *testing.T) {
	db := reopen(t, t.TempDir())
	gs := &gatedStore{store: db, entered: make(chan struct{}, 1), gate: make(chan struct{})}
	ts := startServerOn(t, gs, Config{})
	rc := ts.raw(t)
	rc.send(encode("SET", "k", "v"))
	<-gs.entered
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- ts.srv.Shutdown(ctx) }()
	if !rc.closed(5 * time.Second) {
		t.Errorf("connection still open after Shutdown's deadline")
	}
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned %v before the command finished", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(gs.gate)
	if err := <-stopped; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown() = %v, want context.DeadlineExceeded", err)
	}
}

// TestShutdownPipelined checks that a pipeline in flight at Shutdown gets
// the reply to the command running; the rest are dropped, unanswered.
func TestShutdownPipelined(t *testing.T) {
	db := reopen(t, t.TempDir())
	gs := &gatedStore{store: db, entered: make(chan struct{}, 1), gate: make(chan struct{})}
	ts := startServerOn(t, gs, Config{})
	rc := ts.raw(t)
	rc.send(append(encode("SET", "a", "1"), encode("SET", "b", "2")...))
	<-gs.entered
	stopped := make(chan error, 1)
	go func() { stopped <- ts.srv.Shutdown(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	close(gs.gate)
	if got, err := rc.read(); got != ok || err != nil {
		t.Errorf("reply to the first SET = %q, %v; want +OK", got, err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Shutdown() = %v", err)
	}
	if !rc.closed(5 * time.Second) {
		t.Errorf("connection still open after Shutdown")
	}
}

func TestServeRefusesPublicAddressWithoutPassword(t *testing.T) {
	srv, err := newServer(reopen(t, t.TempDir()), Config{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Skip("cannot listen on 0.0.0.0:", err)
	}
	if err := srv.Serve(ln); err == nil || errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve(0.0.0.0) without a password = %v, want a refusal", err)
	}
	srv.Shutdown(context.Background())
}

// syncCountingStore counts Syncs, and fails them when told to.
type syncCountingStore struct {
	store
	mu    sync.Mutex
	syncs int
	fail  error
}

func (s *syncCountingStore) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncs++
	if s.fail != nil {
		return s.fail
	}
	return s.store.Sync()
}

func (s *syncCountingStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncs
}

// TestSyncWrites checks that with SyncWrites a pipeline of writes gets one
// sync before its replies, reads get none, and a failed sync withholds the
// replies and closes the connection.
func TestSyncWrites(t *testing.T) {
	st := &syncCountingStore{store: reopen(t, t.TempDir())}
	ts := startServerOn(t, st, Config{SyncWrites: true})
	rc := ts.raw(t)
	rc.do("GET", "k")
	rc.do("PING")
	if n := st.count(); n != 0 {
		t.Errorf("syncs after GET and PING = %d, want 0", n)
	}
	var pipeline []byte
	for i := range 16 {
		pipeline = append(pipeline, encode("SET", "k"+strconv.Itoa(i), "v")...)
	}
	rc.send(pipeline)
	for range 16 {
		if got, err := rc.read(); got != ok || err != nil {
			t.Fatalf("pipelined SET = %q, %v", got, err)
		}
	}
	if n := st.count(); n != 1 {
		t.Errorf("syncs for a pipeline of 16 SETs = %d, want 1", n)
	}
	rc.do("GET", "k1")
	if n := st.count(); n != 1 {
		t.Errorf("syncs after a GET = %d, want still 1", n)
	}

	st.mu.Lock()
	st.fail = errors.New("injected fsync failure")
	st.mu.Unlock()
	rc.send(encode("SET", "lost", "v"))
	if got, err := rc.read(); err == nil {
		t.Errorf("reply to a SET whose sync failed = %q, want none and the connection closed", got)
	}
}
