package server

import (
	"errors"
	"strconv"

	aetherkv "github.com/aether-kv/aether-kv"
)

// DEL key [key ...] and UNLINK key [key ...]: the number of keys deleted.
// Several keys are deleted in one atomic batch, as Redis deletes them in
// one step: a reader sees all of them or none gone.
func (s *Server) del(c *conn, args [][]byte) {
	if len(args) == 2 {
		deleted, err := s.deleteKey(args[1])
		if err != nil {
			s.storeError(c, err)
			return
		}
		c.out.int(int64(boolInt(deleted)))
		return
	}
	var keys [][]byte
	seen := make(map[string]bool, len(args)-1)
	for _, key := range args[1:] {
		if len(key) == 0 || len(key) > s.cfg.MaxKeySize || seen[string(key)] {
			continue // the store cannot hold such a key, or it is named twice
		}
		seen[string(key)] = true
		keys = append(keys, key)
	}
	defer s.keys.lockAll(keys)()
	b := s.db.NewBatch()
	for _, key := range keys {
		_, found, err := s.deadlineOf(key)
		if err != nil {
			s.storeError(c, err)
			return
		}
		if found {
			b.Delete(key)
		}
	}
	if err := s.db.Write(b); err != nil {
		s.storeError(c, err)
		return
	}
	c.out.int(int64(b.Len()))
}

// deleteKey deletes key under its stripe, and reports whether it had a
// value.
func (s *Server) deleteKey(key []byte) (deleted bool, err error) {
	if len(key) == 0 || len(key) > s.cfg.MaxKeySize {
		return false, nil // the store cannot hold such a key
	}
	unlock := s.keys.lock(key)
	err = s.db.Delete(key)
	unlock()
	if errors.Is(err, aetherkv.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// EXISTS key [key ...]: the number of keys that exist, a key named twice
// counted twice.
func (s *Server) exists(c *conn, args [][]byte) {
	var n int64
	for _, key := range args[1:] {
		_, found, err := s.deadlineOf(key)
		if err != nil {
			s.storeError(c, err)
			return
		}
		if found {
			n++
		}
	}
	c.out.int(n)
}

// TYPE key: "string", or "none" when key does not exist.
func (s *Server) typ(c *conn, args [][]byte) {
	_, found, err := s.deadlineOf(args[1])
	switch {
	case err != nil:
		s.storeError(c, err)
	case found:
		c.out.status("string")
	default:
		c.out.status("none")
	}
}

// matcher returns the match function of a glob pattern for Scan; nil
// matches every key.
func matcher(pattern []byte) func(key []byte) bool {
	if string(pattern) == "*" {
		return nil
	}
	pattern = append([]byte(nil), pattern...) // args are reused after the command
	return func(key []byte) bool { return globMatch(pattern, key) }
}

// KEYS pattern: every key that matches, in no order.
func (s *Server) keysCmd(c *conn, args [][]byte) {
	match := matcher(args[1])
	var keys [][]byte
	var cursor uint64
	for {
		ks, next, err := s.db.Scan(cursor, 1024, match)
		if err != nil {
			s.storeError(c, err)
			return
		}
		keys = append(keys, ks...)
		if next == 0 {
			break
		}
		if s.draining.Load() {
			c.out.error(errShuttingDown)
			return
		}
		cursor = next
	}
	c.out.array(len(keys))
	for _, k := range keys {
		c.out.bulk(k)
	}
}

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
func (s *Server) scan(c *conn, args [][]byte) {
	cursor, err := strconv.ParseUint(string(args[1]), 10, 64)
	if err != nil {
		c.out.error("ERR invalid cursor")
		return
	}
	count, onlyStrings := 10, true
	var match func([]byte) bool
	for j := 2; j < len(args); j += 2 {
		if j+1 >= len(args) || len(args[j]) > 8 {
			c.out.error(errSyntax)
			return
		}
		var opt [8]byte
		n := copy(opt[:], args[j])
		switch lowerASCII(opt[:n]) {
		case "match":
			match = matcher(args[j+1])
		case "count":
			v, ok := parseInt(args[j+1])
			if !ok {
				c.out.error(errNotInteger)
				return
			}
			if v < 1 {
				c.out.error(errSyntax)
				return
			}
			count = int(min(v, 1<<20))
		case "type":
			var t [8]byte
			n := copy(t[:], args[j+1])
			onlyStrings = len(args[j+1]) <= len(t) && lowerASCII(t[:n]) == "string"
		default:
			c.out.error(errSyntax)
			return
		}
	}
	keys, next, err := s.db.Scan(cursor, count, match)
	if err != nil {
		s.storeError(c, err)
		return
	}
	if !onlyStrings {
		keys = nil // every key is a string
	}
	c.out.array(2)
	c.out.bulk(strconv.AppendUint(nil, next, 10))
	c.out.array(len(keys))
	for _, k := range keys {
		c.out.bulk(k)
	}
}

// flushBatch is the number of keys FLUSHDB deletes in one atomic batch.
const flushBatch = 1024

// FLUSHDB [ASYNC | SYNC] and FLUSHALL [ASYNC | SYNC]: delete every key, in
// atomic batches of flushBatch keys. The whole is not atomic: a reader
// may see some batches applied and not others, and a key written
// meanwhile may survive.
func (s *Server) flush(c *conn, args [][]byte) {
	if len(args) > 2 {
		c.out.error(errSyntax)
		return
	}
	if len(args) == 2 {
		var opt [8]byte
		n := copy(opt[:], args[1])
		if m := lowerASCII(opt[:n]); len(args[1]) > len(opt) || (m != "async" && m != "sync") {
			c.out.error(errSyntax)
			return
		}
	}
	var cursor uint64
	for {
		keys, next, err := s.db.Scan(cursor, flushBatch, nil)
		if err == nil && s.draining.Load() {
			err = aetherkv.ErrClosed
		}
		if err == nil {
			err = s.deleteAll(keys)
		}
		if err != nil {
			s.storeError(c, err)
			return
		}
		if next == 0 {
			break
		}
		cursor = next
	}
	c.out.ok()
}

// deleteAll deletes keys in one atomic batch, under their stripes.
func (s *Server) deleteAll(keys [][]byte) error {
	if len(keys) == 0 {
		return nil
	}
	b := s.db.NewBatch()
	for _, k := range keys {
		b.Delete(k)
	}
	defer s.keys.lockAll(keys)()
	return s.db.Write(b)
}
