package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	aetherkv "github.com/aether-kv/aether-kv"
)

// A command is one entry of the shell's command table.
type command struct {
	name  string // upper case, as matched after strings.ToUpper
	usage string // the full usage line, e.g. "PUT <key> <value>"
	help  string // one-line description for HELP
	nargs int    // number of arguments after the name
	// run executes the command with exactly nargs arguments, writes its
	// reply and reports whether the shell should exit.
	run func(s *Shell, args []string) (exit bool)
}

// newCommands returns the shell's command table, in the order HELP lists it.
func newCommands() []command {
	return []command{
		{name: "PUT", usage: "PUT <key> <value>", help: "store value under key", nargs: 2, run: (*Shell).put},
		{name: "GET", usage: "GET <key>", help: "print the value of key", nargs: 1, run: (*Shell).get},
		{name: "DELETE", usage: "DELETE <key>", help: "delete key", nargs: 1, run: (*Shell).delete},
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

// dispatch runs the command that args name, or reports why it cannot.
func (s *Shell) dispatch(args []string) (exit bool) {
	c, ok := s.lookup(args[0])
	if !ok {
		s.reply("Error: unknown command " + Quote(args[0]) + "; type HELP for the list")
		return false
	}
	if len(args)-1 != c.nargs {
		s.reply(fmt.Sprintf("Error: wrong number of arguments for %s; usage: %s", c.name, c.usage))
		return false
	}
	return c.run(s, args[1:])
}

func (s *Shell) put(args []string) bool {
	if err := s.store.Put([]byte(args[0]), []byte(args[1])); err != nil {
		s.replyError(err)
		return false
	}
	s.reply("OK")
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
