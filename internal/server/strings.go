package server

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	aetherkv "github.com/aether-kv/aether-kv"
)

// maxKeptValue is the largest value buffer a connection keeps for the
// next read.
const maxKeptValue = 1 << 20

// read returns the value of key, read into the connection's buffer: it is
// valid until the next read. found is false for a missing key; err is an
// error other than ErrNotFound.
func (s *Server) read(c *conn, key []byte) (value []byte, found bool, err error) {
	v, err := s.db.GetInto(c.value[:0], key)
	if errors.Is(err, aetherkv.ErrNotFound) {
		s.stats.misses.Add(1)
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	s.stats.hits.Add(1)
	if cap(v) <= maxKeptValue {
		c.value = v[:0]
	}
	return v, true, nil
}

// bulkOrNull writes value, or null when it was not found.
func (c *conn) bulkOrNull(value []byte, found bool) {
	if found {
		c.out.bulk(value)
		return
	}
	c.out.null()
}

// GET key
func (s *Server) get(c *conn, args [][]byte) {
	v, found, err := s.read(c, args[1])
	if err != nil {
		s.storeError(c, err)
		return
	}
	c.bulkOrNull(v, found)
}

// setOptions are the options of SET.
type setOptions struct {
	nx, xx, get bool
	keepTTL     bool
	deadline    time.Time // EX, PX, EXAT or PXAT: when the value expires
}

// parseSet parses SET's options, in Redis's grammar; the reply is the
// error for bad ones.
func parseSet(args [][]byte) (o setOptions, reply string) {
	var expiry []byte // the argument of EX, PX, EXAT or PXAT
	unit := -1
	for j := 3; j < len(args); j++ {
		var opt [8]byte
		n := copy(opt[:], args[j])
		if len(args[j]) > len(opt) {
			return o, errSyntax
		}
		name := lowerASCII(opt[:n])
		u, isExpiry := setUnits[name]
		switch {
		case name == "nx" && !o.xx:
			o.nx = true
		case name == "xx" && !o.nx:
			o.xx = true
		case name == "get":
			o.get = true
		case name == "keepttl" && unit < 0:
			o.keepTTL = true
		case isExpiry && unit < 0 && !o.keepTTL && j+1 < len(args):
			unit, expiry = u, args[j+1]
			j++
		default:
			return o, errSyntax
		}
	}
	if unit >= 0 {
		o.deadline, reply = parseExpire(expiry, unit, "set", true)
	}
	return o, reply
}

// lowerASCII returns b in lower case, as a string.
func lowerASCII(b []byte) string {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT t | PXAT t | KEEPTTL]
func (s *Server) set(c *conn, args [][]byte) {
	o, reply := parseSet(args)
	if reply != "" {
		c.out.error(reply)
		return
	}
	key, value := args[1], args[2]
	if reply := s.checkWrite(key, value); reply != "" {
		c.out.error(reply)
		return
	}
	defer s.keys.lock(key)()
	var old []byte
	var found bool
	var err error
	switch {
	case o.get:
		old, found, err = s.read(c, key)
	case o.nx || o.xx:
		_, found, err = s.deadlineOf(key)
	}
	if err != nil {
		s.storeError(c, err)
		return
	}
	if (o.nx && found) || (o.xx && !found) {
		if o.get {
			c.bulkOrNull(old, found)
		} else {
			c.out.null()
		}
		return
	}
	deadline := o.deadline
	if o.keepTTL {
		if deadline, _, err = s.deadlineOf(key); err != nil {
			s.storeError(c, err)
			return
		}
	}
	if err := s.putUntil(key, value, deadline); err != nil {
		s.storeError(c, err)
		return
	}
	if o.get {
		c.bulkOrNull(old, found)
		return
	}
	c.out.ok()
}

// SETNX key value
func (s *Server) setnx(c *conn, args [][]byte) {
	key, value := args[1], args[2]
	if reply := s.checkWrite(key, value); reply != "" {
		c.out.error(reply)
		return
	}
	defer s.keys.lock(key)()
	_, found, err := s.deadlineOf(key)
	if err != nil {
		s.storeError(c, err)
		return
	}
	if found {
		c.out.int(0)
		return
	}
	if err := s.db.Put(key, value); err != nil {
		s.storeError(c, err)
		return
	}
	c.out.int(1)
}

// GETDEL key
func (s *Server) getdel(c *conn, args [][]byte) {
	key := args[1]
	defer s.keys.lock(key)()
	v, found, err := s.read(c, key)
	if err != nil {
		s.storeError(c, err)
		return
	}
	if found {
		if err := s.db.Delete(key); err != nil && !errors.Is(err, aetherkv.ErrNotFound) {
			s.storeError(c, err)
			return
		}
	}
	c.bulkOrNull(v, found)
}

// MGET key [key ...]: the values of the keys as of one moment, as Redis
// gives them: the keys' stripes are held while they are read, so no write
// lands between two of the reads. The values are read into memory first,
// as Redis builds the whole reply first; a key whose value cannot be read
// gets an error in its place in the array. The values may take no more
// memory than a request may (Config's request limit): a few bytes naming
// a large value many times must not make the server allocate without
// bound. Past it, the command fails and the client is told to ask for
// fewer keys.
func (s *Server) mget(c *conn, args [][]byte) {
	keys := args[1:]
	type result struct {
		start, end int // in arena
		found      bool
		err        error
	}
	results := make([]result, len(keys))
	var arena []byte
	limit := s.cfg.maxRequest()
	func() {
		defer s.keys.lockAll(keys)()
		for i, key := range keys {
			start := len(arena)
			v, err := s.db.GetInto(arena, key)
			switch {
			case err == nil:
				arena = v
				results[i] = result{start: start, end: len(arena), found: true}
			case !errors.Is(err, aetherkv.ErrNotFound):
				results[i].err = err
			}
			if int64(len(arena)) > limit {
				return
			}
		}
	}()
	if int64(len(arena)) > limit {
		c.out.error(fmt.Sprintf("ERR MGET reply would pass %d bytes of values; ask for fewer keys at a time", limit))
		return
	}
	c.out.array(len(keys))
	for _, r := range results {
		switch {
		case r.err != nil:
			s.storeError(c, r.err)
		case r.found:
			s.stats.hits.Add(1)
			c.out.bulk(arena[r.start:r.end])
		default:
			s.stats.misses.Add(1)
			c.out.null()
		}
	}
}

// MSET key value [key value ...]: one atomic batch, so that a reader or a
// crash sees all of the pairs or none. The pairs are checked first; a key
// or value over its limit fails the command before anything is written.
func (s *Server) mset(c *conn, args [][]byte) {
	if len(args)%2 != 1 {
		c.out.error(wrongArgs("mset"))
		return
	}
	keys := make([][]byte, 0, len(args)/2)
	b := s.db.NewBatch()
	for i := 1; i < len(args); i += 2 {
		if reply := s.checkWrite(args[i], args[i+1]); reply != "" {
			c.out.error(reply)
			return
		}
		keys = append(keys, args[i])
		b.Put(args[i], args[i+1])
	}
	defer s.keys.lockAll(keys)()
	if err := s.db.Write(b); err != nil {
		s.storeError(c, err)
		return
	}
	c.out.ok()
}

// STRLEN key
func (s *Server) strlen(c *conn, args [][]byte) {
	v, _, err := s.read(c, args[1])
	if err != nil {
		s.storeError(c, err)
		return
	}
	c.out.int(int64(len(v)))
}

// APPEND key value
func (s *Server) append(c *conn, args [][]byte) {
	key, tail := args[1], args[2]
	if reply := s.checkWrite(key, nil); reply != "" {
		c.out.error(reply)
		return
	}
	defer s.keys.lock(key)()
	v, found, err := s.read(c, key)
	if err != nil {
		s.storeError(c, err)
		return
	}
	if len(v)+len(tail) > s.cfg.MaxValueSize {
		c.out.error(s.valueTooLarge())
		return
	}
	v = append(v, tail...)
	if err := s.putKeepingDeadline(key, v, found); err != nil {
		s.storeError(c, err)
		return
	}
	c.out.int(int64(len(v)))
}

// INCRBY key increment and DECRBY key decrement.
func (s *Server) incrByArg(c *conn, name string, args [][]byte) {
	by, ok := parseInt(args[2])
	if !ok {
		c.out.error(errNotInteger)
		return
	}
	if name == "decrby" {
		if by == math.MinInt64 {
			c.out.error("ERR decrement would overflow")
			return
		}
		by = -by
	}
	s.incrBy(c, args[1], by)
}

// incrBy adds by to the integer value of key (0 when missing), atomically
// with respect to every other write of key.
func (s *Server) incrBy(c *conn, key []byte, by int64) {
	if reply := s.checkWrite(key, nil); reply != "" {
		c.out.error(reply)
		return
	}
	defer s.keys.lock(key)()
	v, found, err := s.read(c, key)
	if err != nil {
		s.storeError(c, err)
		return
	}
	var n int64
	if found {
		var ok bool
		if n, ok = parseInt(v); !ok {
			c.out.error(errNotInteger)
			return
		}
	}
	if (by < 0 && n < math.MinInt64-by) || (by > 0 && n > math.MaxInt64-by) {
		c.out.error(errOverflow)
		return
	}
	n += by
	if err := s.putKeepingDeadline(key, strconv.AppendInt(v[:0], n, 10), found); err != nil {
		s.storeError(c, err)
		return
	}
	c.out.int(n)
}

// putKeepingDeadline sets key to value and keeps the deadline key had, as
// APPEND and INCR do in Redis; found says whether key had a value. The
// caller holds key's stripe.
func (s *Server) putKeepingDeadline(key, value []byte, found bool) error {
	var deadline time.Time
	if found {
		var err error
		if deadline, _, err = s.deadlineOf(key); err != nil {
			return err
		}
	}
	return s.putUntil(key, value, deadline)
}
