package server

import "testing"

// TestGlobMatch checks globMatch against the behaviour of Redis's
// stringmatchlen.
func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"", "", true},
		{"", "a", false},
		{"a*", "abc", true},
		{"a*", "ba", false},
		{"*c", "abc", true},
		{"a*c", "ac", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"h?llo", "hello", true},
		{"h?llo", "hllo", false},
		{"h??llo", "héllo", true}, // ? is one byte: é is two
		{"h[ae]llo", "hallo", true},
		{"h[ae]llo", "hillo", false},
		{"h[^e]llo", "hallo", true},
		{"h[^e]llo", "hello", false},
		{"h[a-b]llo", "hbllo", true},
		{"h[b-a]llo", "hbllo", true}, // reversed range
		{"h[a-b]llo", "hcllo", false},
		{`h\*llo`, "h*llo", true},
		{`h\*llo`, "hello", false},
		{`[\]]`, "]", true},
		{`[\-]`, "-", true},
		{"[]", "a", false}, // an empty set
		{"a[", "a", false},
		{"a[bc", "ab", true}, // an open set runs to the end
		{"a[bc", "ad", false},
		{`a\`, `a\`, true}, // a trailing backslash is literal
		{"user:*:name", "user:1:name", true},
		{"user:*:name", "user:1:email", false},
		{"*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
		{"k\x00*", "k\x00v", true},
	}
	for _, tt := range tests {
		if got := globMatch([]byte(tt.pattern), []byte(tt.s)); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}
