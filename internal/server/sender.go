package server

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"syscall"
	"time"
)

// sender sends a connection's replies. What the socket takes at once is
// written at once, without waiting; the rest is queued for a goroutine of
// the sender's own, which waits for the client to read it, while the
// connection goes on reading and running requests. Client libraries send
// a whole pipeline before they read a reply (go-redis, redis-py, ...): a
// server that stopped reading requests until its replies were taken would
// wait for a client that waits for it.
//
// The queue holds at most limit bytes (Server.replyLimit: the most one
// request may take, 256 MiB by default; before the client has
// authenticated, the 1 MiB its requests may take); past it the connection
// waits too, and a client that takes nothing is dropped after
// Config.RequestTimeout (connWriter's deadline; the failed write closes
// the connection, which may be waiting for a request), as before the
// queue. So a client that sends without reading can make the server hold
// that much of its replies, as much as one request of its own.
//
// Write and close are called by the connection's goroutine only.
type sender struct {
	c     *conn
	w     connWriter
	raw   syscall.RawConn // the socket, for writes that do not wait; nil if not a socket
	limit int64

	// tryWrite's state, kept here so that its function for raw.Write is
	// made once rather than at every write.
	try      []byte
	tried    int
	tryErr   error
	tryWrite func(fd uintptr) bool

	mu      sync.Mutex
	changed sync.Cond // the queue shrank, grew, or the sender failed or was closed
	queue   [][]byte
	queued  int64 // bytes in queue
	busy    bool  // queued bytes, or a write of them running: new bytes must queue behind
	err     error // the first failed write: sticky
	closing bool
	emptied time.Time     // when the goroutine last emptied the queue
	done    chan struct{} // closed when the goroutine ends; nil until it starts
}

func newSender(c *conn, limit int64) *sender {
	s := &sender{c: c, w: connWriter{c}, limit: limit}
	s.changed.L = &s.mu
	if sc, ok := c.nc.(syscall.Conn); ok {
		s.raw, _ = sc.SyscallConn()
	}
	s.tryWrite = s.writeNow
	return s
}

// errSenderClosed is returned by Write after close.
var errSenderClosed = errors.New("connection closed")

// Write sends p, or queues a copy of what the socket does not take at
// once. It returns an error only if an earlier write failed; it waits
// while the queue holds more than limit bytes.
func (s *sender) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	if s.closing {
		return 0, errSenderClosed
	}
	n := 0
	if !s.busy {
		s.mu.Unlock()
		var err error
		n, err = s.write(p)
		s.mu.Lock()
		if err != nil {
			s.fail(err)
			return n, err
		}
		if n == len(p) {
			return n, nil
		}
	}
	s.queue = append(s.queue, bytes.Clone(p[n:]))
	s.queued += int64(len(p) - n)
	s.busy = true
	if s.done == nil {
		s.done = make(chan struct{})
		go s.run()
	}
	s.changed.Broadcast()
	limit := min(s.limit, s.c.limits().maxRequest) // before AUTH, what an unauthenticated request may hold
	for s.queued > limit && s.err == nil {
		s.changed.Wait()
	}
	return len(p), s.err
}

// write writes what the socket takes of p without waiting. A connection
// that is not a socket takes nothing this way: its replies all go through
// the queue.
func (s *sender) write(p []byte) (int, error) {
	if s.raw == nil {
		return 0, nil
	}
	s.try, s.tried, s.tryErr = p, 0, nil
	err := s.raw.Write(s.tryWrite)
	n := s.tried
	s.try = nil
	s.c.srv.stats.netOut.Add(int64(n))
	if err != nil {
		return n, err
	}
	return n, s.tryErr
}

// writeNow is write's function for raw.Write: it writes s.try to fd until
// the socket takes no more, and never waits for it.
func (s *sender) writeNow(fd uintptr) bool {
	for s.tried < len(s.try) {
		m, err := syscall.Write(int(fd), s.try[s.tried:])
		if m > 0 {
			s.tried += m
		}
		if err == syscall.EINTR {
			continue
		}
		if err != nil && err != syscall.EAGAIN {
			s.tryErr = &net.OpError{Op: "write", Net: "tcp", Err: err}
		}
		if err != nil || m <= 0 {
			break
		}
	}
	return true // done: raw.Write must not wait for the socket
}

// run writes the queue, waiting for the client to take it, until the
// sender is closed and the queue is empty, or a write fails.
func (s *sender) run() {
	defer close(s.done)
	s.mu.Lock()
	defer s.mu.Unlock()
	wrote := false
	for {
		if wrote && len(s.queue) == 0 {
			// The connection's own writes do not wait, but the
			// socket refuses every write once a deadline has passed:
			// clear the one the last chunk was written with.
			s.c.nc.SetWriteDeadline(time.Time{})
			s.emptied = time.Now()
			wrote = false
		}
		for len(s.queue) == 0 && !s.closing && s.err == nil {
			s.busy = false
			s.changed.Broadcast()
			s.changed.Wait()
		}
		if s.err != nil || len(s.queue) == 0 {
			s.busy = false
			s.changed.Broadcast()
			return
		}
		b := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.mu.Unlock()
		_, err := s.w.Write(b)
		wrote = true
		s.mu.Lock()
		s.queued -= int64(len(b))
		if err != nil {
			s.fail(err)
			s.c.nc.Close() // wake the connection, which may be waiting for a request
		}
		s.changed.Broadcast()
	}
}

// fail records the first failed write and drops the queue.
func (s *sender) fail(err error) {
	if s.err == nil {
		s.err = err
	}
	s.queue, s.queued = nil, 0
	s.changed.Broadcast()
}

// close waits until the queue has been written, or a write failed, and
// stops the goroutine. It returns the write error, if any.
func (s *sender) close() error {
	s.mu.Lock()
	s.closing = true
	s.changed.Broadcast()
	done := s.done
	s.mu.Unlock()
	if done != nil {
		<-done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// lastSent reports whether replies are being sent, and else when the
// last queued ones were.
func (s *sender) lastSent() (busy bool, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.busy, s.emptied
}
