package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// A log entry of Aether's raft log is one command, encoded as
//
//	version (1 byte) | kind (1 byte) | body
//
// kindWrite's body is a count (uvarint) of operations, each
//
//	op (1 byte) | key length (uvarint) | key | value length (uvarint) | value | deadline (varint, Unix ns, 0 for none)
//
// (deletes have no value and no deadline); kindRegister's body is a node
// id and the address of its Redis-protocol listener, each a uvarint length
// and bytes.
//
// Every operation is a blind write: it sets or deletes a key whatever the
// key held. The leader turns read-modify-write commands (INCR, APPEND,
// SET NX, EXPIRE, ...) into blind writes while it holds the key's lock, so
// that applying a suffix of the log again, after a restart, gives the same
// state as applying it once.
const entryVersion = 1

// Kinds of log entries.
const (
	kindWrite    = 1
	kindRegister = 2
)

// Operations of a kindWrite entry.
const (
	opPut    = 1
	opDelete = 2
)

// ErrBadEntry is returned for a log entry this version cannot read.
var ErrBadEntry = errors.New("cluster: bad log entry")

// Op is one operation of a write: a put (with a deadline, or none) or a
// delete.
type Op struct {
	Key, Value []byte
	Delete     bool
	Deadline   time.Time // zero for none
}

// encodeWrite encodes ops as a kindWrite entry.
func encodeWrite(ops []Op) []byte {
	n := 3
	for _, op := range ops {
		n += 1 + 2*binary.MaxVarintLen64 + len(op.Key) + len(op.Value) + binary.MaxVarintLen64
	}
	b := make([]byte, 0, n)
	b = append(b, entryVersion, kindWrite)
	b = binary.AppendUvarint(b, uint64(len(ops)))
	for _, op := range ops {
		if op.Delete {
			b = append(b, opDelete)
			b = appendBytes(b, op.Key)
			continue
		}
		b = append(b, opPut)
		b = appendBytes(b, op.Key)
		b = appendBytes(b, op.Value)
		var d int64
		if !op.Deadline.IsZero() {
			d = max(op.Deadline.UnixNano(), 1)
		}
		b = binary.AppendVarint(b, d)
	}
	return b
}

// encodeRegister encodes a kindRegister entry.
func encodeRegister(id, addr string) []byte {
	b := []byte{entryVersion, kindRegister}
	b = appendBytes(b, []byte(id))
	return appendBytes(b, []byte(addr))
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// entry is a decoded log entry. Its slices point into the encoded bytes.
type entry struct {
	kind     byte
	ops      []Op
	id, addr string
}

// decodeEntry decodes a log entry.
func decodeEntry(b []byte) (entry, error) {
	if len(b) < 2 || b[0] != entryVersion {
		return entry{}, fmt.Errorf("%w: version %v", ErrBadEntry, b[:min(len(b), 1)])
	}
	d := decoder{b: b[2:]}
	e := entry{kind: b[1]}
	switch e.kind {
	case kindWrite:
		n := d.uvarint()
		if n > uint64(len(d.b)) {
			return entry{}, fmt.Errorf("%w: %d operations in %d bytes", ErrBadEntry, n, len(d.b))
		}
		e.ops = make([]Op, 0, n)
		for range n {
			var op Op
			switch d.byte() {
			case opDelete:
				op.Delete = true
				op.Key = d.bytes()
			case opPut:
				op.Key = d.bytes()
				op.Value = d.bytes()
				if op.Value == nil {
					op.Value = []byte{}
				}
				if ns := d.varint(); ns != 0 {
					op.Deadline = time.Unix(0, ns)
				}
			default:
				d.fail()
			}
			e.ops = append(e.ops, op)
		}
	case kindRegister:
		e.id = string(d.bytes())
		e.addr = string(d.bytes())
	default:
		return entry{}, fmt.Errorf("%w: kind %d", ErrBadEntry, e.kind)
	}
	if d.bad || len(d.b) != 0 {
		return entry{}, fmt.Errorf("%w: kind %d, malformed", ErrBadEntry, e.kind)
	}
	return e, nil
}

// decoder reads an entry's fields; after the first error every read
// returns zero and bad is set.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) fail() { d.bad, d.b = true, nil }

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	if n == 0 {
		return nil
	}
	return s
}
