package cli

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Quote returns s in double quotes, escaped so that Split reads it back as
// the single argument s. Printable UTF-8 is kept as is; a quote or backslash
// gets a backslash; newline, carriage return, tab, bell and backspace become
// \n, \r, \t, \a and \b; every other byte of a non-printable character, and
// every byte of invalid UTF-8, becomes \xHH.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch esc := letterEscape(r); {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteByte(byte(r))
		case esc != 0:
			b.WriteByte('\\')
			b.WriteByte(esc)
		case r == utf8.RuneError && size == 1, !unicode.IsGraphic(r):
			for j := range size {
				writeHexByte(&b, s[i+j])
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

// letterEscape returns the letter that follows a backslash to stand for
// the control character r, or 0 if r has no letter escape.
func letterEscape(r rune) byte {
	switch r {
	case '\a':
		return 'a'
	case '\b':
		return 'b'
	case '\t':
		return 't'
	case '\n':
		return 'n'
	case '\r':
		return 'r'
	}
	return 0
}

func writeHexByte(b *strings.Builder, c byte) {
	const digits = "0123456789abcdef"
	b.WriteString(`\x`)
	b.WriteByte(digits[c>>4])
	b.WriteByte(digits[c&0xf])
}

// formatValue returns v as the shell prints it: raw when that is
// unambiguous on one line, otherwise as Quote gives it. Raw means v is not
// empty, is valid UTF-8 of graphic characters and spaces only (no control
// or invisible format characters), and does not start with a quote, which
// would make it look like a quoted reply.
func formatValue(v []byte) string {
	if isPlain(v) {
		return string(v)
	}
	return Quote(string(v))
}

// formatKey renders a key for a space-separated list: as formatValue, and
// quoted if it holds a space or a quote anywhere (Split, as Redis, opens a
// quote in the middle of a word too), so that Split gives the keys back.
func formatKey(k []byte) string {
	if isPlain(k) && !bytes.ContainsAny(k, " \"'") {
		return string(k)
	}
	return Quote(string(k))
}

// isPlain reports whether v can be printed without quotes; see formatValue.
func isPlain(v []byte) bool {
	if len(v) == 0 || v[0] == '"' || v[0] == '\'' {
		return false
	}
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf { // ASCII fast path
			if c < ' ' || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(v[i:])
		if r == utf8.RuneError && size == 1 || !unicode.IsGraphic(r) {
			return false
		}
		i += size
	}
	return true
}
