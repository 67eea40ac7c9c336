package server

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

var testLimits = limits{maxArgs: MaxArgs, maxBulk: 1 << 20, maxRequest: 4 << 20}

// readAll returns every request in input, and the error that ended them.
func readAll(input string, lim limits) (reqs [][]string, err error) {
	r := newReader(strings.NewReader(input), lim)
	for {
		args, err := r.next()
		if err != nil {
			return reqs, err
		}
		var req []string
		for _, a := range args {
			req = append(req, string(a))
		}
		reqs = append(reqs, req)
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  [][]string
		err   string // "" for io.EOF
	}{
		{"multibulk", "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", [][]string{{"GET", "k"}}, ""},
		{"pipelined", "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", [][]string{{"PING"}, {"ECHO", ""}}, ""},
		{"binary bulk", "*1\r\n$4\r\n\r\n\x00\n\r\n", [][]string{{"\r\n\x00\n"}}, ""},
		{"inline", "SET k v\r\nPING\n", [][]string{{"SET", "k", "v"}, {"PING"}}, ""},
		{"inline quotes", "SET \"a b\" 'c d'\r\n", [][]string{{"SET", "a b", "c d"}}, ""},
		{"inline escapes", "ECHO \"a\\nb\"\r\n", [][]string{{"ECHO", "a\nb"}}, ""},
		{"inline quote not followed by a space", "ECHO \"a\"b\r\n", nil, "Protocol error: unbalanced quotes in request"},
		{"inline hex escapes", "SET \"\\x00\\xff k\" '\\x41'\r\n", [][]string{{"SET", "\x00\xff k", "\\x41"}}, ""},
		{"empty lines and arrays skipped", "\r\n\n*0\r\n*-1\r\nPING\r\n", [][]string{{"PING"}}, ""},
		{"truncated bulk", "*1\r\n$4\r\nPI", nil, ""},
		{"truncated header", "*1\r\n$4", nil, "EOF"},
		{"bulk at the limit", "*1\r\n$1048576\r\n" + strings.Repeat("x", 1<<20) + "\r\n", [][]string{{strings.Repeat("x", 1<<20)}}, ""},
		{"bulk over the limit", "*1\r\n$1048577\r\n", nil, "Protocol error: invalid bulk length"},
		{"plus sign", "*+1\r\n", nil, "Protocol error: invalid multibulk length"},
		{"leading zero", "*01\r\n", nil, "Protocol error: invalid multibulk length"},
		{"space", "* 1\r\n", nil, "Protocol error: invalid multibulk length"},
		{"bare LF in count", "*1\n$4\r\nPING\r\n", nil, "Protocol error: invalid multibulk length"},
		{"bare LF in bulk length", "*1\r\n$4\nPING\r\n", nil, "Protocol error: invalid bulk length"},
		{"request too large", "*5\r\n" + strings.Repeat("$1048576\r\n"+strings.Repeat("y", 1<<20)+"\r\n", 5), nil, "Protocol error: request too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reqs, err := readAll(tt.input, testLimits)
			if !equalRequests(reqs, tt.want) {
				t.Errorf("requests = %q, want %q", shorten(reqs), shorten(tt.want))
			}
			switch {
			case tt.err == "" && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF):
				t.Errorf("error = %v, want EOF", err)
			case tt.err != "" && (err == nil || err.Error() != tt.err):
				t.Errorf("error = %v, want %s", err, tt.err)
			}
		})
	}
}

func equalRequests(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.Join(a[i], "\x00") != strings.Join(b[i], "\x00") || len(a[i]) != len(b[i]) {
			return false
		}
	}
	return true
}

// shorten cuts long arguments for a readable failure.
func shorten(reqs [][]string) [][]string {
	var out [][]string
	for _, r := range reqs {
		var s []string
		for _, a := range r {
			if len(a) > 20 {
				a = a[:20] + "..."
			}
			s = append(s, a)
		}
		out = append(out, s)
	}
	return out
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"-1", -1, true},
		{"9223372036854775807", 1<<63 - 1, true},
		{"-9223372036854775808", -1 << 63, true},
		{"9223372036854775808", 0, false},
		{"-9223372036854775809", 0, false},
		{"99999999999999999999", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"-0", 0, false},
		{"01", 0, false},
		{"+1", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"1.0", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseInt([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseInt(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestReaderArgumentsDoNotOverlap checks that appending to one argument
// cannot overwrite the next: the handlers append to arguments.
func TestReaderArgumentsDoNotOverlap(t *testing.T) {
	r := newReader(strings.NewReader("*2\r\n$1\r\na\r\n$1\r\nb\r\n"), testLimits)
	args, err := r.next()
	if err != nil {
		t.Fatal(err)
	}
	_ = append(args[0], 'X')
	if string(args[1]) != "b" {
		t.Errorf("after appending to args[0], args[1] = %q, want b", args[1])
	}
}

// FuzzReader feeds arbitrary bytes to the reader: it must never panic,
// must return only requests within the limits, and must not allocate much
// more than it was given.
func FuzzReader(f *testing.F) {
	for _, seed := range []string{
		"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", "PING\r\n", "SET \"a b\" 'c'\r\n", "*0\r\n", "*-1\r\n",
		"*2147483648\r\n", "*1\r\n$1073741824\r\n", "*1\r\n*1\r\n", "\"unbalanced\r\n", "*1\r\n$3\r\nabcde",
	} {
		f.Add([]byte(seed))
	}
	lim := limits{maxArgs: 64, maxBulk: 1024, maxRequest: 8 << 10}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newReader(bytes.NewReader(data), lim)
		for {
			args, err := r.next()
			if err != nil {
				var perr *protocolError
				if !errors.As(err, &perr) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("next() error %v (%T), want a protocol error or EOF", err, err)
				}
				break
			}
			if len(args) == 0 || len(args) > lim.maxArgs {
				t.Fatalf("next() returned %d arguments", len(args))
			}
			for _, a := range args {
				if int64(len(a)) > max(lim.maxBulk, MaxInline) {
					t.Fatalf("next() returned an argument of %d bytes", len(a))
				}
			}
			if int64(cap(r.arena)) > 2*int64(len(data))+8<<10 {
				t.Fatalf("arena of %d bytes for %d bytes of input", cap(r.arena), len(data))
			}
		}
	})
}
