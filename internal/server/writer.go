package server

import (
	"io"
	"strconv"

	"github.com/tidwall/redcon"
)

// flushAt is the size past which buffered replies are sent at once, even
// in the middle of a pipeline or of one long reply: it bounds the memory
// a client that sends many commands, or asks for many keys, can make the
// server hold.
const flushAt = 64 << 10

// writer buffers the replies to one client, in RESP2, or in RESP3 once
// the client has said HELLO 3. Its error is sticky: after a failed write,
// every call is a no-op and flush returns that error. A writer is not
// safe for concurrent use.
type writer struct {
	w      io.Writer
	buf    []byte
	err    error
	resp3  bool
	errors int          // error replies written
	sent   int          // buffers sent: flush calls that wrote
	stats  *serverStats // counts the error replies by code, if not nil
	// beforeFlush, if not nil, runs before buffered replies are sent; its
	// error stops them.
	beforeFlush func() error
}

// flush sends the buffered replies.
func (w *writer) flush() error {
	if w.err != nil || len(w.buf) == 0 {
		return w.err
	}
	if w.beforeFlush != nil {
		if w.err = w.beforeFlush(); w.err != nil {
			return w.err
		}
	}
	_, w.err = w.w.Write(w.buf)
	w.sent++
	if cap(w.buf) > 4*flushAt {
		w.buf = nil
	} else {
		w.buf = w.buf[:0]
	}
	return w.err
}

// spill flushes when the buffer has grown past flushAt.
func (w *writer) spill() {
	if len(w.buf) >= flushAt {
		w.flush()
	}
}

// ok writes "+OK".
func (w *writer) ok() { w.buf = redcon.AppendOK(w.buf) }

// status writes a simple string, "+<s>"; s must not hold CR or LF.
func (w *writer) status(s string) { w.buf = redcon.AppendString(w.buf, s) }

// error writes an error reply, "-<msg>". msg starts with its code, such
// as "ERR" or "WRONGPASS"; CR and LF in it become spaces.
func (w *writer) error(msg string) {
	w.errors++
	if w.stats != nil {
		w.stats.countError(errorCode(msg))
	}
	w.buf = redcon.AppendError(w.buf, msg)
}

// errorCode returns the first word of an error message.
func errorCode(msg string) string {
	for i := 0; i < len(msg); i++ {
		if msg[i] == ' ' {
			return msg[:i]
		}
	}
	return msg
}

// int writes an integer, ":<n>".
func (w *writer) int(n int64) { w.buf = redcon.AppendInt(w.buf, n) }

// array writes the header of an array of n elements.
func (w *writer) array(n int) { w.buf = redcon.AppendArray(w.buf, n) }

// bulk writes a bulk string. A long one goes straight from b to the
// connection rather than through the buffer.
func (w *writer) bulk(b []byte) {
	if len(b) < flushAt {
		w.buf = redcon.AppendBulk(w.buf, b)
		w.spill()
		return
	}
	w.buf = strconv.AppendInt(append(w.buf, '$'), int64(len(b)), 10)
	w.buf = append(w.buf, '\r', '\n')
	if w.flush() == nil {
		_, w.err = w.w.Write(b)
	}
	w.buf = append(w.buf, '\r', '\n')
}

// bulkString writes s as a bulk string.
func (w *writer) bulkString(s string) {
	w.buf = redcon.AppendBulkString(w.buf, s)
	w.spill()
}
