package cli

import (
	"slices"
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", `""`},
		{"plain", "John Doe", `"John Doe"`},
		{"quote and backslash", `a"b\c`, `"a\"b\\c"`},
		{"letter escapes", "\n\r\t\a\b", `"\n\r\t\a\b"`},
		{"other control bytes", "\x00\x1b\x7f\v", `"\x00\x1b\x7f\x0b"`},
		{"printable utf-8 kept", "héllo 世界", `"héllo 世界"`},
		{"invalid utf-8", "\xff\xc3", `"\xff\xc3"`},
		{"c1 control", "\u0085", `"\xc2\x85"`},
		{"format character", "a\u202eb", `"a\xe2\x80\xaeb"`},
		{"single quote kept", "it's", `"it's"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Quote(tt.in); got != tt.want {
				t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestQuoteRoundTrip(t *testing.T) {
	tests := []string{
		"", " ", "John Doe", `"quoted"`, `'single'`, `back\slash`, "\\x41",
		"line\nbreak\r\n", "tab\tand\x00nul", "\xff\xfe\xfd", "héllo 世界 🚀",
		"\u0085\u2028\u202e", strings.Repeat("ab\" \\\n", 1000),
	}
	for _, x := range tests {
		t.Run(x, func(t *testing.T) {
			line := "PUT k " + Quote(x)
			got, err := Split(line)
			if want := []string{"PUT", "k", x}; err != nil || !slices.Equal(got, want) {
				t.Errorf("Split(%q) = %q, %v, want %q, nil", line, got, err, want)
			}
		})
	}
}

// FuzzSplitQuote checks that a PUT line with a quoted value gives back the
// value, whatever its bytes.
func FuzzSplitQuote(f *testing.F) {
	for _, s := range []string{"", "John Doe", "a\"b\\c\n", "\xff\x00", "世界\u202e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, x string) {
		line := "PUT k " + Quote(x)
		got, err := Split(line)
		if want := []string{"PUT", "k", x}; err != nil || !slices.Equal(got, want) {
			t.Errorf("Split(%q) = %q, %v, want %q, nil", line, got, err, want)
		}
	})
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"plain", "John Doe", "John Doe"},
		{"utf-8", "héllo 世界", "héllo 世界"},
		{"inner quotes", `say "hi"`, `say "hi"`},
		{"spaces only", "  ", "  "},
		{"empty", "", `""`},
		{"leading double quote", `"x"`, `"\"x\""`},
		{"leading single quote", "'x'", `"'x'"`},
		{"newline", "a\nb", `"a\nb"`},
		{"tab", "a\tb", `"a\tb"`},
		{"delete", "a\x7f", `"a\x7f"`},
		{"invalid utf-8", "a\xff", `"a\xff"`},
		{"bidi override", "a\u202eb", `"a\xe2\x80\xaeb"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatValue([]byte(tt.in)); got != tt.want {
				t.Errorf("formatValue(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}
