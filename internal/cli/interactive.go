package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/ergochat/readline"
	"golang.org/x/term"
)

// HistoryPath returns the history file of an interactive shell: the value
// of $AETHER_HISTFILE if it is set (set and empty turns history off), or
// else .aether_kv_history in the home directory, or "" if there is none.
// getenv is os.LookupEnv or a stand-in.
func HistoryPath(getenv func(string) (string, bool)) string {
	if path, ok := getenv("AETHER_HISTFILE"); ok {
		return path
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".aether_kv_history")
}

// runInteractive is RunContext for a terminal. Ctrl-D on an empty line and
// Ctrl-C on an empty line end the session like EXIT; Ctrl-C on a line with
// text discards the text. When out is not the terminal, lines are edited
// by the terminal itself and no prompt is written.
func (s *Shell) runInteractive(ctx context.Context) error {
	lineLen := 0 // runes in the line being edited, as of the last key
	cfg := &readline.Config{
		Prompt:            "> ",
		HistoryFile:       s.HistoryFile,
		HistorySearchFold: true,
		AutoComplete:      newCompleter(s.commands),
		Stdin:             s.in,
		Stdout:            s.out,
		Stderr:            s.out,
		Listener: func(line []rune, _ int, _ rune) ([]rune, int, bool) {
			lineLen = len(line)
			return nil, 0, false
		},
	}
	if !isTerminal(s.in) || !isTerminal(s.out) {
		// Output is redirected: readline would ask the terminal for the
		// cursor position and wait for an answer that never comes, and
		// raw mode would hide what is typed. Let the terminal echo and
		// edit lines itself, and keep prompts out of the output.
		cfg.FuncIsTerminal = func() bool { return false }
		cfg.FuncMakeRaw = func() error { return nil }
		cfg.FuncExitRaw = func() error { return nil }
	}
	if s.readlineHook != nil {
		s.readlineHook(cfg)
	}
	rl, err := readline.NewFromConfig(cfg)
	if err != nil {
		return err
	}
	defer rl.Close()
	stop := context.AfterFunc(ctx, func() { rl.Close() })
	defer stop()

	for {
		line, err := rl.ReadLine()
		switch {
		case errors.Is(err, readline.ErrInterrupt) && lineLen > 0:
			continue
		case errors.Is(err, readline.ErrInterrupt), err == io.EOF, ctx.Err() != nil:
			s.reply("Goodbye!")
			return s.err
		case err != nil:
			return err
		}
		if s.Execute(line) || s.err != nil {
			return s.err
		}
	}
}

// isTerminal reports whether f is a file open on a terminal.
func isTerminal(f any) bool {
	fd, ok := f.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(fd.Fd()))
}

// completer completes the command name at the start of a line, in any
// case; it implements readline.AutoCompleter.
type completer []string

// newCompleter returns a completer for the names of commands.
func newCompleter(commands []command) completer {
	names := make(completer, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return names
}

// Do returns the rest of each command name that starts with the word
// before pos, followed by a space, and the length of that word. The rest
// is in lower case when the word has a lower-case letter.
func (c completer) Do(line []rune, pos int) (suffixes [][]rune, length int) {
	word := strings.TrimLeftFunc(string(line[:pos]), unicode.IsSpace)
	if strings.ContainsFunc(word, unicode.IsSpace) {
		return nil, 0 // past the command name
	}
	upper := strings.ToUpper(word)
	for _, name := range c {
		if !strings.HasPrefix(name, upper) {
			continue
		}
		rest := name[len(upper):] + " "
		if word != upper {
			rest = strings.ToLower(rest)
		}
		suffixes = append(suffixes, []rune(rest))
	}
	return suffixes, len([]rune(word))
}
