package cli

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// lockedBuffer is a bytes.Buffer safe for the logger and the test to use
// at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs "aether-kv serve" with args and env until the returned
// stop function is called, which returns the exit status.
func startServe(t *testing.T, env map[string]string, args ...string) (stderr *lockedBuffer, stop func() int) {
	t.Helper()
	stderr = &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	root := NewRootCommand(strings.NewReader(""), &bytes.Buffer{}, stderr, mapEnv(env))
	root.SetArgs(append([]string{"serve"}, args...))
	go func() { done <- Execute(ctx, root) }()
	stopped := false
	var code int
	stop = func() int {
		if !stopped {
			cancel()
			code, stopped = <-done, true
		}
		return code
	}
	t.Cleanup(func() { stop() })
	return stderr, stop
}

// waitForPing pings addr until it answers.
func waitForPing(t *testing.T, rdb *redis.Client, stderr *lockedBuffer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := rdb.Ping(context.Background()).Err()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no PONG after 10s: %v; stderr:\n%s", err, stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServe(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	stderr, stop := startServe(t, nil, "--data-dir", dir, "--addr", addr)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	waitForPing(t, rdb, stderr)
	ctx := context.Background()
	if err := rdb.Set(ctx, "k", "served value", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if v, err := rdb.Get(ctx, "k").Result(); v != "served value" || err != nil {
		t.Errorf("GET = %q, %v", v, err)
	}
	if n, err := rdb.Incr(ctx, "n").Result(); n != 1 || err != nil {
		t.Errorf("INCR = %d, %v", n, err)
	}
	rdb.Close()
	if code := stop(); code != ExitOK {
		t.Fatalf("serve exited %d, want %d; stderr:\n%s", code, ExitOK, stderr)
	}
	for _, want := range []string{"msg=serving addr=" + addr, "msg=\"shutting down", "msg=\"server stopped\""} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	code, out, errOut := runCommand(t, context.Background(), nil, "GET k\nGET n\n", "--data-dir", dir)
	if code != ExitOK || out != "served value\n1\n" {
		t.Errorf("shell after serve = %d, %q, %q; want the served values", code, out, errOut)
	}
}

func TestServeSettings(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	stderr, stop := startServe(t, map[string]string{"ADDR": addr, "DATA_DIR": dir, "PASSWORD": "pw"})
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: addr, Password: "pw"})
	defer rdb.Close()
	waitForPing(t, rdb, stderr)
	bad := redis.NewClient(&redis.Options{Addr: addr})
	defer bad.Close()
	if err := bad.Get(ctx, "k").Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("GET without AUTH = %v, want NOAUTH", err)
	}
	if code := stop(); code != ExitOK {
		t.Errorf("serve exited %d; stderr:\n%s", code, stderr)
	}
}

func TestServeErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"bad --addr", nil, []string{"--addr", "nowhere"}, ExitUsage, `--addr "nowhere"`},
		{"empty --addr", nil, []string{"--addr", ""}, ExitUsage, `--addr ""`},
		{"bad ADDR", map[string]string{"ADDR": "x"}, nil, ExitError, `config: ADDR "x": want host:port`},
		{"port in use", nil, []string{"--addr", busy.Addr().String()}, ExitError, "address already in use"},
		{"public address without password", nil, []string{"--addr", "0.0.0.0:0"}, ExitError, "is not a loopback address and no password is set"},
		{"extra argument", nil, []string{"now"}, ExitUsage, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"DATA_DIR": t.TempDir()}
			for k, v := range tt.env {
				env[k] = v
			}
			code, _, stderr := runCommand(t, context.Background(), env, "", append([]string{"serve"}, tt.args...)...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("serve %q = %d, stderr %q; want %d and %q", tt.args, code, stderr, tt.code, tt.want)
			}
		})
	}
}
