package server

import (
	"errors"
	"math"
	"strings"
	"time"

	aetherkv "github.com/aether-kv/aether-kv"
)

// deadlineOf returns the deadline of key: found is false when the key has
// no value, and the deadline is zero when it has none.
func (s *Server) deadlineOf(key []byte) (deadline time.Time, found bool, err error) {
	deadline, err = s.db.ExpiresAt(key)
	if errors.Is(err, aetherkv.ErrNotFound) {
		return time.Time{}, false, nil
	}
	return deadline, err == nil, err
}

// putUntil sets key to value until deadline (forever when zero). A
// deadline already past deletes the key, as Redis deletes a key whose new
// expire time is in the past. The caller holds key's stripe.
func (s *Server) putUntil(key, value []byte, deadline time.Time) error {
	if deadline.IsZero() {
		return s.db.Put(key, value)
	}
	ttl := time.Until(deadline)
	if ttl <= 0 {
		if err := s.db.Delete(key); err != nil && !errors.Is(err, aetherkv.ErrNotFound) {
			return err
		}
		return nil
	}
	return s.db.PutWithTTL(key, value, ttl)
}

// Units of the expire times that commands take.
const (
	relSeconds = iota // EX, EXPIRE, SETEX: seconds from now
	relMillis         // PX, PEXPIRE, PSETEX: milliseconds from now
	absSeconds        // EXAT, EXPIREAT: Unix time in seconds
	absMillis         // PXAT, PEXPIREAT: Unix time in milliseconds
)

// maxDeadline is the latest deadline the store can record: it keeps
// deadlines as Unix nanoseconds in an int64.
var maxDeadline = time.Unix(0, math.MaxInt64)

// parseExpire returns the deadline that the expire time arg, in unit,
// gives, or the error reply: Redis's for a number that is not an integer,
// and "invalid expire time in '<cmd>' command" for one out of range.
// positive requires a time above zero, as SET and SETEX do.
func parseExpire(arg []byte, unit int, cmd string, positive bool) (time.Time, string) {
	n, ok := parseInt(arg)
	if !ok {
		return time.Time{}, errNotInteger
	}
	invalid := "ERR invalid expire time in '" + cmd + "' command"
	if positive && n <= 0 {
		return time.Time{}, invalid
	}
	var d time.Time
	now := time.Now()
	switch unit {
	case relSeconds:
		if n > math.MaxInt64/int64(time.Second) || n < math.MinInt64/int64(time.Second) {
			return time.Time{}, invalid
		}
		d = now.Add(time.Duration(n) * time.Second)
	case relMillis:
		if n > math.MaxInt64/int64(time.Millisecond) || n < math.MinInt64/int64(time.Millisecond) {
			return time.Time{}, invalid
		}
		d = now.Add(time.Duration(n) * time.Millisecond)
	case absSeconds:
		if n > math.MaxInt64/1000 { // as Redis; time.Unix would overflow into the past
			return time.Time{}, invalid
		}
		d = time.Unix(n, 0)
	case absMillis:
		d = time.UnixMilli(n)
	}
	if d.After(maxDeadline) {
		return time.Time{}, invalid
	}
	return d, ""
}

// expireUnits are the units of the EXPIRE commands' times.
var expireUnits = map[string]int{"expire": relSeconds, "pexpire": relMillis, "expireat": absSeconds, "pexpireat": absMillis}

// setUnits are the units of SET's expiry options.
var setUnits = map[string]int{"ex": relSeconds, "px": relMillis, "exat": absSeconds, "pxat": absMillis}

// SETEX key seconds value and PSETEX key milliseconds value.
func (s *Server) setex(c *conn, name string, args [][]byte) {
	unit := relSeconds
	if name == "psetex" {
		unit = relMillis
	}
	deadline, reply := parseExpire(args[2], unit, name, true)
	if reply == "" {
		reply = s.checkWrite(args[1], args[3])
	}
	if reply != "" {
		c.out.error(reply)
		return
	}
	defer s.keys.lock(args[1])()
	if err := s.putUntil(args[1], args[3], deadline); err != nil {
		s.storeError(c, err)
		return
	}
	c.out.ok()
}

// EXPIRE key seconds [NX | XX | GT | LT], and PEXPIRE, EXPIREAT and
// PEXPIREAT: set the deadline of key; 1 if it was set, 0 if the key does
// not exist or the condition failed. A deadline in the past deletes the
// key.
func (s *Server) expire(c *conn, name string, args [][]byte) {
	deadline, reply := parseExpire(args[2], expireUnits[name], name, false)
	if reply != "" {
		c.out.error(reply)
		return
	}
	var nx, xx, gt, lt bool
	for _, a := range args[3:] {
		switch strings.ToLower(string(a)) {
		case "nx":
			nx = true
		case "xx":
			xx = true
		case "gt":
			gt = true
		case "lt":
			lt = true
		default:
			c.out.error("ERR Unsupported option " + string(truncate(a, 128)))
			return
		}
	}
	switch {
	case nx && (xx || gt || lt):
		c.out.error("ERR NX and XX, GT or LT options at the same time are not compatible")
		return
	case gt && lt:
		c.out.error("ERR GT and LT options at the same time are not compatible")
		return
	}
	defer s.keys.lock(args[1])()
	current, found, err := s.deadlineOf(args[1])
	if err != nil {
		s.storeError(c, err)
		return
	}
	none := current.IsZero() // no deadline: forever, for GT and LT
	if !found || (nx && !none) || (xx && none) || (gt && (none || !deadline.After(current))) || (lt && !none && !deadline.Before(current)) {
		c.out.int(0)
		return
	}
	if err := s.setDeadline(args[1], deadline); err != nil {
		s.storeError(c, err)
		return
	}
	c.out.int(1)
}

// setDeadline sets the deadline of key, deleting it if the deadline has
// passed. The caller holds key's stripe.
func (s *Server) setDeadline(key []byte, deadline time.Time) error {
	err := s.db.Expire(key, deadline)
	if errors.Is(err, aetherkv.ErrNotFound) {
		return nil // expired meanwhile
	}
	return err
}

// PERSIST key: remove the deadline of key; 1 if it had one.
func (s *Server) persist(c *conn, args [][]byte) {
	defer s.keys.lock(args[1])()
	current, found, err := s.deadlineOf(args[1])
	if err != nil {
		s.storeError(c, err)
		return
	}
	if !found || current.IsZero() {
		c.out.int(0)
		return
	}
	if err := s.setDeadline(args[1], time.Time{}); err != nil {
		s.storeError(c, err)
		return
	}
	c.out.int(1)
}

// TTL key, PTTL key, EXPIRETIME key and PEXPIRETIME key: the time left,
// or the deadline; -2 if the key does not exist, -1 if it has no
// deadline.
func (s *Server) ttl(c *conn, name string, args [][]byte) {
	deadline, found, err := s.deadlineOf(args[1])
	switch {
	case err != nil:
		s.storeError(c, err)
	case !found:
		c.out.int(-2)
	case deadline.IsZero():
		c.out.int(-1)
	case name == "ttl":
		c.out.int(max(0, (time.Until(deadline).Milliseconds()+500)/1000))
	case name == "pttl":
		c.out.int(max(0, time.Until(deadline).Milliseconds()))
	case name == "expiretime":
		c.out.int((deadline.UnixMilli() + 500) / 1000) // rounded, as Redis does
	default: // pexpiretime
		c.out.int(deadline.UnixMilli())
	}
}
