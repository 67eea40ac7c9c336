package server

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	aetherkv "github.com/aether-kv/aether-kv"
)

// COMMAND [COUNT | DOCS [name ...] | INFO [name ...] | LIST | HELP]
func (s *Server) command(c *conn, args [][]byte) {
	if len(args) == 1 {
		c.out.array(len(commandList))
		for _, spec := range commandList {
			writeCommandInfo(c, spec)
		}
		return
	}
	switch sub := strings.ToLower(string(args[1])); sub {
	case "count":
		if len(args) != 2 {
			c.out.error(wrongArgs("command|count"))
			return
		}
		c.out.int(int64(len(commandList)))
	case "info":
		if len(args) == 2 {
			s.command(c, args[:1])
			return
		}
		c.out.array(len(args) - 2)
		for _, name := range args[2:] {
			if spec := c.lookup(name); spec != nil {
				writeCommandInfo(c, spec)
			} else {
				c.out.null()
			}
		}
	case "docs":
		// No documentation: clients such as redis-cli then use their own.
		c.out.mapLen(0)
	case "list":
		c.out.array(len(commandList))
		for _, spec := range commandList {
			c.out.bulkString(spec.name)
		}
	case "help":
		writeHelp(c, "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"(no subcommand)", "    Return details about all commands.",
			"COUNT", "    Return the total number of commands.",
			"DOCS [<command-name> ...]", "    Return documentation details about multiple commands (none here).",
			"INFO [<command-name> ...]", "    Return details about multiple commands.",
			"LIST", "    Return a list of all commands.")
	default:
		c.out.error(unknownSubcommand(args[1], "command"))
	}
}

// writeCommandInfo writes the COMMAND INFO entry of spec, in Redis 7's
// form: name, arity, flags, first key, last key, step, ACL categories,
// tips, key specifications and subcommands.
func writeCommandInfo(c *conn, spec *commandSpec) {
	c.out.array(10)
	c.out.bulkString(spec.name)
	c.out.int(int64(spec.arity))
	c.out.setLen(len(spec.flags))
	for _, f := range spec.flags {
		c.out.status(f)
	}
	c.out.int(int64(spec.firstKey))
	c.out.int(int64(spec.lastKey))
	c.out.int(int64(spec.step))
	c.out.setLen(len(spec.categories))
	for _, cat := range spec.categories {
		c.out.status(cat)
	}
	c.out.array(0) // tips
	c.out.array(0) // key specifications
	c.out.array(0) // subcommands
}

// configParams returns the parameters CONFIG GET reports, in order: what
// redis-benchmark and other tools ask for, mapped onto this server.
func (s *Server) configParams() [][2]string {
	fsync := map[aetherkv.SyncMode]string{
		aetherkv.SyncModeInterval: "everysec",
		aetherkv.SyncModeAlways:   "always",
		aetherkv.SyncModeNever:    "no",
	}[s.cfg.SyncMode]
	host, port := "", "0"
	if a := s.Addr(); a != nil {
		host, port, _ = net.SplitHostPort(a.String())
	}
	return [][2]string{
		{"save", ""},
		{"appendonly", "yes"},
		{"appendfsync", fsync},
		{"databases", "1"},
		{"maxclients", strconv.Itoa(s.cfg.MaxClients)},
		{"timeout", strconv.FormatInt(int64(s.cfg.IdleTimeout/time.Second), 10)},
		{"bind", host},
		{"port", port},
		{"protected-mode", "yes"},
		{"proto-max-bulk-len", strconv.Itoa(max(s.cfg.MaxKeySize, s.cfg.MaxValueSize))},
		{"client-query-buffer-limit", strconv.FormatInt(s.cfg.maxRequest(), 10)},
		{"maxmemory", "0"},
		{"maxmemory-policy", "noeviction"},
	}
}

// CONFIG GET parameter [parameter ...] | HELP. The parameters are glob
// patterns; the reply has each matching parameter once.
func (s *Server) config(c *conn, args [][]byte) {
	switch sub := strings.ToLower(string(args[1])); sub {
	case "get":
		if len(args) < 3 {
			c.out.error(wrongArgs("config|get"))
			return
		}
		var found [][2]string
		for _, p := range s.configParams() {
			for _, pattern := range args[2:] {
				if globMatch([]byte(strings.ToLower(string(pattern))), []byte(p[0])) {
					found = append(found, p)
					break
				}
			}
		}
		c.out.mapLen(len(found))
		for _, p := range found {
			c.out.bulkString(p[0])
			c.out.bulkString(p[1])
		}
	case "set", "rewrite", "resetstat":
		c.out.error("ERR CONFIG " + strings.ToUpper(sub) + " is not supported: change the configuration file or environment and restart")
	case "help":
		writeHelp(c, "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.")
	default:
		c.out.error(unknownSubcommand(args[1], "config"))
	}
}

// SAVE: flush and fsync every write acknowledged so far.
func (s *Server) save(c *conn) {
	if err := s.db.Sync(); err != nil {
		s.storeError(c, err)
		return
	}
	c.out.ok()
}

// BGSAVE [SCHEDULE]: as SAVE, which is quick here, replying as Redis's
// BGSAVE does once the sync is done.
func (s *Server) bgsave(c *conn, args [][]byte) {
	if len(args) > 2 || (len(args) == 2 && !strings.EqualFold(string(args[1]), "schedule")) {
		c.out.error(errSyntax)
		return
	}
	if err := s.db.Sync(); err != nil {
		s.storeError(c, err)
		return
	}
	c.out.status("Background saving started")
}

// BGREWRITEAOF: merge the data files in the background, the compaction a
// Redis user knows as rewriting the append-only file.
func (s *Server) bgrewriteaof(c *conn) {
	if s.db.Stats().MergeRunning || !s.rewriting.CompareAndSwap(false, true) {
		c.out.error("ERR Background append only file rewriting already in progress")
		return
	}
	s.goBackground(func() {
		defer s.rewriting.Store(false)
		start := time.Now()
		err := s.db.Merge()
		s.stats.setRewriteResult(err)
		if err != nil {
			s.log.Error("BGREWRITEAOF: merge failed", "err", err)
			return
		}
		s.log.Info("BGREWRITEAOF: merge done", "took", time.Since(start).Round(time.Millisecond))
	})
	c.out.status("Background append only file rewriting started")
}

// BACKUP dest: Aether's own command (Redis has none): a consistent copy of
// the store, taken while it serves, into dest, a directory that must not
// exist or be empty (the server's user needs the right to create it). It
// replies once the copy is complete. An admin command: with PASSWORD set,
// only an authenticated client may send it.
func (s *Server) backup(c *conn, args [][]byte) {
	st, err := s.db.Backup(string(args[1]))
	if err != nil {
		s.storeError(c, fmt.Errorf("backup: %w", err))
		return
	}
	c.out.status(fmt.Sprintf("Backup of %d files, %d bytes, written to %s", st.Files, st.Bytes, args[1]))
}
