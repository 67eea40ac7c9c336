package server

import "strconv"

// The replies below differ between the protocol versions: RESP3 has types
// of its own for them, which RESP2 writes as the nearest RESP2 type.

// null writes a missing value: "_" in RESP3, a null bulk string in RESP2.
func (w *writer) null() {
	if w.resp3 {
		w.buf = append(w.buf, '_', '\r', '\n')
		return
	}
	w.buf = append(w.buf, "$-1\r\n"...)
}

// mapLen writes the header of a map of n pairs: "%n" in RESP3, an array
// of 2n elements (key, value, ...) in RESP2.
func (w *writer) mapLen(n int) {
	if w.resp3 {
		w.header('%', n)
		return
	}
	w.array(2 * n)
}

// setLen writes the header of a set of n elements: "~n" in RESP3, an
// array in RESP2.
func (w *writer) setLen(n int) {
	if w.resp3 {
		w.header('~', n)
		return
	}
	w.array(n)
}

// verbatim writes text meant to be shown as it is, such as INFO: a
// verbatim string "=" of format txt in RESP3, a bulk string in RESP2.
func (w *writer) verbatim(text string) {
	if !w.resp3 {
		w.bulkString(text)
		return
	}
	w.header('=', len(text)+4)
	w.buf = append(w.buf, "txt:"...)
	w.buf = append(w.buf, text...)
	w.buf = append(w.buf, '\r', '\n')
	w.spill()
}

func (w *writer) header(kind byte, n int) {
	w.buf = strconv.AppendInt(append(w.buf, kind), int64(n), 10)
	w.buf = append(w.buf, '\r', '\n')
}
