package cli

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	aetherkv "github.com/aether-kv/aether-kv"
)

// A command is one entry of the shell's command table.
type command struct {
	name  string // upper case, as matched after strings.ToUpper
	usage string // the full usage line, e.g. "PUT <key> <value>"
	help  string // one-line description for HELP
	nargs int    // number of arguments after the name, or the least if maxArgs is set
	// maxArgs, if not 0, is the most arguments (-1: no limit); beyond
	// nargs they come in groups of step (0 means 1).
	maxArgs, step int
	// run executes the command with an accepted number of arguments,
	// writes its reply and reports whether the shell should exit.
	run func(s *Shell, args []string) (exit bool)
}

// newCommands returns the shell's command table, in the order HELP lists it.
func newCommands() []command {
	return []command{
		{name: "PUT", usage: "PUT <key> <value> [EX <seconds>]", help: "store value under key (for a time, with EX)", nargs: 2, maxArgs: 4, step: 2, run: (*Shell).put},
		{name: "GET", usage: "GET <key>", help: "print the value of key", nargs: 1, run: (*Shell).get},
		{name: "DELETE", usage: "DELETE <key>", help: "delete key", nargs: 1, run: (*Shell).delete},
		{name: "TTL", usage: "TTL <key>", help: "seconds left before key expires; -1 if it does not, -2 if it does not exist", nargs: 1, run: (*Shell).ttl},
		{name: "MPUT", usage: "MPUT <key> <value> [<key> <value> ...]", help: "store several pairs atomically: all or none", nargs: 2, maxArgs: -1, step: 2, run: (*Shell).mput},
		{name: "KEYS", usage: "KEYS [<prefix>*]", help: "list the keys (with a prefix) on one line", nargs: 0, maxArgs: 1, run: (*Shell).keys},
		{name: "SCAN", usage: "SCAN <cursor> [COUNT <n>]", help: "list keys in pieces: prints the next cursor (0 at the end), then keys", nargs: 1, maxArgs: 3, step: 2, run: (*Shell).scan},
		{name: "MERGE", usage: "MERGE", help: "compact the data files now", nargs: 0, run: (*Shell).merge},
		{name: "STATS", usage: "STATS", help: "print keys, bytes, files and merges on one line", nargs: 0, run: (*Shell).stats},
		{name: "HELP", usage: "HELP", help: "list the commands", nargs: 0, run: (*Shell).help},
		{name: "EXIT", usage: "EXIT", help: "leave the shell", nargs: 0, run: (*Shell).exit},
		{name: "QUIT", usage: "QUIT", help: "leave the shell", nargs: 0, run: (*Shell).exit},
	}
}

// lookup returns the command called name, in any case.
func (s *Shell) lookup(name string) (command, bool) {
	name = strings.ToUpper(name)
	for _, c := range s.commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// accepts reports whether the command takes n arguments.
func (c command) accepts(n int) bool {
	if c.maxArgs == 0 {
		return n == c.nargs
	}
	return n >= c.nargs && (c.maxArgs < 0 || n <= c.maxArgs) && (n-c.nargs)%max(c.step, 1) == 0
}

// dispatch runs the command that args name, or reports why it cannot.
func (s *Shell) dispatch(args []string) (exit bool) {
	c, ok := s.lookup(args[0])
	if !ok {
		s.reply("Error: unknown command " + Quote(args[0]) + "; type HELP for the list")
		return false
	}
	if !c.accepts(len(args) - 1) {
		s.reply(fmt.Sprintf("Error: wrong number of arguments for %s; usage: %s", c.name, c.usage))
		return false
	}
	return c.run(s, args[1:])
}

func (s *Shell) put(args []string) bool {
	var err error
	if len(args) == 4 {
		var secs float64
		if !strings.EqualFold(args[2], "EX") {
			err = fmt.Errorf("want EX, not %q", args[2])
		} else if secs, err = strconv.ParseFloat(args[3], 64); err == nil && !(secs > 0 && secs*float64(time.Second) < math.MaxInt64) {
			err = fmt.Errorf("EX wants a positive number of seconds below %d", int64(math.MaxInt64/time.Second))
		}
		if err != nil {
			s.reply("Error: usage: PUT <key> <value> [EX <seconds>]: " + oneLine(err.Error()))
			return false
		}
		err = s.store.PutWithTTL([]byte(args[0]), []byte(args[1]), time.Duration(secs*float64(time.Second)))
	} else {
		err = s.store.Put([]byte(args[0]), []byte(args[1]))
	}
	if err != nil {
		s.replyError(err)
		return false
	}
	s.reply("OK")
	return false
}

// ttl prints what Redis's TTL replies: whole seconds left, rounded up;
// -1 for a key without a deadline; -2 for a missing key.
func (s *Shell) ttl(args []string) bool {
	deadline, err := s.store.ExpiresAt([]byte(args[0]))
	switch {
	case errors.Is(err, aetherkv.ErrNotFound):
		s.reply("-2")
	case err != nil:
		s.replyError(err)
	case deadline.IsZero():
		s.reply("-1")
	default:
		s.reply(strconv.FormatInt(int64(math.Ceil(time.Until(deadline).Seconds())), 10))
	}
	return false
}

func (s *Shell) get(args []string) bool {
	v, err := s.store.Get([]byte(args[0]))
	if err != nil {
		s.replyError(err)
		return false
	}
	s.reply(formatValue(v))
	return false
}

func (s *Shell) delete(args []string) bool {
	if err := s.store.Delete([]byte(args[0])); err != nil {
		s.replyError(err)
		return false
	}
	s.reply("OK")
	return false
}

func (s *Shell) mput(args []string) bool {
	b := s.store.NewBatch()
	for i := 0; i < len(args); i += 2 {
		b.Put([]byte(args[i]), []byte(args[i+1]))
	}
	if err := s.store.Write(b); err != nil {
		s.replyError(err)
		return false
	}
	s.reply("OK")
	return false
}

// keys prints every key, or every key with a prefix ("user:*"), sorted and
// quoted where needed, on one line: the reply splits back into the keys.
func (s *Shell) keys(args []string) bool {
	var prefix []byte
	if len(args) == 1 {
		p, ok := strings.CutSuffix(args[0], "*")
		if !ok || strings.ContainsAny(p, "*?[") {
			s.reply("Error: KEYS takes a prefix ending in *, such as user:*")
			return false
		}
		prefix = []byte(p)
	}
	var keys []string
	for key, err := range s.store.Keys(prefix) {
		if err != nil {
			s.replyError(err)
			return false
		}
		keys = append(keys, string(key))
	}
	slices.Sort(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = formatKey([]byte(k))
	}
	s.reply(keyList(out))
	return false
}

// scan prints the next cursor, then the keys of one step of a scan.
func (s *Shell) scan(args []string) bool {
	cursor, err := strconv.ParseUint(args[0], 10, 64)
	count := 10
	if err == nil && len(args) == 3 {
		if !strings.EqualFold(args[1], "COUNT") {
			err = fmt.Errorf("want COUNT, not %q", args[1])
		} else if count, err = strconv.Atoi(args[2]); err == nil && count < 1 {
			err = fmt.Errorf("COUNT must be positive")
		}
	}
	if err != nil {
		s.reply("Error: usage: SCAN <cursor> [COUNT <n>]: " + oneLine(err.Error()))
		return false
	}
	keys, next, err := s.store.Scan(cursor, count, nil)
	if err != nil {
		s.replyError(err)
		return false
	}
	out := []string{strconv.FormatUint(next, 10)}
	for _, k := range keys {
		out = append(out, formatKey(k))
	}
	s.reply(strings.Join(out, " "))
	return false
}

// keyList joins printed keys with spaces; an empty list is "(empty list)".
func keyList(keys []string) string {
	if len(keys) == 0 {
		return "(empty list)"
	}
	return strings.Join(keys, " ")
}

func (s *Shell) merge([]string) bool {
	if err := s.store.Merge(); err != nil {
		s.replyError(err)
		return false
	}
	s.reply("OK")
	return false
}

func (s *Shell) stats([]string) bool {
	s.reply(FormatStats(s.store.Stats()))
	return false
}

// FormatStats renders stats as one line of name=value pairs.
func FormatStats(st aetherkv.Stats) string {
	last := "never"
	if !st.LastMerge.IsZero() {
		last = st.LastMerge.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("keys=%d live_bytes=%d dead_bytes=%d data_bytes=%d data_files=%d merges=%d merge_running=%t last_merge=%s last_merge_duration=%s last_merge_reclaimed_bytes=%d",
		st.Keys, st.LiveBytes, st.DeadBytes, st.DataBytes, st.DataFiles, st.Merges, st.MergeRunning,
		last, st.LastMergeDuration.Round(time.Microsecond), st.LastMergeReclaimed)
}

func (s *Shell) help([]string) bool {
	var b strings.Builder
	b.WriteString("Commands (case-insensitive):\n")
	for _, c := range s.commands {
		fmt.Fprintf(&b, "  %-18s %s\n", c.usage, c.help)
	}
	b.WriteString(`Quote arguments that contain spaces: PUT user:1 "John Doe"`)
	s.reply(b.String())
	return false
}

func (s *Shell) exit([]string) bool {
	s.reply("Goodbye!")
	return true
}

// replyError writes err as a one-line error reply. A missing key is always
// reported as exactly "Error: key not found".
func (s *Shell) replyError(err error) {
	if errors.Is(err, aetherkv.ErrNotFound) {
		s.reply("Error: key not found")
		return
	}
	s.reply("Error: " + oneLine(err.Error()))
}

// oneLine replaces the line breaks in msg with spaces, so that every reply
// stays one line.
func oneLine(msg string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(msg)
}
