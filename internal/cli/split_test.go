package cli

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name string
		line string
		want []string
	}{
		{"empty", "", nil},
		{"only spaces", " \t \r\n", nil},
		{"words", "PUT key value", []string{"PUT", "key", "value"}},
		{"runs of whitespace", "  GET\t\tkey  \v\f ", []string{"GET", "key"}},
		{"double quotes keep spaces", `PUT user:1 "John Doe"`, []string{"PUT", "user:1", "John Doe"}},
		{"hex and newline escapes", `"\x41\n"`, []string{"A\n"}},
		{"upper-case hex", `"\xfF\x00"`, []string{"\xff\x00"}},
		{"letter escapes", `"\r\t\b\a"`, []string{"\r\t\b\a"}},
		{"escaped quote and backslash", `"say \"hi\" \\o/"`, []string{`say "hi" \o/`}},
		{"other escape is the char", `"\q\$\'"`, []string{`q$'`}},
		{"short hex is an x", `"\x4" "\xg1"`, []string{"x4", "xg1"}},
		{"single quotes", `'it\'s'`, []string{"it's"}},
		{"single quotes are literal", `'a\nb "c"'`, []string{`a\nb "c"`}},
		{"empty quotes", `"" ''`, []string{"", ""}},
		{"quote opens mid-argument", `ab"c d" x'y z'`, []string{"abc d", "xy z"}},
		{"hash is not a comment", "a#b #c", []string{"a#b", "#c"}},
		{"dollar is literal", "$HOME ${X}", []string{"$HOME", "${X}"}},
		{"backslash outside quotes is literal", `a\nb`, []string{`a\nb`}},
		{"quote then tab", "\"a\"\tb", []string{"a", "b"}},
		{"utf-8", `PUT clé "héllo wörld"`, []string{"PUT", "clé", "héllo wörld"}},
		{"invalid utf-8", "\xff\xfe", []string{"\xff\xfe"}},
		{"nul byte", "a\x00b", []string{"a\x00b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Split(tt.line)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("Split(%q) = %q, %v, want %q, nil", tt.line, got, err, tt.want)
			}
		})
	}
}

func TestSplitErrors(t *testing.T) {
	tests := []struct {
		name string
		line string
		want error
	}{
		{"text after double quote", `"foo"bar`, ErrQuoteNotSeparated},
		{"text after single quote", `'foo'bar`, ErrQuoteNotSeparated},
		{"quote after quote", `"a""b"`, ErrQuoteNotSeparated},
		{"unterminated double quote", `PUT k "John Doe`, ErrUnterminatedQuote},
		{"unterminated single quote", `PUT k 'John`, ErrUnterminatedQuote},
		{"escaped closing quote", `"abc\"`, ErrUnterminatedQuote},
		{"backslash at end", `"abc\`, ErrUnterminatedQuote},
		{"escaped single quote", `'abc\'`, ErrUnterminatedQuote},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Split(tt.line)
			if !errors.Is(err, tt.want) {
				t.Errorf("Split(%q) = %q, %v, want error %v", tt.line, got, err, tt.want)
			}
		})
	}
}

// FuzzSplit checks that Split never panics and that quoting what it
// returns gives a line that splits the same way.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{`PUT user:1 "John Doe"`, `"\x41\n"`, `'it\'s'`, `"foo"bar`, `a#b #c`, `"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args, err := Split(line)
		if err != nil {
			return
		}
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = Quote(a)
		}
		again := strings.Join(quoted, " ")
		got, err := Split(again)
		if err != nil || !slices.Equal(got, args) {
			t.Errorf("Split(%q) = %q, %v, want %q (from Split(%q))", again, got, err, args, line)
		}
	})
}
