package cli

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tidwall/redcon"

	aetherkv "github.com/aether-kv/aether-kv"
	"github.com/aether-kv/aether-kv/internal/cluster"
	"github.com/aether-kv/aether-kv/internal/config"
	"github.com/aether-kv/aether-kv/internal/server"
)

// clusterFlags are serve's flags for cluster mode, which override the
// configuration.
type clusterFlags struct {
	nodeID, raftAddr, peers, join string
}

// settings returns the flags given, by setting name.
func (cf *clusterFlags) settings(cmd *cobra.Command) map[string]string {
	set := map[string]string{}
	for flag, key := range map[string]string{"node-id": "NODE_ID", "raft-addr": "RAFT_ADDR", "peers": "PEERS", "join": "JOIN"} {
		if cmd.Flags().Changed(flag) {
			v, _ := cmd.Flags().GetString(flag)
			set[key] = v
		}
	}
	return set
}

// runNode serves the store as a node of a raft cluster until ctx is done.
func (p *program) runNode(ctx context.Context, cfg *config.Config, opts *aetherkv.Options, scfg server.Config, ln net.Listener, logger *slog.Logger) error {
	// The raft log, fsynced before a write is acknowledged, is what makes
	// writes durable; the store is rebuilt from it after a crash.
	opts.SyncMode = aetherkv.SyncModeInterval
	db, err := aetherkv.Open(cfg.DataDir, opts)
	if err != nil {
		ln.Close()
		return err
	}
	raftDir := cfg.RaftDir
	if raftDir == "" {
		raftDir = filepath.Join(cfg.DataDir, "raft")
	}
	var peers []cluster.Peer
	for _, pr := range cfg.Peers {
		peers = append(peers, cluster.Peer{ID: pr.ID, Addr: pr.Addr})
	}
	node, err := cluster.Open(db, cluster.Config{
		NodeID: cfg.NodeID, RaftAddr: cfg.RaftAddr, RaftDir: raftDir,
		RESPAddr: advertised(ln.Addr(), cfg.RaftAddr), Peers: peers,
		Options: *opts, Logger: logger, LogOutput: os.Stderr, TrailingLogs: uint64(cfg.RaftTrailingLogs),
		Fatal: func(err error) {
			logger.Error("the store failed a committed write: stopping; the node replays the raft log when it starts again", "err", err)
			os.Exit(1)
		},
	})
	if err != nil {
		ln.Close()
		return errors.Join(err, db.Close())
	}
	logger.Info("cluster node started", "node", cfg.NodeID, "raft_addr", cfg.RaftAddr, "raft_dir", raftDir, "addr", ln.Addr().String(), "keys", db.Len())
	scfg.Cluster = node
	srv, err := server.New(db, scfg)
	if err != nil {
		ln.Close()
		return errors.Join(err, node.Close(), db.Close())
	}
	if cfg.Join != "" {
		go joinCluster(ctx, cfg, logger)
	}
	serveErr := serveUntilDone(ctx, srv, ln, logger)
	return errors.Join(serveErr, node.Close(), db.Close())
}

// advertised returns the address other nodes reach the listener at: its
// own, or, when it listens on every interface, the raft address's host
// with its port.
func advertised(addr net.Addr, raftAddr string) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if rh, _, err := net.SplitHostPort(raftAddr); err == nil {
			host = rh
		}
	}
	return net.JoinHostPort(host, port)
}

// joinCluster asks the node at cfg.Join to add this node, every second
// until it succeeds or ctx is done.
func joinCluster(ctx context.Context, cfg *config.Config, logger *slog.Logger) {
	for attempt := 1; ; attempt++ {
		err := sendJoin(cfg)
		if err == nil {
			logger.Info("joined the cluster", "through", cfg.Join)
			return
		}
		if attempt == 1 || attempt%10 == 0 {
			logger.Warn("join failed; retrying every second", "through", cfg.Join, "attempt", attempt, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func sendJoin(cfg *config.Config) error {
	nc, err := net.DialTimeout("tcp", cfg.Join, 2*time.Second)
	if err != nil {
		return err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(15 * time.Second))
	var cmds [][]string
	if cfg.Password != "" {
		cmds = append(cmds, []string{"AUTH", cfg.Password})
	}
	cmds = append(cmds, []string{"RAFT", "ADD", cfg.NodeID, cfg.RaftAddr})
	var req []byte
	for _, args := range cmds {
		req = redcon.AppendArray(req, len(args))
		for _, a := range args {
			req = redcon.AppendBulkString(req, a)
		}
	}
	if _, err := nc.Write(req); err != nil {
		return err
	}
	r := bufio.NewReader(nc)
	for range cmds {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, "-") {
			return errors.New(strings.TrimSpace(line[1:]))
		}
	}
	return nil
}
