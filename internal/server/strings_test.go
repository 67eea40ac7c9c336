package server

import (
	"fmt"
	"strings"
	"testing"
)

const (
	ok   = "+OK\r\n"
	null = "$-1\r\n"
)

func TestStringCommands(t *testing.T) {
	runScripts(t, Config{}, map[string][]step{
		"get and set": {
			s("GET k", null),
			s("SET k v1", ok),
			s("GET k", "$2\r\nv1\r\n"),
			s("set k v2", ok),
			s("gEt k", "$2\r\nv2\r\n"),
			s("GET", "-ERR wrong number of arguments for 'get' command\r\n"),
			s("GET a b", "-ERR wrong number of arguments for 'get' command\r\n"),
			s("SET k", "-ERR wrong number of arguments for 'set' command\r\n"),
			sa(ok, "SET", "empty", ""),
			sa("$0\r\n\r\n", "GET", "empty"),
		},
		"set nx xx": {
			s("SET k v NX", ok),
			s("SET k w NX", null),
			s("GET k", "$1\r\nv\r\n"),
			s("SET k w XX", ok),
			s("GET k", "$1\r\nw\r\n"),
			s("SET other w XX", null),
			s("GET other", null),
			s("SET k v NX XX", "-ERR syntax error\r\n"),
			s("SET k v XX NX", "-ERR syntax error\r\n"),
			s("SET k v FOO", "-ERR syntax error\r\n"),
			s("SET k v nx nx", null), // repeated NX is allowed; k exists
		},
		"set get": {
			s("SET k v1 GET", null),
			s("SET k v2 GET", "$2\r\nv1\r\n"),
			s("SET k v3 NX GET", "$2\r\nv2\r\n"),
			s("GET k", "$2\r\nv2\r\n"),
			s("SET new v XX GET", null),
			s("GET new", null),
			s("SET k v4 XX GET", "$2\r\nv2\r\n"),
			s("GET k", "$2\r\nv4\r\n"),
		},
		"set with an expiry": {
			s("SET k v EX 100", ok),
			s("TTL k", ":100\r\n"),
			s("SET k w KEEPTTL", ok),
			s("TTL k", ":100\r\n"),
			s("GET k", "$1\r\nw\r\n"),
			s("SET k v", ok),
			s("TTL k", ":-1\r\n"),
			s("SET k v PX 100000", ok),
			s("TTL k", ":100\r\n"),
			s("SET k v EXAT 4102444800", ok),
			s("EXPIRETIME k", ":4102444800\r\n"),
			s("SET k v PXAT 4102444800123", ok),
			s("PEXPIRETIME k", ":4102444800123\r\n"),
			s("SET k v EXAT 1", ok), // in the past: the key is gone
			s("GET k", null),
			s("SET k v XX EX 10", null),
			s("SET k v NX EX 10 GET", null),
			s("TTL k", ":10\r\n"),
		},
		"set expiry errors": {
			s("SET k v EX 0", "-ERR invalid expire time in 'set' command\r\n"),
			s("SET k v PX -1", "-ERR invalid expire time in 'set' command\r\n"),
			s("SET k v EXAT 0", "-ERR invalid expire time in 'set' command\r\n"),
			s("SET k v EX 9223372036854775807", "-ERR invalid expire time in 'set' command\r\n"),
			s("SET k v EX ten", "-ERR value is not an integer or out of range\r\n"),
			s("SET k v EX", "-ERR syntax error\r\n"),
			s("SET k v EX 10 PX 10", "-ERR syntax error\r\n"),
			s("SET k v KEEPTTL EX 1", "-ERR syntax error\r\n"),
			s("SET k v EX 1 KEEPTTL", "-ERR syntax error\r\n"),
			s("SET k v EX 0 BOGUS", "-ERR syntax error\r\n"),
			s("GET k", null),
		},
		"setex": {
			s("SETEX k 100 v", ok),
			s("TTL k", ":100\r\n"),
			s("PSETEX k 100000 w", ok),
			s("TTL k", ":100\r\n"),
			s("GET k", "$1\r\nw\r\n"),
			s("SETEX k 0 v", "-ERR invalid expire time in 'setex' command\r\n"),
			s("PSETEX k -5 v", "-ERR invalid expire time in 'psetex' command\r\n"),
			s("SETEX k x v", "-ERR value is not an integer or out of range\r\n"),
			s("SETEX k 10", "-ERR wrong number of arguments for 'setex' command\r\n"),
		},
		"expiry kept by append and incr": {
			s("SET k a EX 100", ok),
			s("APPEND k b", ":2\r\n"),
			s("TTL k", ":100\r\n"),
			s("SET n 1 EX 100", ok),
			s("INCR n", ":2\r\n"),
			s("TTL n", ":100\r\n"),
			s("MSET n 5", ok),
			s("TTL n", ":-1\r\n"),
		},
		"setnx and getdel": {
			s("SETNX k v", ":1\r\n"),
			s("SETNX k w", ":0\r\n"),
			s("GETDEL k", "$1\r\nv\r\n"),
			s("GETDEL k", null),
			s("GET k", null),
			s("SETNX k", "-ERR wrong number of arguments for 'setnx' command\r\n"),
		},
		"mget and mset": {
			s("MSET a 1 b 2 c 3", ok),
			s("MGET a b nope c", "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n$1\r\n3\r\n"),
			s("MSET a 1 b", "-ERR wrong number of arguments for 'mset' command\r\n"),
			s("MSET a", "-ERR wrong number of arguments for 'mset' command\r\n"),
			s("MGET", "-ERR wrong number of arguments for 'mget' command\r\n"),
		},
		"strlen and append": {
			s("STRLEN k", ":0\r\n"),
			s("APPEND k abc", ":3\r\n"),
			s("APPEND k de", ":5\r\n"),
			s("GET k", "$5\r\nabcde\r\n"),
			s("STRLEN k", ":5\r\n"),
		},
		"incr and decr": {
			s("INCR n", ":1\r\n"),
			s("INCRBY n 10", ":11\r\n"),
			s("DECR n", ":10\r\n"),
			s("DECRBY n 15", ":-5\r\n"),
			s("GET n", "$2\r\n-5\r\n"),
			s("INCRBY n x", "-ERR value is not an integer or out of range\r\n"),
			s("INCRBY n 1.5", "-ERR value is not an integer or out of range\r\n"),
			s("INCRBY n +1", "-ERR value is not an integer or out of range\r\n"),
			s("SET s abc", ok),
			s("INCR s", "-ERR value is not an integer or out of range\r\n"),
			s("SET s 007", ok),
			s("INCR s", "-ERR value is not an integer or out of range\r\n"),
			s("SET big 9223372036854775807", ok),
			s("INCR big", "-ERR increment or decrement would overflow\r\n"),
			s("SET small -9223372036854775808", ok),
			s("DECR small", "-ERR increment or decrement would overflow\r\n"),
			s("DECRBY n -9223372036854775808", "-ERR decrement would overflow\r\n"),
			s("INCRBY n 9223372036854775808", "-ERR value is not an integer or out of range\r\n"),
			s("GET n", "$2\r\n-5\r\n"),
		},
	})
}

func TestStringLimits(t *testing.T) {
	cfg := Config{MaxKeySize: 8, MaxValueSize: 16}
	long := strings.Repeat("v", 17)
	tooLarge := "-ERR string exceeds maximum allowed size (MAX_VALUE_SIZE is 16 bytes)\r\n"
	keyTooLarge := "-ERR key is too large (MAX_KEY_SIZE is 8 bytes)\r\n"
	runScripts(t, cfg, map[string][]step{
		"value limits": {
			sa(ok, "SET", "k", strings.Repeat("v", 16)),
			s("APPEND k x", tooLarge),
			s("STRLEN k", ":16\r\n"),
			sa("-ERR Protocol error: invalid bulk length\r\n", "SET", "k", long),
		},
		"key limits": {
			s("SET 123456789 v", keyTooLarge),
			s("SETNX 123456789 v", keyTooLarge),
			s("INCR 123456789", keyTooLarge),
			s("MSET a 1 123456789 2", keyTooLarge),
			s("GET a", null),
			s("GET 123456789", null),
			s("DEL 123456789", ":0\r\n"),
		},
		"empty key": {
			sa("-ERR empty keys are not supported\r\n", "SET", "", "v"),
			sa(null, "GET", ""),
			sa(":0\r\n", "DEL", ""),
		},
	})
}

// TestMGETReplyLimit: the values one MGET reads into memory before it
// replies may take no more than a request may. Naming one large value many
// times in a small request made the server allocate without bound.
func TestMGETReplyLimit(t *testing.T) {
	const valueSize = 4 << 20
	ts := startServer(t, Config{MaxValueSize: valueSize})
	rc := ts.raw(t)
	value := strings.Repeat("v", valueSize)
	if got := rc.do("SET", "big", value); got != ok {
		t.Fatalf("SET = %q", got)
	}
	limit := ts.srv.cfg.maxRequest()
	args := []string{"MGET"}
	for range limit/valueSize + 1 {
		args = append(args, "big")
	}
	want := fmt.Sprintf("-ERR MGET reply would pass %d bytes of values; ask for fewer keys at a time\r\n", limit)
	if got := rc.do(args...); got != want {
		t.Fatalf("MGET of %d x %d bytes = %.80q, want %q", len(args)-1, valueSize, got, want)
	}
	bulk := fmt.Sprintf("$%d\r\n%s\r\n", valueSize, value)
	if got := rc.do("MGET", "big", "none", "big"); got != "*3\r\n"+bulk+null+bulk {
		t.Fatalf("MGET under the limit = %.80q", got)
	}
}
