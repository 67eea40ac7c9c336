package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	aetherkv "github.com/aether-kv/aether-kv"
	"github.com/aether-kv/aether-kv/internal/cluster"
)

// DefaultMaxClients is the number of connections served at once when
// Config.MaxClients is zero, as Redis's maxclients.
const DefaultMaxClients = 10000

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("server: closed")

// Config configures a Server. The zero value serves with the defaults: no
// password, DefaultMaxClients, no timeouts, the store's default size
// limits.
type Config struct {
	// Password, when not empty, must be given with AUTH or HELLO ... AUTH
	// before any other command. Without it, Serve refuses a listener that
	// is not on a loopback address.
	Password string

	// MaxClients is the number of connections served at once; the next
	// one is answered "-ERR max number of clients reached" and closed.
	// The default is DefaultMaxClients.
	MaxClients int

	// IdleTimeout closes a connection that has sent no request for this
	// long. Zero means never.
	IdleTimeout time.Duration

	// RequestTimeout bounds the time a client takes to send the rest of a
	// request once the server has begun to wait for it, plus one second
	// per MiB of its arguments, and the time it leaves each MiB of replies
	// unread. A client over it is disconnected. Zero means no bound.
	RequestTimeout time.Duration

	// MaxKeySize and MaxValueSize are the store's limits (the defaults of
	// aetherkv when zero). No argument of a request may be longer than
	// the larger of the two.
	MaxKeySize   int
	MaxValueSize int

	// SyncMode and SyncInterval are the store's, which INFO and CONFIG
	// GET report.
	SyncMode     aetherkv.SyncMode
	SyncInterval time.Duration

	// SyncWrites makes each connection sync the store before it sends
	// replies to write commands: once per batch of pipelined commands, and
	// concurrent connections share each fsync, as Redis's appendfsync
	// always does. Over a store opened in SyncModeInterval it gives
	// clients the guarantee of SyncModeAlways, that every write
	// acknowledged is durable, with far fewer fsyncs when clients
	// pipeline. When the sync fails, the replies are not sent and the
	// connection is closed.
	SyncWrites bool

	// MetricsAddr, when not empty, is the address of an HTTP listener
	// that serves Prometheus metrics at /metrics.
	MetricsAddr string

	// ConfigFile is reported by INFO as config_file.
	ConfigFile string

	// Logger receives the server's logs. The default discards them.
	Logger *slog.Logger

	// Cluster, when not nil, makes the server a node of a replicated
	// cluster: commands on keys run on the leader (see routeHere), and
	// writes go through the raft log. SyncWrites is then ignored: a write
	// is acknowledged once a majority has it in its log, on disk.
	Cluster *cluster.Node
}

// withDefaults returns a copy of c with every zero field set to its
// default.
func (c Config) withDefaults() Config {
	if c.MaxClients == 0 {
		c.MaxClients = DefaultMaxClients
	}
	if c.MaxKeySize == 0 {
		c.MaxKeySize = aetherkv.DefaultMaxKeySize
	}
	if c.MaxValueSize == 0 {
		c.MaxValueSize = aetherkv.DefaultMaxValueSize
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports the first setting out of range.
func (c Config) Validate() error {
	switch {
	case c.MaxClients < 0:
		return fmt.Errorf("server: MaxClients %d is negative", c.MaxClients)
	case c.IdleTimeout < 0:
		return fmt.Errorf("server: IdleTimeout %v is negative", c.IdleTimeout)
	case c.RequestTimeout < 0:
		return fmt.Errorf("server: RequestTimeout %v is negative", c.RequestTimeout)
	case c.MaxKeySize < 0 || c.MaxKeySize > aetherkv.MaxKeySizeLimit:
		return fmt.Errorf("server: MaxKeySize %d out of range", c.MaxKeySize)
	case c.MaxValueSize < 0 || c.MaxValueSize > aetherkv.MaxValueSizeLimit:
		return fmt.Errorf("server: MaxValueSize %d out of range", c.MaxValueSize)
	}
	return nil
}

// maxRequest is the most bytes one request may take: enough for a SET of
// the largest key and value, and never less than MinRequestLimit, so
// that MSET and DEL of many keys fit.
func (c Config) maxRequest() int64 {
	return max(MinRequestLimit, 2*int64(c.MaxKeySize)+int64(c.MaxValueSize)+64<<10)
}

// A Server serves a store over the Redis protocol (RESP2, and RESP3 after
// HELLO 3). Each connection has a goroutine of its own. A Server is safe
// for concurrent use.
type Server struct {
	db      store
	cfg     Config
	log     *slog.Logger
	keys    *stripes
	stats   *serverStats
	metrics *metrics // nil when Config.MetricsAddr is empty
	started time.Time
	runID   string
	// replyLimit is the most bytes of replies a connection queues for a
	// client that has not taken them (see sender): as many as one request
	// may hold. Atomic so that tests can lower it on a running server.
	replyLimit atomic.Int64

	mu struct {
		sync.Mutex // Guards the fields below.
		ln         net.Listener
		conns      map[*conn]struct{}
		serving    bool
		closed     bool
	}
	draining atomic.Bool  // Shutdown has begun: connections end after their command
	clients  atomic.Int64 // connections open
	nextID   atomic.Int64 // the last client id given

	fwd       forwarder   // connections to the leader, in cluster mode
	rewriting atomic.Bool // a BGREWRITEAOF merge is running
	warned    rateLimits

	stop  chan struct{}  // closed by Shutdown: background goroutines end
	conns sync.WaitGroup // connection goroutines
	bg    sync.WaitGroup // background goroutines: merges, sampling, metrics
}

// New returns a server of db. It serves nothing until Serve.
func New(db *aetherkv.DB, cfg Config) (*Server, error) {
	return newServer(db, cfg)
}

func newServer(db store, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	var id [20]byte
	rand.Read(id[:])
	s := &Server{
		db:      db,
		cfg:     cfg,
		log:     cfg.Logger,
		keys:    newStripes(),
		stats:   newServerStats(),
		started: time.Now(),
		runID:   hex.EncodeToString(id[:]),
		stop:    make(chan struct{}),
	}
	s.replyLimit.Store(s.cfg.maxRequest())
	s.mu.conns = make(map[*conn]struct{})
	s.fwd.password = cfg.Password
	if cfg.Cluster != nil {
		s.cfg.SyncWrites = false
		s.db = &replicated{store: db, node: cfg.Cluster}
	}
	if cfg.MetricsAddr != "" {
		s.metrics = newMetrics(s)
	}
	return s, nil
}

// Serve accepts connections on ln until Shutdown, when it returns
// ErrServerClosed; Serve closes ln. It refuses a listener on an address
// other than loopback when no password is set.
func (s *Server) Serve(ln net.Listener) error {
	if s.cfg.Password == "" && !isLoopback(ln.Addr()) {
		ln.Close()
		return fmt.Errorf("server: %s is not a loopback address and no password is set: set PASSWORD to serve other hosts, or listen on 127.0.0.1", ln.Addr())
	}
	s.mu.Lock()
	if s.mu.closed || s.mu.serving {
		serving := s.mu.serving
		s.mu.Unlock()
		ln.Close()
		if serving {
			return errors.New("server: Serve called twice")
		}
		return ErrServerClosed
	}
	// Start the background goroutines under the lock, so that Shutdown,
	// which takes it first, waits for them.
	if s.metrics != nil {
		if err := s.metrics.start(s.cfg.MetricsAddr); err != nil {
			s.mu.Unlock()
			ln.Close()
			return err
		}
	}
	s.mu.serving, s.mu.ln = true, ln
	s.goBackground(s.sampleOps)
	if s.cfg.Cluster != nil {
		s.goBackground(s.registerLoop)
	}
	s.mu.Unlock()
	s.log.Info("serving", "addr", ln.Addr().String(), "max_clients", s.cfg.MaxClients,
		"password", s.cfg.Password != "", "metrics_addr", s.cfg.MetricsAddr)
	return s.acceptLoop(ln)
}

// Addr returns the address Serve listens on, or nil before Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.ln == nil {
		return nil
	}
	return s.mu.ln.Addr()
}

// isLoopback reports whether addr is a loopback IP address.
func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.Network() == "unix"
	}
	return tcp.IP.IsLoopback()
}

func (s *Server) acceptLoop(ln net.Listener) error {
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosed() || errors.Is(err, net.ErrClosed) {
				return ErrServerClosed
			}
			// Out of file descriptors, most likely: wait, as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.warned.log(s.log, "accept", "accept failed; retrying", "err", err, "retry_in", delay)
			select {
			case <-time.After(delay):
			case <-s.stop:
			}
			continue
		}
		delay = 0
		s.stats.connsReceived.Add(1)
		if !s.admit(nc) {
			continue
		}
	}
}

// admit starts serving nc, or turns it away when MaxClients are served.
func (s *Server) admit(nc net.Conn) bool {
	if s.clients.Add(1) > int64(s.cfg.MaxClients) {
		s.clients.Add(-1)
		s.stats.rejected.Add(1)
		s.warned.log(s.log, "maxclients", "connection refused: max number of clients reached",
			"remote", nc.RemoteAddr().String(), "max_clients", s.cfg.MaxClients)
		nc.SetWriteDeadline(time.Now().Add(time.Second))
		nc.Write([]byte("-ERR max number of clients reached\r\n"))
		nc.Close()
		return false
	}
	c := newConn(s, nc)
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		s.clients.Add(-1)
		nc.Close()
		return false
	}
	s.mu.conns[c] = struct{}{}
	s.conns.Add(1)
	s.mu.Unlock()
	go c.serve()
	return true
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.closed
}

// Shutdown stops the server: it stops accepting, lets each connection
// finish the command it is running (and send its reply), closes the
// connections, and waits for background work such as a BGREWRITEAOF
// merge. A request not yet fully received is dropped. When ctx ends first,
// Shutdown closes the connections at once, waits for the commands still
// running, and returns ctx's error. It does not close the store.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return nil
	}
	s.mu.closed = true
	s.draining.Store(true)
	if s.mu.ln != nil {
		s.mu.ln.Close()
	}
	for c := range s.mu.conns {
		c.nc.SetReadDeadline(time.Now()) // wake a connection waiting for a request
	}
	s.mu.Unlock()
	close(s.stop)

	done := make(chan struct{})
	go func() {
		s.conns.Wait()
		s.bg.Wait()
		s.fwd.close()
		close(done)
	}()
	select {
	case <-done:
		s.log.Info("server stopped")
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for c := range s.mu.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	<-done
	s.log.Warn("server stopped before every connection finished", "err", ctx.Err())
	return ctx.Err()
}

// goBackground runs fn on a goroutine that Shutdown waits for.
func (s *Server) goBackground(fn func()) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		fn()
	}()
}

// rateLimits lets a kind of warning be logged once a minute, so that an
// attack cannot flood the log. It is safe for concurrent use.
type rateLimits struct {
	mu   sync.Mutex           // Guards last.
	last map[string]time.Time // kind -> when it was last logged
}

func (r *rateLimits) log(l *slog.Logger, kind, msg string, args ...any) {
	r.mu.Lock()
	now := time.Now()
	ok := now.Sub(r.last[kind]) >= time.Minute
	if ok {
		if r.last == nil {
			r.last = make(map[string]time.Time)
		}
		r.last[kind] = now
	}
	r.mu.Unlock()
	if ok {
		l.Warn(msg, args...)
	}
}
