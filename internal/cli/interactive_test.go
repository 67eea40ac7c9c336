package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ergochat/readline"
)

// cpr is a terminal's answer to readline's cursor position query, which it
// sends before each prompt.
const cpr = "\x1b[1;1R"

// newTestTerminalShell returns an interactive shell that reads keys from
// keys, with readline told that it has a terminal that needs no raw mode.
// Each prompt must be answered by a cpr in keys.
func newTestTerminalShell(store Store, keys string, out *bytes.Buffer, history string) *Shell {
	s := New(store, strings.NewReader(keys), out, true)
	s.HistoryFile = history
	s.readlineHook = testTerminal
	return s
}

// testTerminal makes readline believe it has a terminal that needs no raw
// mode, 80 columns wide.
func testTerminal(cfg *readline.Config) {
	cfg.FuncIsTerminal = func() bool { return true }
	cfg.FuncMakeRaw = func() error { return nil }
	cfg.FuncExitRaw = func() error { return nil }
	cfg.FuncGetSize = func() (int, int) { return 80, 24 }
	cfg.FuncOnWidthChanged = func(func()) {}
}

func TestInteractiveExit(t *testing.T) {
	tests := []struct {
		name string
		keys string
		want []string // replies, in order
	}{
		{"exit", cpr + "PUT user:1 \"John Doe\"\r" + cpr + "GET user:1\r" + cpr + "EXIT\r", []string{"OK", "John Doe", "Goodbye!"}},
		{"ctrl-d", cpr + "PUT k v\r" + cpr + "\x04", []string{"OK", "Goodbye!"}},
		{"end of input", cpr + "PUT k v\r" + cpr, []string{"OK", "Goodbye!"}},
		{"ctrl-c on empty line", cpr + "PUT k v\r" + cpr + "\x03" + cpr + "GET k\r", []string{"OK", "Goodbye!"}},
		{"ctrl-c clears the line", cpr + "GET k\x03" + cpr + "GET k\r" + cpr + "EXIT\r", []string{"Error: key not found", "Goodbye!"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			s := newTestTerminalShell(newFakeStore(), tt.keys, &out, "")
			if err := s.Run(); err != nil {
				t.Fatalf("Run() = %v, want nil", err)
			}
			rest := out.String()
			for _, w := range tt.want {
				i := strings.Index(rest, w+"\n")
				if i < 0 {
					t.Fatalf("output %q lacks %q (in order)", out.String(), w)
				}
				rest = rest[i+len(w):]
			}
			if !strings.Contains(out.String(), "> ") {
				t.Errorf("output %q has no prompt", out.String())
			}
		})
	}
}

func TestInteractiveHistory(t *testing.T) {
	history := filepath.Join(t.TempDir(), "history")
	var out bytes.Buffer
	s := newTestTerminalShell(newFakeStore(), cpr+"PUT k v\r"+cpr+"GET k\r"+cpr+"EXIT\r", &out, history)
	if err := s.Run(); err != nil {
		t.Fatalf("Run() = %v, want nil", err)
	}
	b, err := os.ReadFile(history)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "PUT k v\nGET k\nEXIT\n"; got != want {
		t.Errorf("history file = %q, want %q", got, want)
	}
}

func TestHistoryPath(t *testing.T) {
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	if got := HistoryPath(env(map[string]string{"AETHER_HISTFILE": "/x/h"})); got != "/x/h" {
		t.Errorf("HistoryPath with AETHER_HISTFILE=/x/h = %q, want %q", got, "/x/h")
	}
	if got := HistoryPath(env(map[string]string{"AETHER_HISTFILE": ""})); got != "" {
		t.Errorf("HistoryPath with AETHER_HISTFILE empty = %q, want \"\"", got)
	}
	if got := HistoryPath(env(nil)); filepath.Base(got) != ".aether_kv_history" {
		t.Errorf("HistoryPath without AETHER_HISTFILE = %q, want ~/.aether_kv_history", got)
	}
}

func TestCompleter(t *testing.T) {
	c := newCompleter(newCommands())
	tests := []struct {
		line       string
		want       []string
		wantLength int
	}{
		{"", []string{"PUT ", "GET ", "DELETE ", "TTL ", "MPUT ", "KEYS ", "SCAN ", "MERGE ", "STATS ", "HELP ", "EXIT ", "QUIT "}, 0},
		{"P", []string{"UT "}, 1},
		{"pu", []string{"t "}, 2},
		{"  de", []string{"lete "}, 2},
		{"E", []string{"XIT "}, 1},
		{"PUT", []string{" "}, 3},
		{"X", nil, 1},
		{"PUT k", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			runes := []rune(tt.line)
			got, length := c.Do(runes, len(runes))
			var gotStrings []string
			for _, r := range got {
				gotStrings = append(gotStrings, string(r))
			}
			if !slices.Equal(gotStrings, tt.want) || length != tt.wantLength {
				t.Errorf("Do(%q) = %q, %d, want %q, %d", tt.line, gotStrings, length, tt.want, tt.wantLength)
			}
		})
	}
}

func TestInteractiveRunContextCancel(t *testing.T) {
	inR, inW := io.Pipe()
	defer inW.Close()
	var out syncBuffer
	s := New(newFakeStore(), inR, &out, true)
	s.HistoryFile = ""
	s.readlineHook = testTerminal
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.RunContext(ctx) }()
	io.WriteString(inW, cpr+"PUT k v\r"+cpr)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunContext() = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunContext did not return after cancel")
	}
	if got := out.String(); !strings.HasSuffix(got, "Goodbye!\n") {
		t.Errorf("output = %q, want it to end with Goodbye!", got)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
