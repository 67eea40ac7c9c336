package server

import (
	"slices"
	"strings"
	"time"
)

// commandSpec describes a command: what the dispatcher checks before
// running it and what COMMAND reports of it, in Redis's terms.
type commandSpec struct {
	name       string   // lower case
	arity      int      // n: exactly n arguments, the name included; -n: at least n
	flags      []string // COMMAND's flags: "write", "readonly", "fast", ...
	firstKey   int      // position of the first key, 0 if none
	lastKey    int      // of the last key; -1: the last argument
	step       int      // between keys
	categories []string // ACL categories, such as "@string"
	index      int      // in commandList; set at start-up
	noAuth     bool     // runs before authentication: flags has "no_auth"; set at start-up
	write      bool     // may write to the store: flags has "write"; set at start-up
	data       bool     // reads or writes keys: flags has "write" or "readonly"; set at start-up
}

// arityOK reports whether n arguments, the name included, fit the arity.
func (c *commandSpec) arityOK(n int) bool {
	if c.arity >= 0 {
		return n == c.arity
	}
	return n >= -c.arity
}

// Flags and categories shared by many commands.
var (
	readFast   = []string{"readonly", "fast"}
	writeFast  = []string{"write", "denyoom", "fast"}
	connFlags  = []string{"noscript", "loading", "stale", "fast", "no_auth", "allow_busy"}
	stringRead = []string{"@read", "@string", "@fast"}
	stringWr   = []string{"@write", "@string", "@fast"}
	keysRead   = []string{"@keyspace", "@read", "@fast"}
	keysWrite  = []string{"@keyspace", "@write", "@fast"}
	connCat    = []string{"@fast", "@connection"}
	adminCat   = []string{"@admin", "@slow", "@dangerous"}
)

// commandList is every command the server knows, with Redis's arity,
// flags and key positions.
var commandList = []*commandSpec{
	{name: "ping", arity: -1, flags: []string{"fast"}, categories: connCat},
	{name: "echo", arity: 2, flags: []string{"fast"}, categories: connCat},
	{name: "get", arity: 2, flags: readFast, firstKey: 1, lastKey: 1, step: 1, categories: stringRead},
	{name: "set", arity: -3, flags: []string{"write", "denyoom"}, firstKey: 1, lastKey: 1, step: 1, categories: []string{"@write", "@string", "@slow"}},
	{name: "setnx", arity: 3, flags: writeFast, firstKey: 1, lastKey: 1, step: 1, categories: stringWr},
	{name: "getdel", arity: 2, flags: []string{"write", "fast"}, firstKey: 1, lastKey: 1, step: 1, categories: stringWr},
	{name: "mget", arity: -2, flags: readFast, firstKey: 1, lastKey: -1, step: 1, categories: stringRead},
	{name: "mset", arity: -3, flags: []string{"write", "denyoom"}, firstKey: 1, lastKey: -1, step: 2, categories: []string{"@write", "@string", "@slow"}},
	{name: "strlen", arity: 2, flags: readFast, firstKey: 1, lastKey: 1, step: 1, categories: stringRead},
	{name: "append", arity: 3, flags: writeFast, firstKey: 1, lastKey: 1, step: 1, categories: stringWr},
	{name: "incr", arity: 2, flags: writeFast, firstKey: 1, lastKey: 1, step: 1, categories: stringWr},
	{name: "decr", arity: 2, flags: writeFast, firstKey: 1, lastKey: 1, step: 1, categories: stringWr},
	{name: "incrby", arity: 3, flags: writeFast, firstKey: 1, lastKey: 1, step: 1, categories: stringWr},
	{name: "decrby", arity: 3, flags: writeFast, firstKey: 1, lastKey: 1, step: 1, categories: stringWr},
	{name: "setex", arity: 4, flags: []string{"write", "denyoom"}, firstKey: 1, lastKey: 1, step: 1, categories: []string{"@write", "@string", "@slow"}},
	{name: "psetex", arity: 4, flags: []string{"write", "denyoom"}, firstKey: 1, lastKey: 1, step: 1, categories: []string{"@write", "@string", "@slow"}},
	{name: "expire", arity: -3, flags: []string{"write", "fast"}, firstKey: 1, lastKey: 1, step: 1, categories: keysWrite},
	{name: "pexpire", arity: -3, flags: []string{"write", "fast"}, firstKey: 1, lastKey: 1, step: 1, categories: keysWrite},
	{name: "expireat", arity: -3, flags: []string{"write", "fast"}, firstKey: 1, lastKey: 1, step: 1, categories: keysWrite},
	{name: "pexpireat", arity: -3, flags: []string{"write", "fast"}, firstKey: 1, lastKey: 1, step: 1, categories: keysWrite},
	{name: "persist", arity: 2, flags: []string{"write", "fast"}, firstKey: 1, lastKey: 1, step: 1, categories: keysWrite},
	{name: "ttl", arity: 2, flags: readFast, firstKey: 1, lastKey: 1, step: 1, categories: keysRead},
	{name: "pttl", arity: 2, flags: readFast, firstKey: 1, lastKey: 1, step: 1, categories: keysRead},
	{name: "expiretime", arity: 2, flags: readFast, firstKey: 1, lastKey: 1, step: 1, categories: keysRead},
	{name: "pexpiretime", arity: 2, flags: readFast, firstKey: 1, lastKey: 1, step: 1, categories: keysRead},
	{name: "del", arity: -2, flags: []string{"write"}, firstKey: 1, lastKey: -1, step: 1, categories: []string{"@keyspace", "@write", "@slow"}},
	{name: "unlink", arity: -2, flags: []string{"write", "fast"}, firstKey: 1, lastKey: -1, step: 1, categories: keysWrite},
	{name: "exists", arity: -2, flags: readFast, firstKey: 1, lastKey: -1, step: 1, categories: keysRead},
	{name: "type", arity: 2, flags: readFast, firstKey: 1, lastKey: 1, step: 1, categories: keysRead},
	{name: "keys", arity: 2, flags: []string{"readonly"}, categories: []string{"@keyspace", "@read", "@slow", "@dangerous"}},
	{name: "scan", arity: -2, flags: []string{"readonly"}, categories: []string{"@keyspace", "@read", "@slow"}},
	{name: "dbsize", arity: 1, flags: readFast, categories: keysRead},
	{name: "flushdb", arity: -1, flags: []string{"write"}, categories: []string{"@keyspace", "@write", "@slow", "@dangerous"}},
	{name: "flushall", arity: -1, flags: []string{"write"}, categories: []string{"@keyspace", "@write", "@slow", "@dangerous"}},
	{name: "select", arity: 2, flags: []string{"loading", "stale", "fast"}, categories: connCat},
	{name: "hello", arity: -1, flags: connFlags, categories: connCat},
	{name: "auth", arity: -2, flags: connFlags, categories: connCat},
	{name: "quit", arity: -1, flags: connFlags, categories: connCat},
	{name: "client", arity: -2, flags: []string{"loading", "stale"}, categories: []string{"@slow", "@connection"}},
	{name: "command", arity: -1, flags: []string{"loading", "stale"}, categories: []string{"@slow", "@connection"}},
	{name: "config", arity: -2, flags: []string{"admin", "noscript", "loading", "stale"}, categories: adminCat},
	{name: "info", arity: -1, flags: []string{"loading", "stale"}, categories: []string{"@slow", "@dangerous"}},
	{name: "save", arity: 1, flags: []string{"admin", "noscript"}, categories: adminCat},
	{name: "bgsave", arity: -1, flags: []string{"admin", "noscript"}, categories: adminCat},
	{name: "bgrewriteaof", arity: 1, flags: []string{"admin", "noscript"}, categories: adminCat},
	{name: "backup", arity: 2, flags: []string{"admin", "noscript"}, categories: adminCat},
	{name: "raft", arity: -2, flags: []string{"admin", "noscript", "loading", "stale"}, categories: adminCat},
	{name: "role", arity: 1, flags: []string{"noscript", "loading", "stale", "fast"}, categories: []string{"@admin", "@fast", "@dangerous"}},
	{name: "readonly", arity: 1, flags: []string{"loading", "stale", "fast"}, categories: connCat},
	{name: "readwrite", arity: 1, flags: []string{"loading", "stale", "fast"}, categories: connCat},
}

// commands maps each name of commandList to its spec.
var commands = func() map[string]*commandSpec {
	m := make(map[string]*commandSpec, len(commandList))
	for i, c := range commandList {
		c.index = i
		c.noAuth = slices.Contains(c.flags, "no_auth")
		c.write = slices.Contains(c.flags, "write")
		c.data = c.write || slices.Contains(c.flags, "readonly")
		m[c.name] = c
	}
	return m
}()

// lookup returns the spec of the command named name, in any case, or nil.
func (c *conn) lookup(name []byte) *commandSpec {
	if len(name) > len(c.nameBuf) {
		return nil
	}
	lower := c.nameBuf[:len(name)]
	for i, b := range name {
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		lower[i] = b
	}
	return commands[string(lower)]
}

// dispatch runs one request: it checks the command, its arity and the
// client's authentication, runs it and counts it.
func (s *Server) dispatch(c *conn, args [][]byte) {
	s.stats.commands.Add(1)
	spec := c.lookup(args[0])
	if spec == nil {
		if name := strings.ToLower(string(args[0])); name == "post" || name == "host:" {
			s.warned.log(s.log, "http", "Possible SECURITY ATTACK detected: a client sent an HTTP request (POST or Host:), which a cross-protocol attack does; connection closed", "remote", c.addr)
			c.quit = true
			return
		}
		c.out.error(unknownCommand(args))
		return
	}
	st := &s.stats.perCommand[spec.index]
	if !c.authed && !spec.noAuth {
		st.rejected.Add(1)
		c.out.error("NOAUTH Authentication required.")
		return
	}
	if !spec.arityOK(len(args)) {
		st.rejected.Add(1)
		c.out.error(wrongArgs(spec.name))
		return
	}
	if s.cfg.Cluster != nil {
		if spec.name == "set" && len(args) == 3 && s.setAsync(c, args) {
			st.calls.Add(1)
			return
		}
		c.resolvePending()
	}
	if s.cfg.Cluster != nil && spec.data && !s.routeHere(c, spec, args) {
		st.calls.Add(1)
		return
	}
	start := monoNow()
	errs := c.out.errors
	c.unsynced = c.unsynced || spec.write
	mark, sent := len(c.out.buf), c.out.sent
	s.run(c, spec, args)
	if c.verifying != nil {
		s.finishWrite(c, mark, sent)
	}
	took := monoNow() - start
	failed := c.out.errors != errs
	st.calls.Add(1)
	st.usec.Add(took.Microseconds())
	if failed {
		st.failed.Add(1)
	}
	if s.metrics != nil {
		s.metrics.observe(spec.index, took)
	}
	c.lastAt = start
}

// monoEpoch is the origin of monoNow.
var monoEpoch = time.Now()

// monoNow reads the monotonic clock only, which costs about half of
// time.Now's two clock readings: dispatch times every command.
func monoNow() time.Duration { return time.Since(monoEpoch) }

// run runs a command whose arity has been checked.
func (s *Server) run(c *conn, spec *commandSpec, args [][]byte) {
	switch spec.name {
	case "ping":
		s.ping(c, args)
	case "echo":
		c.out.bulk(args[1])
	case "get":
		s.get(c, args)
	case "set":
		s.set(c, args)
	case "setnx":
		s.setnx(c, args)
	case "getdel":
		s.getdel(c, args)
	case "mget":
		s.mget(c, args)
	case "mset":
		s.mset(c, args)
	case "strlen":
		s.strlen(c, args)
	case "append":
		s.append(c, args)
	case "incr":
		s.incrBy(c, args[1], 1)
	case "decr":
		s.incrBy(c, args[1], -1)
	case "incrby", "decrby":
		s.incrByArg(c, spec.name, args)
	case "setex", "psetex":
		s.setex(c, spec.name, args)
	case "expire", "pexpire", "expireat", "pexpireat":
		s.expire(c, spec.name, args)
	case "persist":
		s.persist(c, args)
	case "ttl", "pttl", "expiretime", "pexpiretime":
		s.ttl(c, spec.name, args)
	case "del", "unlink":
		s.del(c, args)
	case "exists":
		s.exists(c, args)
	case "type":
		s.typ(c, args)
	case "keys":
		s.keysCmd(c, args)
	case "scan":
		s.scan(c, args)
	case "dbsize":
		c.out.int(int64(s.db.Len()))
	case "flushdb", "flushall":
		s.flush(c, args)
	case "select":
		s.selectDB(c, args)
	case "hello":
		s.hello(c, args)
	case "auth":
		s.auth(c, args)
	case "quit":
		c.out.ok()
		c.quit = true
	case "client":
		s.client(c, args)
	case "command":
		s.command(c, args)
	case "config":
		s.config(c, args)
	case "info":
		s.info(c, args)
	case "save":
		s.save(c)
	case "bgsave":
		s.bgsave(c, args)
	case "bgrewriteaof":
		s.bgrewriteaof(c)
	case "backup":
		s.backup(c, args)
	case "raft":
		s.raftCmd(c, args)
	case "role":
		s.role(c)
	case "readonly":
		c.readonly = true
		c.out.ok()
	case "readwrite":
		c.readonly = false
		c.out.ok()
	default:
		panic("server: command " + spec.name + " is in commandList but not in run")
	}
}

// unknownCommand is Redis's error for a command it does not know: the
// name and the first arguments, 128 bytes of them at most.
func unknownCommand(args [][]byte) string {
	var list []byte
	for _, a := range args[1:] {
		if len(list) >= 128 {
			break
		}
		list = append(list, '\'')
		list = append(list, truncate(a, 128-len(list)+1)...)
		list = append(list, '\'', ' ')
	}
	return "ERR unknown command '" + string(truncate(args[0], 128)) + "', with args beginning with: " + string(list)
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// wrongArgs is Redis's error for a wrong number of arguments; name is the
// lower-case command, or "command|subcommand".
func wrongArgs(name string) string {
	return "ERR wrong number of arguments for '" + name + "' command"
}

// unknownSubcommand is Redis's error for a subcommand it does not know.
func unknownSubcommand(sub []byte, cmd string) string {
	return "ERR unknown subcommand '" + string(truncate(sub, 128)) + "'. Try " + strings.ToUpper(cmd) + " HELP."
}

// Errors shared by several commands, in Redis's words.
const (
	errSyntax       = "ERR syntax error"
	errNotInteger   = "ERR value is not an integer or out of range"
	errOverflow     = "ERR increment or decrement would overflow"
	errShuttingDown = "ERR server is shutting down"
)
