package server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"slices"
	"time"

	"github.com/aether-kv/aether-kv/internal/splitargs"
)

// Request limits. Each is checked on the header that declares a size,
// before anything of that size is allocated; a request over a limit is
// answered with a protocol error and its connection is closed.
const (
	// MaxArgs is the most arguments one request may have, command name
	// included: Redis's limit, 1024*1024.
	MaxArgs = 1 << 20
	// MaxInline is the longest inline request (a line of text such as
	// "PING\r\n"), and the longest header line: Redis's
	// PROTO_INLINE_MAX_SIZE.
	MaxInline = 64 << 10
	// MinRequestLimit is the least number of bytes, headers included,
	// that one request may take. The limit is the larger of it and twice
	// the largest key plus the largest value and 64 KiB, so that a SET of
	// the largest key and value always fits.
	MinRequestLimit = 256 << 20
	// MaxArgsUnauth is the most arguments of a request from a client
	// that has not authenticated, when a password is set, as in Redis.
	MaxArgsUnauth = 10
	// MaxBulkUnauth is the longest argument, in bytes, of a request from
	// a client that has not authenticated, when a password is set, as in
	// Redis.
	MaxBulkUnauth = 16 << 10
	// bulkRate is the slowest rate, in bytes per second, at which the
	// arguments of a request may arrive after RequestTimeout: a request
	// with n bytes of arguments has RequestTimeout + n/bulkRate.
	bulkRate = 1 << 20
)

// readBufferSize is the size of each connection's read buffer: the most
// bytes taken from the socket by one read(2).
const readBufferSize = 16 << 10

// protocolError is a malformed request or one over a limit. The client is
// sent "-ERR Protocol error: <msg>" and the connection is closed.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return "Protocol error: " + e.msg }

var (
	errMultibulkLength       = &protocolError{"invalid multibulk length"}
	errBulkLength            = &protocolError{"invalid bulk length"}
	errUnauthMultibulkLength = &protocolError{"unauthenticated multibulk length"}
	errUnauthBulkLength      = &protocolError{"unauthenticated bulk length"}
	errInlineTooBig          = &protocolError{"too big inline request"}
	errMbulkCountTooBig      = &protocolError{"too big mbulk count string"}
	errBulkCountTooBig       = &protocolError{"too big bulk count string"}
	errRequestTooBig         = &protocolError{"request too large"}
	errBulkEnd               = &protocolError{"bulk string not terminated by CRLF"}
)

// limits bound one request.
type limits struct {
	maxArgs    int   // arguments, the command name included
	maxBulk    int64 // bytes of one argument
	maxRequest int64 // bytes of the request, headers included
	unauth     bool  // the limits of a client yet to authenticate
}

// requestClock holds the time by which the request being read must have
// arrived; the connection sets it as the read deadline. The clock starts
// when the server first has to wait for more of a request, so that a
// request that arrives whole costs no clock reading.
type requestClock struct {
	timeout  time.Duration // zero: no deadline
	reading  bool          // between a request's first byte and its last
	started  bool          // deadline is set
	deadline time.Time
	extra    time.Duration // allowed for the request's arguments, at bulkRate
}

func (k *requestClock) begin() { k.reading, k.started, k.extra = true, false, 0 }

// allow gives the request time for n more bytes, at bulkRate.
func (k *requestClock) allow(n int64) {
	d := time.Duration(n) * (time.Second / bulkRate)
	if k.started {
		k.deadline = k.deadline.Add(d)
	} else {
		k.extra += d
	}
}

// readDeadline returns the deadline of the request being read, starting
// the clock at now if it is not running; zero without a timeout.
func (k *requestClock) readDeadline(now func() time.Time) time.Time {
	if k.timeout <= 0 {
		return time.Time{}
	}
	if !k.started {
		k.started, k.deadline = true, now().Add(k.timeout+k.extra)
	}
	return k.deadline
}

func (k *requestClock) end() { k.reading = false }

// reader reads requests: RESP arrays of bulk strings, and inline commands
// (a line of words, as telnet sends). It allocates only as bytes arrive, so
// a header that declares a huge size costs nothing before it is refused.
// A reader is not safe for concurrent use.
type reader struct {
	br    *bufio.Reader
	clock requestClock
	arena []byte   // the current request's arguments, back to back
	marks []int    // start and end of each argument in arena
	args  [][]byte // the current request, slices of arena
	line  []byte   // a line longer than br's buffer, assembled
	size  int64    // bytes of the current request so far
	lim   limits
}

func newReader(r io.Reader, lim limits) *reader {
	return &reader{br: bufio.NewReaderSize(r, readBufferSize), lim: lim}
}

// buffered reports whether bytes of another request are already read.
func (r *reader) buffered() bool { return r.br.Buffered() > 0 }

// next returns the next request. Its arguments are valid until the next
// call; it has at least one. Empty requests ("*0\r\n", an empty line)
// are skipped, as Redis skips them. The error is a *protocolError for a
// bad request, or the error of the underlying reader.
func (r *reader) next() ([][]byte, error) {
	r.reset()
	for {
		b, err := r.br.Peek(1)
		if err != nil {
			return nil, err
		}
		r.clock.begin()
		r.size = 0
		var args [][]byte
		if b[0] == '*' {
			args, err = r.readMultibulk()
		} else {
			args, err = r.readInline()
		}
		if err != nil {
			return nil, err
		}
		r.clock.end()
		if len(args) > 0 {
			return args, nil
		}
	}
}

// reset drops the previous request, and the memory it needed if that was
// more than a small request needs.
func (r *reader) reset() {
	const keep = 64 << 10
	if cap(r.arena) > keep {
		r.arena = nil
	}
	if cap(r.marks) > keep {
		r.marks, r.args = nil, nil
	}
	if cap(r.line) > keep {
		r.line = nil
	}
	r.arena, r.marks, r.args, r.size = r.arena[:0], r.marks[:0], r.args[:0], 0
}

// readLine returns the next line without its "\r\n" (or "\n": crlf
// tells which), or tooLong if it is longer than MaxInline. The line is
// valid until the next read.
func (r *reader) readLine(tooLong error) (line []byte, crlf bool, err error) {
	line, err = r.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		r.line = append(r.line[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) && len(r.line) <= MaxInline {
			line, err = r.br.ReadSlice('\n')
			r.line = append(r.line, line...)
		}
		line = r.line
	}
	if len(line) > MaxInline+2 {
		return nil, false, tooLong
	}
	if err != nil {
		return nil, false, err
	}
	if err := r.count(int64(len(line))); err != nil {
		return nil, false, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		return line[:n-1], true, nil
	}
	return line, false, nil
}

// count adds n bytes to the request's size.
func (r *reader) count(n int64) error {
	r.size += n
	if r.size > r.lim.maxRequest {
		return errRequestTooBig
	}
	return nil
}

// readHeader reads a "*<n>\r\n" or "$<n>\r\n" line, whose first byte
// has been checked, and returns n.
func (r *reader) readHeader(tooLong, invalid error) (int64, error) {
	line, crlf, err := r.readLine(tooLong)
	if err != nil {
		return 0, err
	}
	n, ok := parseInt(line[1:])
	if !ok || !crlf {
		return 0, invalid
	}
	return n, nil
}

func (r *reader) readMultibulk() ([][]byte, error) {
	n, err := r.readHeader(errMbulkCountTooBig, errMultibulkLength)
	if err != nil {
		return nil, err
	}
	switch {
	case n <= 0:
		return nil, nil // Redis ignores "*0" and "*-1"
	case n > int64(r.lim.maxArgs) && r.lim.unauth:
		return nil, errUnauthMultibulkLength
	case n > int64(r.lim.maxArgs):
		return nil, errMultibulkLength
	}
	for range n {
		if err := r.readBulk(); err != nil {
			return nil, err
		}
	}
	for i := 0; i < len(r.marks); i += 2 {
		r.args = append(r.args, r.arena[r.marks[i]:r.marks[i+1]:r.marks[i+1]])
	}
	return r.args, nil
}

// readBulk reads one "$<n>\r\n<n bytes>\r\n" into the arena.
func (r *reader) readBulk() error {
	b, err := r.br.Peek(1)
	if err != nil {
		return err
	}
	if b[0] != '$' {
		return &protocolError{"expected '$', got '" + printable(b[0]) + "'"}
	}
	n, err := r.readHeader(errBulkCountTooBig, errBulkLength)
	if err != nil {
		return err
	}
	switch {
	case n < 0:
		return errBulkLength
	case n > r.lim.maxBulk && r.lim.unauth:
		return errUnauthBulkLength
	case n > r.lim.maxBulk:
		return errBulkLength
	}
	if err := r.count(n + 2); err != nil {
		return err
	}
	r.clock.allow(n)
	start := len(r.arena)
	end := start + int(n)
	for len(r.arena) < end {
		if len(r.arena) == cap(r.arena) {
			// Grow with what has arrived, never with what is only declared:
			// at most double, so that a growing argument is copied about
			// twice in all.
			r.arena = slices.Grow(r.arena, min(max(cap(r.arena), 4<<10), end-len(r.arena)))
		}
		m, err := r.br.Read(r.arena[len(r.arena):min(cap(r.arena), end)])
		r.arena = r.arena[:len(r.arena)+m]
		if err != nil {
			return err
		}
	}
	r.marks = append(r.marks, start, len(r.arena))
	var crlf [2]byte
	if _, err := io.ReadFull(r.br, crlf[:]); err != nil {
		return err
	}
	if crlf != [2]byte{'\r', '\n'} {
		return errBulkEnd
	}
	return nil
}

// readInline reads a line of words, split as Redis splits an inline
// command (sdssplitargs): on whitespace, with double quotes that keep
// spaces and read escapes (\xHH, \n, \", ...) and single quotes that keep
// everything but \'.
func (r *reader) readInline() ([][]byte, error) {
	line, _, err := r.readLine(errInlineTooBig)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return nil, nil
	}
	words, err := splitargs.Split(string(line))
	if err != nil {
		return nil, &protocolError{"unbalanced quotes in request"}
	}
	if len(words) > r.lim.maxArgs {
		if r.lim.unauth {
			return nil, errUnauthMultibulkLength
		}
		return nil, errMultibulkLength
	}
	args := make([][]byte, len(words))
	for i, w := range words {
		args[i] = []byte(w)
	}
	return args, nil
}

// parseInt parses a decimal int64 as Redis's string2ll does: an optional
// minus sign, then digits without a leading zero (but "0"), no spaces and
// no plus sign.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 || (b[0] == '0' && (len(b) > 1 || neg)) {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	switch {
	case !neg && u <= 1<<63-1:
		return int64(u), true
	case neg && u <= 1<<63:
		return int64(-u), true
	}
	return 0, false
}

// printable returns c for an error message: itself if printable, else
// escaped as \xHH.
func printable(c byte) string {
	if c >= ' ' && c <= '~' {
		return string(c)
	}
	const hex = "0123456789abcdef"
	return `\x` + string(hex[c>>4]) + string(hex[c&15])
}
