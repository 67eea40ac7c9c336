package server

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	aetherkv "github.com/aether-kv/aether-kv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testServer is a server on 127.0.0.1 over a store in a temporary
// directory, stopped and closed when the test ends.
type testServer struct {
	srv  *Server
	db   *aetherkv.DB
	dir  string
	addr string
	done chan error // Serve's result
}

// startServer starts a server with cfg over a new store.
func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	dir := t.TempDir()
	db, err := aetherkv.Open(dir, &aetherkv.Options{MaxKeySize: cfg.MaxKeySize, MaxValueSize: cfg.MaxValueSize})
	if err != nil {
		t.Fatal(err)
	}
	ts := startServerOn(t, db, cfg)
	ts.dir = dir
	t.Cleanup(func() {
		if err := db.Close(); err != nil && !errors.Is(err, aetherkv.ErrClosed) {
			t.Errorf("db.Close() = %v", err)
		}
	})
	return ts
}

// reopen opens the store in dir again, closed when the test ends.
func reopen(t *testing.T, dir string) *aetherkv.DB {
	t.Helper()
	db, err := aetherkv.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// startServerOn starts a server with cfg over st, which the caller
// closes.
func startServerOn(t *testing.T, st store, cfg Config) *testServer {
	t.Helper()
	srv, err := newServer(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{srv: srv, addr: ln.Addr().String(), done: make(chan error, 1)}
	if db, ok := st.(*aetherkv.DB); ok {
		ts.db = db
	}
	go func() { ts.done <- srv.Serve(ln) }()
	t.Cleanup(func() { ts.stop(t) })
	return ts
}

// stop shuts the server down and checks that Serve returned
// ErrServerClosed.
func (ts *testServer) stop(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown() = %v", err)
	}
	select {
	case err := <-ts.done:
		if !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve() = %v, want ErrServerClosed", err)
		}
		ts.done <- err // for a second stop
	case <-time.After(10 * time.Second):
		t.Errorf("Serve() did not return after Shutdown")
	}
}

// client returns a go-redis client of ts, closed when the test ends.
func (ts *testServer) client(t *testing.T, opts *redis.Options) *redis.Client {
	t.Helper()
	if opts == nil {
		opts = &redis.Options{}
	}
	opts.Addr = ts.addr
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// rawConn is a client that sends requests and reads replies as bytes, to
// check replies exactly.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func (ts *testServer) raw(t *testing.T) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// encode returns args as a RESP array of bulk strings.
func encode(args ...string) []byte {
	b := []byte("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b = append(b, "$"+strconv.Itoa(len(a))+"\r\n"+a+"\r\n"...)
	}
	return b
}

// send writes raw bytes.
func (rc *rawConn) send(b []byte) {
	rc.t.Helper()
	rc.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := rc.nc.Write(b); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

// do sends args and returns the reply, raw.
func (rc *rawConn) do(args ...string) string {
	rc.t.Helper()
	rc.send(encode(args...))
	reply, err := rc.read()
	if err != nil {
		rc.t.Fatalf("%q: reading the reply: %v", args, err)
	}
	return reply
}

// read reads one reply, raw.
func (rc *rawConn) read() (string, error) {
	rc.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	reply, err := readReply(rc.br, nil)
	return string(reply), err
}

// closed reports whether the server closed the connection: a read gets
// EOF or a reset within the timeout.
func (rc *rawConn) closed(timeout time.Duration) bool {
	rc.nc.SetReadDeadline(time.Now().Add(timeout))
	_, err := rc.br.ReadByte()
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}
