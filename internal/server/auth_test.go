package server

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

const (
	noauth    = "-NOAUTH Authentication required.\r\n"
	wrongpass = "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
)

func TestAuthRequired(t *testing.T) {
	helloNoAuth := "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n"
	runScripts(t, Config{Password: "s3cret"}, map[string][]step{
		"every command needs auth": {
			s("PING", noauth),
			s("GET k", noauth),
			s("SET k v", noauth),
			s("CLIENT SETNAME x", noauth),
			s("COMMAND DOCS", noauth),
			s("CONFIG GET save", noauth),
			s("INFO", noauth),
			s("SELECT 0", noauth),
			s("FOO", "-ERR unknown command 'FOO', with args beginning with: \r\n"),
			s("HELLO 3", helloNoAuth),
			s("HELLO", helloNoAuth),
			s("PING", noauth),
		},
		"auth": {
			s("AUTH wrong", wrongpass),
			s("AUTH default wrong", wrongpass),
			s("AUTH bob s3cret", wrongpass),
			s("GET k", noauth),
			s("AUTH s3cret", ok),
			s("SET k v", ok),
			s("GET k", "$1\r\nv\r\n"),
		},
		"auth with user": {
			s("AUTH default s3cret", ok),
			s("PING", "+PONG\r\n"),
		},
		"hello auth": {
			s("HELLO 3 AUTH default wrong", wrongpass),
			s("GET k", noauth),
			s("HELLO 3 AUTH default s3cret SETNAME app", "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:1\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"),
			s("GET k", "_\r\n"),
			s("CLIENT GETNAME", "$3\r\napp\r\n"),
		},
		"quit needs no auth": {
			s("QUIT", ok),
		},
	})
}

// TestAuthGoRedis checks the handshakes go-redis does: HELLO 3 with AUTH,
// and, with RESP2, HELLO 2 with AUTH.
func TestAuthGoRedis(t *testing.T) {
	ts := startServer(t, Config{Password: "s3cret"})
	ctx := context.Background()
	tests := []struct {
		name     string
		opts     redis.Options
		wantErr  string // "" for success
		protocol int
	}{
		{"resp3 right password", redis.Options{Password: "s3cret"}, "", 3},
		{"resp2 right password", redis.Options{Password: "s3cret", Protocol: 2}, "", 2},
		{"user and password", redis.Options{Username: "default", Password: "s3cret"}, "", 3},
		{"wrong password", redis.Options{Password: "nope"}, "WRONGPASS invalid username-password pair or user is disabled.", 0},
		{"no password", redis.Options{}, "NOAUTH Authentication required.", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			rdb := ts.client(t, &opts)
			err := rdb.Set(ctx, "k", "v", 0).Err()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("SET with %s = %v, want error %q", tt.name, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("SET = %v", err)
			}
			if v, err := rdb.Get(ctx, "k").Result(); v != "v" || err != nil {
				t.Errorf("GET = %q, %v; want v", v, err)
			}
			if _, err := rdb.Get(ctx, "missing").Result(); !errors.Is(err, redis.Nil) {
				t.Errorf("GET missing = %v, want redis.Nil", err)
			}
			info := rdb.ClientInfo(ctx).Val()
			if info == nil || info.Resp != tt.protocol || info.LibName == "" {
				t.Errorf("CLIENT INFO = %+v, want resp %d and the library's name", info, tt.protocol)
			}
		})
	}
}
