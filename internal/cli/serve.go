package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/spf13/cobra"

	aetherkv "github.com/aether-kv/aether-kv"
	"github.com/aether-kv/aether-kv/internal/config"
	"github.com/aether-kv/aether-kv/internal/server"
)

// shutdownTimeout bounds the wait for the commands in flight when serve
// is told to stop; past it the connections are closed at once.
const shutdownTimeout = 10 * time.Second

// newServeCommand returns the "serve" command: the store over the Redis
// protocol.
func newServeCommand(p *program) *cobra.Command {
	var addr string
	var cf clusterFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the store over the Redis protocol, to redis-cli and every Redis client",
		Long: `Serve opens the data directory and serves it over the Redis protocol
(RESP2, and RESP3 after HELLO 3) on ADDR, 127.0.0.1:6380 by default, so
that redis-cli, redis-benchmark and Redis client libraries can use it:

  redis-cli -p 6380 SET user:1 "John Doe"
  redis-cli -p 6380 GET user:1

It serves the string commands (GET, SET with NX, XX, GET, EX, PX, ...,
MGET, MSET, INCR, APPEND, ...), the key commands (DEL, EXISTS, EXPIRE,
TTL, PERSIST, KEYS, SCAN, DBSIZE, FLUSHDB) and the connection and server
commands clients send (HELLO, AUTH, CLIENT, COMMAND, CONFIG GET, INFO,
SELECT 0, PING, QUIT); BGREWRITEAOF starts a merge and SAVE syncs.

The settings are ADDR, PASSWORD (clients must AUTH; required to listen on
an address other than loopback), MAX_CLIENTS, IDLE_TIMEOUT,
REQUEST_TIMEOUT and METRICS_ADDR (Prometheus metrics at /metrics), in the
configuration file or the environment. Logs go to standard error.

On SIGINT or SIGTERM the server stops accepting, lets the commands in
flight finish, then flushes, syncs and closes the store, and exits 0.

With NODE_ID set the server is a node of a replicated cluster (raft):
RAFT_ADDR is its raft transport, PEERS the initial members to start a new
cluster, or JOIN the address of a running node to join one. Three nodes on
one machine:

  aether-kv serve --node-id n1 --addr 127.0.0.1:6381 --raft-addr 127.0.0.1:7001 --data-dir d1 \
      --peers n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003 &
  (the same for n2 and n3, with their own ports and directory)

Any node takes every command: followers forward to the leader. Writes are
acknowledged once a majority has them; reads are linearizable (READONLY
lets a connection read a follower's copy, possibly stale). RAFT STATUS,
INFO replication and ROLE show the cluster; RAFT ADD id host:port
[FORCE] and RAFT REMOVE id change its members.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return p.runServe(cmd, addr, &cf) },
	}
	cmd.Flags().StringVar(&addr, "addr", "", "listen on `ADDR`, host:port (overrides ADDR)")
	cmd.Flags().StringVar(&cf.nodeID, "node-id", "", "this node's `ID` in the cluster (overrides NODE_ID)")
	cmd.Flags().StringVar(&cf.raftAddr, "raft-addr", "", "raft transport `host:port` (overrides RAFT_ADDR)")
	cmd.Flags().StringVar(&cf.peers, "peers", "", "initial members, `id=host:port,...` (overrides PEERS)")
	cmd.Flags().StringVar(&cf.join, "join", "", "join the cluster through the node at `host:port` (overrides JOIN)")
	return cmd
}

// runServe serves the store until cmd's context is done.
func (p *program) runServe(cmd *cobra.Command, addr string, cf *clusterFlags) error {
	flags := cf.settings(cmd)
	if cmd.Flags().Changed("addr") {
		if err := config.CheckAddr(addr); err != nil {
			return usageError{fmt.Errorf("--addr %q: %w", addr, err)}
		}
		flags["ADDR"] = addr
	}
	cfg, err := p.configWith(cmd, flags)
	if err == nil {
		err = cfg.CheckServe()
	}
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
	scfg := server.Config{
		Password:       cfg.Password,
		MaxClients:     cfg.MaxClients,
		IdleTimeout:    cfg.IdleTimeout,
		RequestTimeout: cfg.RequestTimeout,
		MaxKeySize:     cfg.MaxKeySize,
		MaxValueSize:   cfg.MaxValueSize,
		SyncMode:       cfg.SyncMode,
		SyncInterval:   cfg.SyncInterval,
		MetricsAddr:    cfg.MetricsAddr,
		ConfigFile:     cfg.Source,
		Logger:         logger,
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	opts := cfg.Options()
	opts.Logger = logger
	if cfg.NodeID != "" {
		return p.runNode(cmd.Context(), cfg, opts, scfg, ln, logger)
	}
	if opts.SyncMode == aetherkv.SyncModeAlways {
		// The server keeps the promise of always, that every write
		// acknowledged is durable, by syncing before it replies: a
		// pipeline, and the writes of all connections meanwhile, share
		// one fsync.
		opts.SyncMode = aetherkv.SyncModeInterval
		scfg.SyncWrites = true
	}
	db, err := aetherkv.Open(cfg.DataDir, opts)
	if err != nil {
		ln.Close()
		return err
	}
	logger.Info("store opened", "data_dir", cfg.DataDir, "keys", db.Len(), "sync_mode", cfg.SyncMode.String())
	srv, err := server.New(db, scfg)
	if err != nil {
		ln.Close()
		return errors.Join(err, db.Close())
	}
	return errors.Join(serveUntilDone(cmd.Context(), srv, ln, logger), db.Close())
}

// serveUntilDone serves on ln until ctx is done or Serve fails, then shuts
// the server down.
func serveUntilDone(ctx context.Context, srv *server.Server, ln net.Listener, logger *slog.Logger) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var serveErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down: finishing the commands in flight")
	case serveErr = <-served:
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	shutdownErr := srv.Shutdown(sctx)
	if serveErr == nil {
		serveErr = <-served
	}
	if errors.Is(serveErr, server.ErrServerClosed) {
		serveErr = nil
	}
	return errors.Join(serveErr, shutdownErr)
}
