package server

import (
	"strings"
	"testing"
	"time"
)

func TestConnectionCommands(t *testing.T) {
	hello2 := "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:1\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
	hello3 := "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:1\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
	runScripts(t, Config{}, map[string][]step{
		"ping and echo": {
			s("PING", "+PONG\r\n"),
			s("ping hello", "$5\r\nhello\r\n"),
			s("PING a b", "-ERR wrong number of arguments for 'ping' command\r\n"),
			s("ECHO hi", "$2\r\nhi\r\n"),
			s("ECHO", "-ERR wrong number of arguments for 'echo' command\r\n"),
		},
		"select": {
			s("SELECT 0", ok),
			s("SELECT 1", "-ERR DB index is out of range\r\n"),
			s("SELECT -1", "-ERR DB index is out of range\r\n"),
			s("SELECT x", "-ERR value is not an integer or out of range\r\n"),
		},
		"unknown command": {
			s("FOO", "-ERR unknown command 'FOO', with args beginning with: \r\n"),
			s("foo a b", "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"),
			sa("-ERR unknown command 'x', with args beginning with: '"+strings.Repeat("a", 128)+"' \r\n", "x", strings.Repeat("a", 200), "b"),
			sa("-ERR unknown command 'a  b', with args beginning with: 'c d' \r\n", "a\r\nb", "c\nd"),
			s("PING", "+PONG\r\n"),
		},
		"hello": {
			s("HELLO", hello2),
			s("HELLO 3", hello3),
			s("GET missing", "_\r\n"),
			s("HELLO 2", hello2),
			s("GET missing", null),
			s("HELLO 4", "-NOPROTO unsupported protocol version\r\n"),
			s("HELLO 1", "-NOPROTO unsupported protocol version\r\n"),
			s("HELLO x", "-ERR Protocol version is not an integer or out of range\r\n"),
			s("HELLO 3 BOGUS", "-ERR Syntax error in HELLO option 'BOGUS'\r\n"),
			s("HELLO 3 AUTH default", "-ERR Syntax error in HELLO option 'AUTH'\r\n"),
			s("HELLO 2 AUTH default anything SETNAME me", hello2),
			s("CLIENT GETNAME", "$2\r\nme\r\n"),
			s("HELLO 2 AUTH bob x", "-WRONGPASS invalid username-password pair or user is disabled.\r\n"),
		},
		"auth without a password": {
			s("AUTH secret", "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"),
			s("AUTH default anything", ok),
			s("AUTH bob anything", "-WRONGPASS invalid username-password pair or user is disabled.\r\n"),
			s("AUTH a b c", "-ERR syntax error\r\n"),
			s("AUTH", "-ERR wrong number of arguments for 'auth' command\r\n"),
		},
		"client": {
			s("CLIENT ID", ":1\r\n"),
			s("CLIENT GETNAME", null),
			s("CLIENT SETNAME app", ok),
			s("CLIENT GETNAME", "$3\r\napp\r\n"),
			sa("-ERR Client names cannot contain spaces, newlines or special characters.\r\n", "CLIENT", "SETNAME", "a b"),
			s("CLIENT SETINFO LIB-NAME go-redis(,go1.26)", ok),
			s("CLIENT SETINFO lib-ver 9.23.0", ok),
			sa("-ERR lib-name cannot contain spaces, newlines or special characters.\r\n", "CLIENT", "SETINFO", "LIB-NAME", "a\nb"),
			s("CLIENT SETINFO COLOR red", "-ERR Unrecognized option 'COLOR'\r\n"),
			s("CLIENT SETNAME", "-ERR wrong number of arguments for 'client|setname' command\r\n"),
			s("CLIENT MAINT_NOTIFICATIONS on", "-ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP.\r\n"),
			s("CLIENT TRACKING on", "-ERR unknown subcommand 'TRACKING'. Try CLIENT HELP.\r\n"),
			s("CLIENT", "-ERR wrong number of arguments for 'client' command\r\n"),
		},
	})
}

func TestClientInfo(t *testing.T) {
	ts := startServer(t, Config{})
	rc := ts.raw(t)
	rc.do("CLIENT", "SETNAME", "app")
	rc.do("CLIENT", "SETINFO", "LIB-NAME", "mylib")
	got := rc.do("CLIENT", "INFO")
	for _, want := range []string{"id=1 ", "addr=" + rc.nc.LocalAddr().String() + " ", "laddr=" + ts.addr + " ", "name=app ", "db=0 ", "resp=2 ", "lib-name=mylib ", "cmd=client|info "} {
		if !strings.Contains(got, want) {
			t.Errorf("CLIENT INFO = %q, want it to contain %q", got, want)
		}
	}
	if !strings.HasPrefix(got, "$") || !strings.HasSuffix(got, "\n\r\n") {
		t.Errorf("CLIENT INFO = %q, want a bulk string ending in a newline", got)
	}
	rc.do("HELLO", "3")
	if got := rc.do("CLIENT", "INFO"); !strings.HasPrefix(got, "=") || !strings.Contains(got, "txt:id=1 ") {
		t.Errorf("CLIENT INFO in RESP3 = %q, want a verbatim string", got)
	}
}

func TestQuit(t *testing.T) {
	ts := startServer(t, Config{})
	rc := ts.raw(t)
	rc.send(append(encode("QUIT"), encode("PING")...))
	if got, err := rc.read(); got != ok || err != nil {
		t.Fatalf("QUIT = %q, %v; want %q", got, err, ok)
	}
	if !rc.closed(5 * time.Second) {
		t.Errorf("connection still open after QUIT")
	}
}

func TestInlineCommands(t *testing.T) {
	ts := startServer(t, Config{})
	rc := ts.raw(t)
	rc.send([]byte("PING\r\n\r\nSET k \"a b\"\nGET k\r\n   \r\nECHO 'x y'\r\n"))
	for _, want := range []string{"+PONG\r\n", ok, "$3\r\na b\r\n", "$3\r\nx y\r\n"} {
		if got, err := rc.read(); got != want || err != nil {
			t.Errorf("inline reply = %q, %v; want %q", got, err, want)
		}
	}
	rc.send([]byte("SET k \"unbalanced\r\n"))
	if got, _ := rc.read(); got != "-ERR Protocol error: unbalanced quotes in request\r\n" {
		t.Errorf("unbalanced quotes = %q, want a protocol error", got)
	}
	if !rc.closed(5 * time.Second) {
		t.Errorf("connection still open after a protocol error")
	}
}
