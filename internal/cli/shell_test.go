package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	aetherkv "github.com/aether-kv/aether-kv"
)

// fakeStore is an in-memory Store. Keys in fail make every method return
// errFake.
type fakeStore struct {
	mu   sync.Mutex
	data map[string]string
	fail map[string]bool
	// merges counts Merge calls.
	merges int
}

var errFake = errors.New("fake: disk on fire")

func newFakeStore() *fakeStore {
	return &fakeStore{data: map[string]string{}, fail: map[string]bool{"broken": true}}
}

func (f *fakeStore) Get(key []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail[string(key)] {
		return nil, errFake
	}
	v, ok := f.data[string(key)]
	if !ok {
		return nil, fmt.Errorf("get %q: %w", key, aetherkv.ErrNotFound)
	}
	return []byte(v), nil
}

func (f *fakeStore) Put(key, value []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail[string(key)] {
		return errFake
	}
	f.data[string(key)] = string(value)
	return nil
}

// NewBatch and Write: batches are tested against a real store
// (root_test.go); the fake refuses them.
func (f *fakeStore) NewBatch() *aetherkv.Batch     { return &aetherkv.Batch{} }
func (f *fakeStore) Write(b *aetherkv.Batch) error { return errFake }

func (f *fakeStore) Keys(prefix []byte) iter.Seq2[[]byte, error] {
	f.mu.Lock()
	keys := slices.Sorted(maps.Keys(f.data))
	f.mu.Unlock()
	return func(yield func([]byte, error) bool) {
		for _, k := range keys {
			if strings.HasPrefix(k, string(prefix)) && !yield([]byte(k), nil) {
				return
			}
		}
	}
}

func (f *fakeStore) Scan(cursor uint64, count int, match func([]byte) bool) ([][]byte, uint64, error) {
	var keys [][]byte
	for k := range f.Keys(nil) {
		keys = append(keys, k)
	}
	return keys, 0, nil
}

// PutWithTTL and ExpiresAt: expiry is tested against a real store
// (root_test.go); the fake keeps no deadlines.
func (f *fakeStore) PutWithTTL(key, value []byte, ttl time.Duration) error { return errFake }
func (f *fakeStore) ExpiresAt(key []byte) (time.Time, error)               { return time.Time{}, errFake }

func (f *fakeStore) Merge() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.merges++
	return nil
}

func (f *fakeStore) Stats() aetherkv.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return aetherkv.Stats{Keys: len(f.data), Merges: int64(f.merges)}
}

func (f *fakeStore) Delete(key []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail[string(key)] {
		return errFake
	}
	if _, ok := f.data[string(key)]; !ok {
		return aetherkv.ErrNotFound
	}
	delete(f.data, string(key))
	return nil
}

// runSession runs a non-interactive shell over input and returns its output.
func runSession(t *testing.T, input string) string {
	t.Helper()
	var out bytes.Buffer
	if err := New(newFakeStore(), strings.NewReader(input), &out, false).Run(); err != nil {
		t.Fatalf("Run() = %v, want nil", err)
	}
	return out.String()
}

func TestShellSeedSession(t *testing.T) {
	const input = "PUT user:1 \"John Doe\"\nGET user:1\nDELETE user:1\nGET user:1\nEXIT\n"
	const want = "OK\nJohn Doe\nOK\nError: key not found\nGoodbye!\n"
	if got := runSession(t, input); got != want {
		t.Errorf("session output = %q, want %q", got, want)
	}
}

func TestShellSessions(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"lower case", "put k v\nget k\ndelete k\nquit\n", "OK\nv\nOK\nGoodbye!\n"},
		{"mixed case", "Put k v\ngEt k\nExit\n", "OK\nv\nGoodbye!\n"},
		{"quit", "QUIT\n", "Goodbye!\n"},
		{"stops at exit", "EXIT\nPUT k v\n", "Goodbye!\n"},
		{"end of input without exit", "PUT k v\nGET k\n", "OK\nv\n"},
		{"last line without newline", "PUT k v\nGET k", "OK\nv\n"},
		{"crlf", "PUT k v\r\nGET k\r\nEXIT\r\n", "OK\nv\nGoodbye!\n"},
		{"empty lines", "\n\n  \t\n\r\nPUT k v\n\nGET k\n", "OK\nv\n"},
		{"empty input", "", ""},
		{"missing key", "GET nope\nDELETE nope\n", "Error: key not found\nError: key not found\n"},
		{"overwrite", "PUT k 1\nPUT k 2\nGET k\n", "OK\nOK\n2\n"},
		{"keys", "PUT user:1 a\nPUT user:2 b\nPUT \"odd key\" c\nKEYS user:*\nKEYS\nKEYS none:*\nKEYS us?r*\n",
			"OK\nOK\nOK\nuser:1 user:2\n\"odd key\" user:1 user:2\n(empty list)\nError: KEYS takes a prefix ending in *, such as user:*\n"},
		// Keys holding a quote anywhere are quoted: Split opens a quote in
		// the middle of a word too, so a"b printed raw could not be read
		// back (GET a"b is an unterminated quote).
		{"keys with quotes read back", "PUT \"a\\\"b\" 1\nPUT \"it's\" 2\nKEYS\nGET \"a\\\"b\"\nGET \"it's\"\n",
			"OK\nOK\n\"a\\\"b\" \"it's\"\n1\n2\n"},
		{"scan", "PUT a 1\nSCAN 0\nSCAN 0 COUNT 5\nSCAN x\nSCAN 0 COUNT 0\nSCAN 0 LIMIT 5\n",
			"OK\n0 a\n0 a\nError: usage: SCAN <cursor> [COUNT <n>]: strconv.ParseUint: parsing \"x\": invalid syntax\n" +
				"Error: usage: SCAN <cursor> [COUNT <n>]: COUNT must be positive\n" +
				"Error: usage: SCAN <cursor> [COUNT <n>]: want COUNT, not \"LIMIT\"\n"},
		{"mput arity", "MPUT k\nMPUT a 1 b\n", "Error: wrong number of arguments for MPUT; usage: MPUT <key> <value> [<key> <value> ...]\n" +
			"Error: wrong number of arguments for MPUT; usage: MPUT <key> <value> [<key> <value> ...]\n"},
		{"merge then stats", "PUT k v\nmerge\nSTATS\n", "OK\nOK\n" +
			"keys=1 live_bytes=0 dead_bytes=0 data_bytes=0 data_files=0 merges=1 merge_running=false last_merge=never last_merge_duration=0s last_merge_reclaimed_bytes=0\n"},
		{"store error", "GET broken\nPUT broken v\nDELETE broken\n",
			strings.Repeat("Error: fake: disk on fire\n", 3)},
		{"quoted value printed quoted", `PUT k "a\nb"` + "\nGET k\n", "OK\n\"a\\nb\"\n"},
		{"empty value", "PUT k \"\"\nGET k\n", "OK\n\"\"\n"},
		{"wrong arity then continues", "PUT k\nGET\nDELETE a b\nEXIT now\nGET k k\nPUT k v\nGET k\n",
			"Error: wrong number of arguments for PUT; usage: PUT <key> <value> [EX <seconds>]\n" +
				"Error: wrong number of arguments for GET; usage: GET <key>\n" +
				"Error: wrong number of arguments for DELETE; usage: DELETE <key>\n" +
				"Error: wrong number of arguments for EXIT; usage: EXIT\n" +
				"Error: wrong number of arguments for GET; usage: GET <key>\n" +
				"OK\nv\n"},
		{"unquoted value with space", "PUT user:1 John Doe\n",
			"Error: wrong number of arguments for PUT; usage: PUT <key> <value> [EX <seconds>]\n"},
		{"unknown command then continues", "FOO bar\nset k v\nPUT k v\nGET k\n",
			"Error: unknown command \"FOO\"; type HELP for the list\n" +
				"Error: unknown command \"set\"; type HELP for the list\nOK\nv\n"},
		{"split errors then continues", "PUT k \"v\nPUT k \"v\"x\nPUT k v\nGET k\n",
			"Error: unterminated quote\n" +
				"Error: closing quote must be followed by a space or the end of the line\nOK\nv\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := runSession(t, tt.input); got != tt.want {
				t.Errorf("session output for %q = %q, want %q", tt.input, got, tt.want)
			}
		})
	}
}

func TestShellHelp(t *testing.T) {
	got := runSession(t, "help\n")
	for _, usage := range []string{"PUT <key> <value> [EX <seconds>]", "GET <key>", "TTL <key>", "DELETE <key>", "MPUT <key> <value> [<key> <value> ...]", "KEYS [<prefix>*]", "SCAN <cursor> [COUNT <n>]", "MERGE", "STATS", "EXIT", "QUIT", "HELP"} {
		if !strings.Contains(got, "\n  "+usage+" ") {
			t.Errorf("HELP output %q does not list %q", got, usage)
		}
	}
}

func TestShellLargeValue(t *testing.T) {
	value := strings.Repeat("0123456789abcdef", 5<<20/16) // 5 MiB
	got := runSession(t, "PUT big "+value+"\nGET big\n")
	if want := "OK\n" + value + "\n"; got != want {
		t.Errorf("session output has %d bytes, want %d", len(got), len(want))
	}
}

func TestExecute(t *testing.T) {
	tests := []struct {
		name     string
		line     string
		wantOut  string
		wantExit bool
	}{
		{"put", `PUT k "v w"`, "OK\n", false},
		{"trailing newline", "PUT k v\r\n", "OK\n", false},
		{"empty", "", "", false},
		{"exit", "exit", "Goodbye!\n", true},
		{"quit", "QUIT\n", "Goodbye!\n", true},
		{"unknown", "NOPE", "Error: unknown command \"NOPE\"; type HELP for the list\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			s := New(newFakeStore(), strings.NewReader(""), &out, false)
			exit := s.Execute(tt.line)
			if out.String() != tt.wantOut || exit != tt.wantExit {
				t.Errorf("Execute(%q) = %v writing %q, want %v writing %q", tt.line, exit, out.String(), tt.wantExit, tt.wantOut)
			}
		})
	}
}

// TestShellRepliesBeforeNextRead drives the shell through pipes, as a
// program would: each reply must arrive while the shell waits for the next
// line.
func TestShellRepliesBeforeNextRead(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- New(newFakeStore(), inR, outW, false).Run() }()

	replies := bufio.NewReader(outR)
	steps := []struct{ line, want string }{
		{"PUT user:1 \"John Doe\"\n", "OK\n"},
		{"GET user:1\n", "John Doe\n"},
		{"DELETE user:1\n", "OK\n"},
		{"GET user:1\n", "Error: key not found\n"},
		{"EXIT\n", "Goodbye!\n"},
	}
	for _, step := range steps {
		if _, err := io.WriteString(inW, step.line); err != nil {
			t.Fatalf("writing %q: %v", step.line, err)
		}
		got, err := replies.ReadString('\n')
		if err != nil || got != step.want {
			t.Fatalf("reply to %q = %q, %v, want %q", step.line, got, err, step.want)
		}
	}
	if err := <-done; err != nil {
		t.Errorf("Run() = %v, want nil", err)
	}
	inW.Close()
}

func TestShellRunContextCancel(t *testing.T) {
	inR, inW := io.Pipe()
	defer inW.Close()
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(newFakeStore(), inR, &out, false).RunContext(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunContext() = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunContext did not return after cancel")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errFake }

func TestShellWriteError(t *testing.T) {
	s := New(newFakeStore(), strings.NewReader("PUT k v\nGET k\n"), failWriter{}, false)
	if err := s.Run(); !errors.Is(err, errFake) {
		t.Errorf("Run() = %v, want %v", err, errFake)
	}
}

type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errFake }

func TestShellReadError(t *testing.T) {
	s := New(newFakeStore(), failReader{}, io.Discard, false)
	if err := s.Run(); !errors.Is(err, errFake) {
		t.Errorf("Run() = %v, want %v", err, errFake)
	}
}
