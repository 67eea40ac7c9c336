package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"strconv"
	"strings"
	"time"
)

// Version is the Redis version the server reports in HELLO and INFO:
// client libraries read it to decide what they may send, and the commands
// behave as Redis 7.0's do.
const Version = "7.0.0"

// PING [message]
func (s *Server) ping(c *conn, args [][]byte) {
	switch len(args) {
	case 1:
		c.out.status("PONG")
	case 2:
		c.out.bulk(args[1])
	default:
		c.out.error(wrongArgs("ping"))
	}
}

// SELECT index: only database 0 exists.
func (s *Server) selectDB(c *conn, args [][]byte) {
	n, ok := parseInt(args[1])
	switch {
	case !ok:
		c.out.error(errNotInteger)
	case n != 0:
		c.out.error("ERR DB index is out of range")
	default:
		c.out.ok()
	}
}

// AUTH [username] password
func (s *Server) auth(c *conn, args [][]byte) {
	if len(args) > 3 {
		c.out.error(errSyntax)
		return
	}
	user, pass := []byte(nil), args[len(args)-1]
	if len(args) == 3 {
		user = args[1]
	} else if s.cfg.Password == "" {
		c.out.error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
		return
	}
	if s.checkAuth(c, user, pass) {
		c.out.ok()
	}
}

// checkAuth authenticates the client as user ("default" when nil) with
// pass, or writes WRONGPASS. The only user is "default"; with no password
// set it accepts any password, as Redis's default user does.
func (s *Server) checkAuth(c *conn, user, pass []byte) bool {
	// Compare digests, so that the time taken tells nothing of the
	// password, not even its length.
	want := sha256.Sum256([]byte(s.cfg.Password))
	got := sha256.Sum256(pass)
	passOK := s.cfg.Password == "" || subtle.ConstantTimeCompare(want[:], got[:]) == 1
	if (user == nil || string(user) == "default") && passOK {
		c.authenticated()
		return true
	}
	s.warned.log(s.log, "auth", "authentication failed", "remote", c.addr)
	c.out.error("WRONGPASS invalid username-password pair or user is disabled.")
	return false
}

// HELLO [protover [AUTH username password] [SETNAME clientname]]
func (s *Server) hello(c *conn, args [][]byte) {
	proto := int64(2)
	if c.out.resp3 {
		proto = 3
	}
	j := 1
	if len(args) > 1 {
		v, ok := parseInt(args[1])
		if !ok {
			c.out.error("ERR Protocol version is not an integer or out of range")
			return
		}
		if v < 2 || v > 3 {
			c.out.error("NOPROTO unsupported protocol version")
			return
		}
		proto, j = v, 2
	}
	var user, pass, name []byte
	var auth, setname bool
	for ; j < len(args); j++ {
		more := len(args) - j - 1
		switch opt := strings.ToLower(string(args[j])); {
		case opt == "auth" && more >= 2:
			user, pass, auth = args[j+1], args[j+2], true
			j += 2
		case opt == "setname" && more >= 1:
			name, setname = args[j+1], true
			j++
		default:
			c.out.error("ERR Syntax error in HELLO option '" + string(truncate(args[j], 128)) + "'")
			return
		}
	}
	if auth && !s.checkAuth(c, user, pass) {
		return
	}
	if !c.authed {
		c.out.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	if setname {
		if !validName(name) {
			c.out.error("ERR Client names cannot contain spaces, newlines or special characters.")
			return
		}
		c.name = string(name)
	}
	c.out.resp3 = proto == 3
	c.out.mapLen(7)
	c.out.bulkString("server")
	c.out.bulkString("redis")
	c.out.bulkString("version")
	c.out.bulkString(Version)
	c.out.bulkString("proto")
	c.out.int(proto)
	c.out.bulkString("id")
	c.out.int(c.id)
	c.out.bulkString("mode")
	c.out.bulkString("standalone")
	c.out.bulkString("role")
	c.out.bulkString("master")
	c.out.bulkString("modules")
	c.out.array(0)
}

// validName reports whether a client name or library attribute is made
// of printable characters other than space only, as Redis requires.
func validName(b []byte) bool {
	for _, c := range b {
		if c < '!' || c > '~' {
			return false
		}
	}
	return true
}

// clientArity is the arity of each CLIENT subcommand, the words CLIENT
// and the subcommand included.
var clientArity = map[string]int{"id": 2, "setname": 3, "getname": 2, "setinfo": 4, "info": 2, "help": 2}

// CLIENT ID | SETNAME name | GETNAME | SETINFO attr value | INFO | HELP
func (s *Server) client(c *conn, args [][]byte) {
	sub := strings.ToLower(string(args[1]))
	arity := clientArity[sub]
	if arity == 0 {
		c.out.error(unknownSubcommand(args[1], "client"))
		return
	}
	if len(args) != arity {
		c.out.error(wrongArgs("client|" + sub))
		return
	}
	switch sub {
	case "id":
		c.out.int(c.id)
	case "setname":
		if !validName(args[2]) {
			c.out.error("ERR Client names cannot contain spaces, newlines or special characters.")
			return
		}
		c.name = string(args[2])
		c.out.ok()
	case "getname":
		if c.name == "" {
			c.out.null()
			return
		}
		c.out.bulkString(c.name)
	case "setinfo":
		s.clientSetinfo(c, args)
	case "info":
		c.out.verbatim(c.info(time.Now()))
	case "help":
		writeHelp(c, "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"GETNAME", "    Return the name of the current connection.",
			"ID", "    Return the ID of the current connection.",
			"INFO", "    Return information about the current client connection.",
			"SETINFO <option> <value>", "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
			"SETNAME <name>", "    Assign the name <name> to the current connection.")
	}
}

// CLIENT SETINFO LIB-NAME name | LIB-VER version
func (s *Server) clientSetinfo(c *conn, args [][]byte) {
	attr := strings.ToLower(string(args[2]))
	if attr != "lib-name" && attr != "lib-ver" {
		c.out.error("ERR Unrecognized option '" + string(truncate(args[2], 128)) + "'")
		return
	}
	if !validName(args[3]) {
		c.out.error("ERR " + attr + " cannot contain spaces, newlines or special characters.")
		return
	}
	if attr == "lib-name" {
		c.libName = string(args[3])
	} else {
		c.libVer = string(args[3])
	}
	c.out.ok()
}

// info returns the line CLIENT INFO shows of c, in Redis's format, with
// zeros for what has no meaning here.
func (c *conn) info(now time.Time) string {
	proto := 2
	if c.out.resp3 {
		proto = 3
	}
	var b strings.Builder
	field := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k + "=" + v)
	}
	field("id", strconv.FormatInt(c.id, 10))
	field("addr", c.addr)
	field("laddr", c.laddr)
	field("fd", "-1")
	field("name", c.name)
	field("age", strconv.FormatInt(int64(now.Sub(c.created)/time.Second), 10))
	field("idle", strconv.FormatInt(int64((monoNow()-c.lastAt)/time.Second), 10))
	field("flags", "N")
	field("db", "0")
	field("sub", "0")
	field("psub", "0")
	field("ssub", "0")
	field("multi", "-1")
	field("qbuf", strconv.Itoa(c.rd.br.Buffered()))
	field("qbuf-free", strconv.Itoa(c.rd.br.Size()-c.rd.br.Buffered()))
	field("obl", strconv.Itoa(len(c.out.buf)))
	field("oll", "0")
	field("omem", "0")
	field("events", "r")
	field("cmd", "client|info")
	field("user", "default")
	field("redir", "-1")
	field("resp", strconv.Itoa(proto))
	field("lib-name", c.libName)
	field("lib-ver", c.libVer)
	b.WriteByte('\n')
	return b.String()
}

// writeHelp writes the reply of a HELP subcommand: its lines as simple
// strings, then HELP's own.
func writeHelp(c *conn, lines ...string) {
	c.out.array(len(lines) + 2)
	for _, l := range lines {
		c.out.status(l)
	}
	c.out.status("HELP")
	c.out.status("    Print this help.")
}
