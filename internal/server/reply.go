package server

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// maxForwardReply bounds a reply read from the leader for a forwarded
// command.
const maxForwardReply = 1 << 30

// readReply appends one RESP2 or RESP3 reply read from r, as it was sent,
// to dst.
func readReply(r *bufio.Reader, dst []byte) ([]byte, error) {
	return readReplyDepth(r, dst, 0)
}

func readReplyDepth(r *bufio.Reader, dst []byte, depth int) ([]byte, error) {
	if depth > 64 {
		return dst, fmt.Errorf("reply nested too deep")
	}
	line, err := r.ReadSlice('\n')
	if err != nil {
		return dst, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return dst, fmt.Errorf("malformed reply line %q", line)
	}
	dst = append(dst, line...)
	head := line[1 : len(line)-2]
	switch line[0] {
	case '+', '-', ':', '_', ',', '#', '(':
		return dst, nil
	case '$', '!', '=':
		n, err := strconv.ParseInt(string(head), 10, 64)
		if err != nil || n > maxForwardReply {
			return dst, fmt.Errorf("bad bulk length %q", head)
		}
		if n < 0 {
			return dst, nil
		}
		start := len(dst)
		dst = append(dst, make([]byte, n+2)...)
		if _, err := io.ReadFull(r, dst[start:]); err != nil {
			return dst, err
		}
		return dst, nil
	case '*', '~', '>', '%', '|':
		n, err := strconv.ParseInt(string(head), 10, 64)
		if err != nil || n > maxForwardReply {
			return dst, fmt.Errorf("bad aggregate length %q", head)
		}
		if line[0] == '%' || line[0] == '|' {
			n *= 2
		}
		for range max(n, 0) {
			if dst, err = readReplyDepth(r, dst, depth+1); err != nil {
				return dst, err
			}
		}
		if line[0] == '|' { // attributes precede the reply they describe
			return readReplyDepth(r, dst, depth+1)
		}
		return dst, nil
	}
	return dst, fmt.Errorf("unknown reply type %q", line[0])
}
