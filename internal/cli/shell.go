// Package cli is the command-line interface of Aether KV: the interactive
// shell (Shell) and the aether-kv command tree (NewRootCommand).
//
// The shell reads one command per line, splits it into arguments as
// redis-cli does (see Split) and writes one reply per command:
//
//	> PUT user:1 "John Doe"
//	OK
//	> GET user:1
//	John Doe
//	> DELETE user:1
//	OK
//	> GET user:1
//	Error: key not found
//	> EXIT
//	Goodbye!
//
// Commands are case-insensitive. A value is printed as it is when it is
// non-empty printable UTF-8 that does not start with a quote; otherwise it
// is printed as Quote gives it, in the form PUT accepts back, so every
// reply to PUT, GET or DELETE is one line. Errors are one line starting
// with "Error: ", and the session goes on after them.
//
// On a terminal the shell edits lines with readline, keeps a history file
// and completes command names. Otherwise it prints no prompt and answers
// each line as soon as it has run it, so that a program can drive the shell
// through a pipe.
package cli

import (
	"bufio"
	"context"
	"io"
	"iter"
	"os"
	"strings"
	"time"

	"github.com/ergochat/readline"

	aetherkv "github.com/aether-kv/aether-kv"
)

// Store is what the shell needs of a database; *aetherkv.DB satisfies it.
// Get returns an error wrapping aetherkv.ErrNotFound for a missing key, and
// so does Delete.
type Store interface {
	Get(key []byte) ([]byte, error)
	Put(key, value []byte) error
	PutWithTTL(key, value []byte, ttl time.Duration) error
	ExpiresAt(key []byte) (time.Time, error)
	Delete(key []byte) error
	NewBatch() *aetherkv.Batch
	Write(b *aetherkv.Batch) error
	Keys(prefix []byte) iter.Seq2[[]byte, error]
	Scan(cursor uint64, count int, match func(key []byte) bool) (keys [][]byte, next uint64, err error)
	Merge() error
	Stats() aetherkv.Stats
}

var _ Store = (*aetherkv.DB)(nil)

// Shell runs the interactive command loop. A Shell is not safe for
// concurrent use.
type Shell struct {
	// HistoryFile is where an interactive shell keeps the lines typed, ""
	// for no history. New sets it to HistoryPath(os.LookupEnv).
	HistoryFile string

	store       Store
	in          io.Reader
	out         io.Writer
	interactive bool
	commands    []command
	err         error // first error writing to out; sticky

	// readlineHook, if set, adjusts the readline configuration; tests use
	// it to run the interactive path without a terminal.
	readlineHook func(*readline.Config)
}

// New returns a shell that runs commands against store, reading lines from
// in and writing replies to out.
//
// An interactive shell (in is a terminal) prints the prompt "> ", edits
// lines with readline and prints "Goodbye!" however the session ends.
// A non-interactive shell prints no prompt, reads lines of any length,
// writes each reply before it reads the next line, and prints "Goodbye!"
// only for EXIT and QUIT, so that the output of a script is exactly the
// replies to its commands.
func New(store Store, in io.Reader, out io.Writer, interactive bool) *Shell {
	s := &Shell{
		store:       store,
		in:          in,
		out:         out,
		interactive: interactive,
		commands:    newCommands(),
	}
	if interactive {
		s.HistoryFile = HistoryPath(os.LookupEnv)
	}
	return s
}

// Run reads and executes lines until EXIT, QUIT or the end of the input,
// and then returns nil. It returns an error only if reading the input or
// writing a reply fails. Run does not close the store.
func (s *Shell) Run() error {
	return s.RunContext(context.Background())
}

// RunContext is Run, except that it also returns nil soon after ctx is
// done, letting the command in progress finish first; an interactive shell
// then restores the terminal and prints "Goodbye!". A non-interactive shell
// reads in from a goroutine, which may stay blocked in a read of in after
// RunContext returns, until that read returns.
func (s *Shell) RunContext(ctx context.Context) error {
	if s.interactive {
		return s.runInteractive(ctx)
	}
	return s.runPiped(ctx)
}

// Execute runs one already-read line and writes its reply; it returns
// exit=true for EXIT and QUIT. A trailing newline or carriage return is
// ignored, and so is a line with no arguments.
func (s *Shell) Execute(line string) (exit bool) {
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	args, err := Split(line)
	if err != nil {
		s.reply("Error: " + err.Error())
		return false
	}
	if len(args) == 0 {
		return false
	}
	return s.dispatch(args)
}

// reply writes msg and a newline to out in one call, so that every reply
// reaches a pipe whole and at once. After a write error it does nothing.
func (s *Shell) reply(msg string) {
	if s.err != nil {
		return
	}
	buf := make([]byte, 0, len(msg)+1)
	buf = append(buf, msg...)
	buf = append(buf, '\n')
	_, s.err = s.out.Write(buf)
}

// runPiped is RunContext for input that is not a terminal. Lines are read
// by a goroutine so that ctx can end the session while a read is blocked.
func (s *Shell) runPiped(ctx context.Context) error {
	lines := make(chan readResult)
	done := make(chan struct{})
	defer close(done)
	go readLines(bufio.NewReader(s.in), lines, done)
	for {
		select {
		case <-ctx.Done():
			return s.err
		case r := <-lines:
			if ctx.Err() != nil {
				return s.err
			}
			if r.line != "" && s.Execute(r.line) {
				return s.err
			}
			if s.err != nil {
				return s.err
			}
			if r.err == io.EOF {
				return nil
			}
			if r.err != nil {
				return r.err
			}
		}
	}
}

// readResult is one line read by readLines, with the read error, if any,
// that ended it.
type readResult struct {
	line string
	err  error
}

// readLines sends each line of r, newline included, until a read fails or
// done is closed. The last result carries the error (io.EOF at the end).
func readLines(r *bufio.Reader, lines chan<- readResult, done <-chan struct{}) {
	for {
		line, err := r.ReadString('\n')
		select {
		case lines <- readResult{line, err}:
		case <-done:
			return
		}
		if err != nil {
			return
		}
	}
}
