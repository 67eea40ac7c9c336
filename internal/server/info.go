package server

import (
	"fmt"
	"maps"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// infoSection is one section of INFO: its title, whether a plain INFO
// includes it, and the function that writes its lines.
type infoSection struct {
	name  string // lower case, as asked for
	title string // as printed: "# Server"
	dflt  bool   // in INFO and INFO default
	write func(s *Server, b *infoBuilder)
}

// infoSections are INFO's sections, in Redis's order.
var infoSections = []infoSection{
	{"server", "Server", true, (*Server).infoServer},
	{"clients", "Clients", true, (*Server).infoClients},
	{"memory", "Memory", true, (*Server).infoMemory},
	{"persistence", "Persistence", true, (*Server).infoPersistence},
	{"stats", "Stats", true, (*Server).infoStats},
	{"replication", "Replication", true, (*Server).infoReplication},
	{"cpu", "CPU", true, (*Server).infoCPU},
	{"commandstats", "Commandstats", false, (*Server).infoCommandstats},
	{"errorstats", "Errorstats", true, (*Server).infoErrorstats},
	{"keyspace", "Keyspace", true, (*Server).infoKeyspace},
}

// infoBuilder collects "key:value\r\n" lines.
type infoBuilder struct{ strings.Builder }

func (b *infoBuilder) add(key string, value any) {
	fmt.Fprintf(b, "%s:%v\r\n", key, value)
}

// INFO [section [section ...]]: "# Section" headers and "key:value"
// lines, a blank line between sections. "all" and "everything" ask for
// every section, "default" for those a plain INFO gives; an unknown
// section gives nothing.
func (s *Server) info(c *conn, args [][]byte) {
	want := make(map[string]bool)
	for _, a := range args[1:] {
		want[strings.ToLower(string(a))] = true
	}
	all := want["all"] || want["everything"]
	dflt := len(args) == 1 || want["default"]
	var b infoBuilder
	for _, sec := range infoSections {
		if !all && !want[sec.name] && !(dflt && sec.dflt) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("# " + sec.title + "\r\n")
		sec.write(s, &b)
	}
	c.out.verbatim(b.String())
}

// buildVersion returns the version of the program, from its build
// information.
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

func (s *Server) infoServer(b *infoBuilder) {
	uptime := time.Since(s.started)
	port := ""
	if a := s.Addr(); a != nil {
		_, port, _ = net.SplitHostPort(a.String())
	}
	exe, _ := os.Executable()
	b.add("redis_version", Version)
	b.add("aether_version", buildVersion())
	b.add("redis_mode", "standalone")
	b.add("os", runtime.GOOS+" "+runtime.GOARCH)
	b.add("arch_bits", strconv.IntSize)
	b.add("go_version", runtime.Version())
	b.add("process_id", os.Getpid())
	b.add("run_id", s.runID)
	b.add("tcp_port", port)
	b.add("server_time_usec", time.Now().UnixMicro())
	b.add("uptime_in_seconds", int64(uptime/time.Second))
	b.add("uptime_in_days", int64(uptime/(24*time.Hour)))
	b.add("executable", exe)
	b.add("config_file", s.cfg.ConfigFile)
}

func (s *Server) infoClients(b *infoBuilder) {
	b.add("connected_clients", s.clients.Load())
	b.add("maxclients", s.cfg.MaxClients)
	b.add("blocked_clients", 0)
	b.add("tracking_clients", 0)
}

func (s *Server) infoMemory(b *infoBuilder) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b.add("used_memory", m.HeapAlloc)
	b.add("used_memory_human", humanBytes(m.HeapAlloc))
	b.add("used_memory_rss", rss(m.Sys))
	b.add("used_memory_rss_human", humanBytes(rss(m.Sys)))
	b.add("go_heap_sys", m.HeapSys)
	b.add("go_gc_cycles", m.NumGC)
	b.add("maxmemory", 0)
	b.add("maxmemory_policy", "noeviction")
}

// rss returns the resident set size of the process, or fallback where
// /proc does not tell it.
func rss(fallback uint64) uint64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return fallback
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return fallback
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return fallback
	}
	return pages * uint64(os.Getpagesize())
}

// humanBytes formats n as Redis does: "1.50M".
func humanBytes(n uint64) string {
	units := []string{"B", "K", "M", "G", "T"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatUint(n, 10) + "B"
	}
	return strconv.FormatFloat(f, 'f', 2, 64) + units[i]
}

func (s *Server) infoPersistence(b *infoBuilder) {
	st := s.db.Stats()
	status := "ok"
	if s.stats.rewriteFailed.Load() {
		status = "err"
	}
	b.add("loading", 0)
	b.add("async_loading", 0)
	b.add("rdb_bgsave_in_progress", 0)
	b.add("rdb_last_bgsave_status", "ok")
	b.add("aof_enabled", 1)
	b.add("aof_rewrite_in_progress", boolInt(st.MergeRunning))
	b.add("aof_last_bgrewrite_status", status)
	b.add("aether_keys", st.Keys)
	b.add("aether_live_bytes", st.LiveBytes)
	b.add("aether_dead_bytes", st.DeadBytes)
	b.add("aether_data_bytes", st.DataBytes)
	b.add("aether_data_files", st.DataFiles)
	b.add("aether_merges", st.Merges)
	b.add("aether_merge_in_progress", boolInt(st.MergeRunning))
	var last int64
	if !st.LastMerge.IsZero() {
		last = st.LastMerge.Unix()
	}
	b.add("aether_last_merge_time", last)
	b.add("aether_last_merge_duration_ms", st.LastMergeDuration.Milliseconds())
	b.add("aether_last_merge_reclaimed_bytes", st.LastMergeReclaimed)
	b.add("aether_sync_mode", s.cfg.SyncMode)
	b.add("aether_sync_interval_ms", s.cfg.SyncInterval.Milliseconds())
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *Server) infoStats(b *infoBuilder) {
	st := s.stats
	b.add("total_connections_received", st.connsReceived.Load())
	b.add("total_commands_processed", st.commands.Load())
	b.add("instantaneous_ops_per_sec", st.opsPerSec())
	b.add("total_net_input_bytes", st.netIn.Load())
	b.add("total_net_output_bytes", st.netOut.Load())
	b.add("rejected_connections", st.rejected.Load())
	b.add("expired_keys", 0)
	b.add("evicted_keys", 0)
	b.add("keyspace_hits", st.hits.Load())
	b.add("keyspace_misses", st.misses.Load())
	b.add("total_error_replies", st.errorReplies.Load())
	b.add("aether_protocol_errors", st.protocolErrors.Load())
}

func (s *Server) infoReplication(b *infoBuilder) {
	if s.cfg.Cluster != nil {
		role := "slave"
		if s.cfg.Cluster.IsLeader() {
			role = "master"
		}
		b.add("role", role)
		s.infoRaft(b)
		return
	}
	b.add("role", "master")
	b.add("connected_slaves", 0)
	b.add("master_failover_state", "no-failover")
	b.add("master_replid", s.runID)
	b.add("master_repl_offset", 0)
}

func (s *Server) infoCPU(b *infoBuilder) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return
	}
	secs := func(t syscall.Timeval) string {
		return strconv.FormatFloat(float64(t.Sec)+float64(t.Usec)/1e6, 'f', 6, 64)
	}
	b.add("used_cpu_sys", secs(ru.Stime))
	b.add("used_cpu_user", secs(ru.Utime))
}

func (s *Server) infoCommandstats(b *infoBuilder) {
	for i, spec := range commandList {
		st := &s.stats.perCommand[i]
		calls, rejected := st.calls.Load(), st.rejected.Load()
		if calls == 0 && rejected == 0 {
			continue
		}
		usec := st.usec.Load()
		perCall := 0.0
		if calls > 0 {
			perCall = float64(usec) / float64(calls)
		}
		b.add("cmdstat_"+spec.name, fmt.Sprintf("calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d",
			calls, usec, perCall, rejected, st.failed.Load()))
	}
}

func (s *Server) infoErrorstats(b *infoBuilder) {
	counts := s.stats.errorCounts()
	for _, code := range slices.Sorted(maps.Keys(counts)) {
		b.add("errorstat_"+code, fmt.Sprintf("count=%d", counts[code]))
	}
}

func (s *Server) infoKeyspace(b *infoBuilder) {
	if n := s.db.Len(); n > 0 {
		b.add("db0", fmt.Sprintf("keys=%d,expires=0,avg_ttl=0", n))
	}
}
