package server

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime/debug"
	"time"
)

// errDraining ends a connection's wait for a request during Shutdown.
var errDraining = errors.New("server shutting down")

// writeChunk is the most bytes written with one write deadline: a client
// must take each writeChunk of its replies within Config.RequestTimeout.
const writeChunk = 1 << 20

// conn is one client connection. Only its own goroutine uses it, but for
// nc, which Shutdown may close or set a deadline on.
type conn struct {
	srv     *Server
	nc      net.Conn
	id      int64
	addr    string // remote address
	laddr   string // local address
	created time.Time
	rd      *reader
	out     writer
	snd     *sender // where out sends the replies

	authed    bool           // AUTH succeeded, or no password is set
	name      string         // CLIENT SETNAME
	libName   string         // CLIENT SETINFO LIB-NAME
	libVer    string         // CLIENT SETINFO LIB-VER
	lastAt    time.Duration  // when the last command began (monoNow), for CLIENT INFO's idle
	quit      bool           // QUIT: close once the reply is sent
	unsynced  bool           // a write ran whose reply waits for a sync (Config.SyncWrites)
	readonly  bool           // READONLY: reads may be served by a follower, stale (cluster mode)
	forwarded bool           // RAFT FORWARDED: a follower forwards its clients' commands here
	verifying <-chan error   // the leadership check of the write command running (cluster mode)
	pending   []<-chan error // SETs sent to the raft log whose replies are not written yet (cluster mode)
	value     []byte         // reused to read values into
	nameBuf   [32]byte
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{
		srv:     s,
		nc:      nc,
		id:      s.nextID.Add(1),
		addr:    nc.RemoteAddr().String(),
		laddr:   nc.LocalAddr().String(),
		created: time.Now(),
		authed:  s.cfg.Password == "",
	}
	c.lastAt = monoNow()
	c.snd = newSender(c, s.replyLimit.Load())
	c.out.w = c.snd
	c.out.stats = s.stats
	if s.cfg.SyncWrites {
		c.out.beforeFlush = c.syncWrites
	}
	c.rd = newReader(connReader{c}, c.limits())
	c.rd.clock.timeout = s.cfg.RequestTimeout
	return c
}

// limits returns the request limits for the client: tight before it has
// authenticated.
func (c *conn) limits() limits {
	if !c.authed {
		return limits{maxArgs: MaxArgsUnauth, maxBulk: MaxBulkUnauth, maxRequest: 1 << 20, unauth: true}
	}
	return limits{
		maxArgs:    MaxArgs,
		maxBulk:    int64(max(c.srv.cfg.MaxKeySize, c.srv.cfg.MaxValueSize)),
		maxRequest: c.srv.cfg.maxRequest(),
	}
}

// authenticated marks the client as authenticated, lifting the limits on
// its requests.
func (c *conn) authenticated() {
	c.authed = true
	c.rd.lim = c.limits()
}

// serve reads requests and runs them until the client leaves, breaks the
// protocol, times out, or the server shuts down.
func (c *conn) serve() {
	s := c.srv
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("connection closed after a panic", "client", c.id, "remote", c.addr, "panic", r, "stack", string(debug.Stack()))
		}
		c.snd.close() // the replies queued go out first
		c.nc.Close()
		s.mu.Lock()
		delete(s.mu.conns, c)
		s.mu.Unlock()
		s.clients.Add(-1)
		s.conns.Done()
	}()
	for !s.draining.Load() {
		args, err := c.rd.next()
		if err != nil {
			c.readFailed(err)
			break
		}
		s.dispatch(c, args)
		if c.quit || c.out.err != nil {
			break
		}
	}
	c.resolvePending()
	c.out.flush()
}

// syncWrites syncs the store if the connection ran a write since the last
// sync, before its replies go out.
func (c *conn) syncWrites() error {
	if !c.unsynced {
		return nil
	}
	if err := c.srv.db.Sync(); err != nil {
		c.srv.log.Error("sync failed: replies to writes withheld, connection closed", "client", c.id, "remote", c.addr, "err", err)
		return err
	}
	c.unsynced = false
	return nil
}

// readFailed ends the connection after a failed read: a protocol error is
// answered first, as Redis answers it.
func (c *conn) readFailed(err error) {
	var perr *protocolError
	switch {
	case errors.As(err, &perr):
		c.out.error("ERR " + perr.Error())
		c.srv.stats.protocolErrors.Add(1)
		c.srv.log.Debug("closing connection: protocol error", "client", c.id, "remote", c.addr, "err", perr.msg)
	case errors.Is(err, os.ErrDeadlineExceeded) && c.rd.clock.reading && !c.srv.draining.Load():
		c.srv.log.Debug("closing connection: request not received in time", "client", c.id, "remote", c.addr)
	case errors.Is(err, os.ErrDeadlineExceeded) && !c.srv.draining.Load():
		c.srv.log.Debug("closing idle connection", "client", c.id, "remote", c.addr)
	case errors.Is(err, io.EOF), errors.Is(err, errDraining), errors.Is(err, os.ErrDeadlineExceeded):
	default:
		c.srv.log.Debug("closing connection", "client", c.id, "remote", c.addr, "err", err)
	}
}

// connReader is what the request reader reads from. Before it waits for
// bytes it sends the replies buffered so far, so that a pipeline is
// answered with as few writes as the requests arrived in, and it sets the
// read deadline: the request's own while one is arriving, else the idle
// timeout, which counts from when the client took its last queued reply:
// a client still taking its replies is not idle.
type connReader struct{ c *conn }

func (r connReader) Read(p []byte) (int, error) {
	c := r.c
	c.resolvePending()
	if err := c.out.flush(); err != nil {
		return 0, err
	}
	for {
		var deadline time.Time
		idle := false
		switch {
		case c.rd.clock.reading:
			deadline = c.rd.clock.readDeadline(time.Now)
		case c.srv.cfg.IdleTimeout > 0 && !c.forwarded: // followers keep their forwarding connections
			deadline = time.Now().Add(c.srv.cfg.IdleTimeout)
			idle = true
		}
		c.nc.SetReadDeadline(deadline)
		// Shutdown sets draining and then a past deadline: checking after
		// setting ours means one of the two ends this read.
		if c.srv.draining.Load() {
			return 0, errDraining
		}
		n, err := c.nc.Read(p)
		c.srv.stats.netIn.Add(int64(n))
		if idle && n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
			// A client still taking its replies is not idle.
			if busy, at := c.snd.lastSent(); busy || time.Since(at) < c.srv.cfg.IdleTimeout {
				continue
			}
		}
		return n, err
	}
}

// connWriter writes replies to the connection, a writeChunk at a time,
// each within Config.RequestTimeout, waiting for the client to take them
// (the sender's goroutine uses it).
type connWriter struct{ c *conn }

func (w connWriter) Write(p []byte) (int, error) {
	c, done := w.c, 0
	for done < len(p) {
		chunk := p[done:min(len(p), done+writeChunk)]
		if t := c.srv.cfg.RequestTimeout; t > 0 {
			c.nc.SetWriteDeadline(time.Now().Add(t))
		}
		n, err := c.nc.Write(chunk)
		done += n
		c.srv.stats.netOut.Add(int64(n))
		if err != nil {
			return done, err
		}
	}
	return done, nil
}
