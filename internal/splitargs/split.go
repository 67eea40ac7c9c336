// Package splitargs splits a command line into arguments as Redis does
// (sdssplitargs): the rules of redis-cli and of Redis's inline commands.
package splitargs

import (
	"errors"
	"strings"
)

// ErrUnterminatedQuote is returned by Split when a quoted argument has no
// closing quote.
var ErrUnterminatedQuote = errors.New("unterminated quote")

// ErrQuoteNotSeparated is returned by Split when a closing quote is
// followed by something other than whitespace or the end of the line, as in
// "foo"bar.
var ErrQuoteNotSeparated = errors.New("closing quote must be followed by a space or the end of the line")

// Split breaks a command line into arguments with the rules of redis-cli
// (sdssplitargs in Redis's sds.c):
//
//   - Runs of whitespace (space, \t, \n, \v, \f, \r) separate arguments.
//   - Inside double quotes, spaces are kept and a backslash starts an
//     escape: \xHH (two hex digits) is that byte; \n, \r, \t, \b and \a
//     are the control characters; a backslash before any other character
//     stands for that character, so \" and \\ are a quote and a backslash.
//   - Inside single quotes everything is literal except \', a quote.
//   - A quote may open in the middle of an argument (ab"c d" is "abc d"),
//     but a closing quote must be followed by whitespace or the end of the
//     line, otherwise Split returns ErrQuoteNotSeparated.
//   - A quote with no closing quote returns ErrUnterminatedQuote.
//
// Nothing else is special: # does not start a comment and $ does not
// expand. A line of only whitespace has no arguments. Split works on bytes,
// so arguments may hold any bytes, including invalid UTF-8. Quote produces
// the double-quoted form that Split reads back (internal/cli.Quote).
func Split(line string) ([]string, error) {
	var args []string
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i == len(line) {
			return args, nil
		}
		arg, next, err := splitArg(line, i)
		if err != nil {
			return nil, err
		}
		args = append(args, arg)
		i = next
	}
}

// splitArg reads the argument that starts at line[i], which is not a
// space, and returns it with the index just past it.
func splitArg(line string, i int) (arg string, next int, err error) {
	start := i
	for i < len(line) && !isSpace(line[i]) && line[i] != '"' && line[i] != '\'' {
		i++
	}
	if i == len(line) || isSpace(line[i]) {
		return line[start:i], i, nil // the common case: no quotes, no copy
	}
	var b strings.Builder
	b.WriteString(line[start:i])
	for i < len(line) && !isSpace(line[i]) {
		switch line[i] {
		case '"':
			i, err = splitDoubleQuoted(&b, line, i+1)
		case '\'':
			i, err = splitSingleQuoted(&b, line, i+1)
		default:
			b.WriteByte(line[i])
			i++
		}
		if err != nil {
			return "", 0, err
		}
	}
	return b.String(), i, nil
}

// splitDoubleQuoted appends the unescaped text of a double-quoted section
// whose body starts at line[i] to b, and returns the index just past the
// closing quote.
func splitDoubleQuoted(b *strings.Builder, line string, i int) (int, error) {
	for i < len(line) {
		c := line[i]
		switch {
		case c == '"':
			return closeQuote(line, i)
		case c == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]):
			b.WriteByte(unhex(line[i+2])<<4 | unhex(line[i+3]))
			i += 4
		case c == '\\' && i+1 < len(line):
			b.WriteByte(unescape(line[i+1]))
			i += 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	return 0, ErrUnterminatedQuote
}

// splitSingleQuoted is splitDoubleQuoted for single quotes, where the only
// escape is \'.
func splitSingleQuoted(b *strings.Builder, line string, i int) (int, error) {
	for i < len(line) {
		c := line[i]
		switch {
		case c == '\'':
			return closeQuote(line, i)
		case c == '\\' && i+1 < len(line) && line[i+1] == '\'':
			b.WriteByte('\'')
			i += 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	return 0, ErrUnterminatedQuote
}

// closeQuote checks that the closing quote at line[i] ends the argument and
// returns the index after it.
func closeQuote(line string, i int) (int, error) {
	i++
	if i < len(line) && !isSpace(line[i]) {
		return 0, ErrQuoteNotSeparated
	}
	return i, nil
}

// unescape returns the byte that a backslash followed by c stands for
// inside double quotes.
func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	}
	return c
}

// isSpace reports whether c is white space in the C locale (isspace).
func isSpace(c byte) bool {
	return c == ' ' || ('\t' <= c && c <= '\r')
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// unhex returns the value of the hex digit c.
func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
