package server

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics serves Prometheus metrics over HTTP: the server's counters and
// the store's figures, read when scraped, and a latency histogram per
// command.
type metrics struct {
	srv     *Server
	reg     *prometheus.Registry
	latency []prometheus.Observer // by commandSpec.index
	addr    net.Addr              // where /metrics is served, once started
}

func newMetrics(s *Server) *metrics {
	m := &metrics{srv: s, reg: prometheus.NewRegistry()}
	hist := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "aether_command_duration_seconds",
		Help:    "Time taken to run a command, by command.",
		Buckets: prometheus.ExponentialBuckets(1e-6, 4, 12), // 1µs to about 4s
	}, []string{"cmd"})
	for _, spec := range commandList {
		m.latency = append(m.latency, hist.WithLabelValues(spec.name))
	}
	m.reg.MustRegister(hist, collector{s},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observe records that a run of command index took d.
func (m *metrics) observe(index int, d time.Duration) {
	m.latency[index].Observe(d.Seconds())
}

// start serves /metrics on addr until the server stops.
func (m *metrics) start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("server: metrics: %w", err)
	}
	m.addr = ln.Addr()
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s := m.srv
	s.goBackground(func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics listener failed", "err", err)
		}
	})
	s.goBackground(func() {
		<-s.stop
		hs.Close()
	})
	s.log.Info("serving metrics", "addr", ln.Addr().String(), "path", "/metrics")
	return nil
}

// collector reports the counters of the server and the figures of the
// store as Prometheus metrics when scraped.
type collector struct{ s *Server }

var (
	descCommands    = prometheus.NewDesc("aether_commands_total", "Commands run, by command.", []string{"cmd"}, nil)
	descCmdErrors   = prometheus.NewDesc("aether_command_errors_total", "Commands that got an error reply, refused ones included, by command.", []string{"cmd"}, nil)
	descErrors      = prometheus.NewDesc("aether_error_replies_total", "Error replies, by error code.", []string{"code"}, nil)
	descClients     = prometheus.NewDesc("aether_connected_clients", "Connections open.", nil, nil)
	descConns       = prometheus.NewDesc("aether_connections_received_total", "Connections accepted.", nil, nil)
	descRejected    = prometheus.NewDesc("aether_rejected_connections_total", "Connections refused at MAX_CLIENTS.", nil, nil)
	descProtoErrors = prometheus.NewDesc("aether_protocol_errors_total", "Connections closed for a malformed or oversized request.", nil, nil)
	descNetIn       = prometheus.NewDesc("aether_net_input_bytes_total", "Bytes read from clients.", nil, nil)
	descNetOut      = prometheus.NewDesc("aether_net_output_bytes_total", "Bytes written to clients.", nil, nil)
	descHits        = prometheus.NewDesc("aether_keyspace_hits_total", "Reads that found their key.", nil, nil)
	descMisses      = prometheus.NewDesc("aether_keyspace_misses_total", "Reads that did not find their key.", nil, nil)
	descKeys        = prometheus.NewDesc("aether_keys", "Live keys.", nil, nil)
	descLive        = prometheus.NewDesc("aether_live_bytes", "Bytes of the records of live keys.", nil, nil)
	descDisk        = prometheus.NewDesc("aether_disk_bytes", "Bytes of all data files.", nil, nil)
	descDead        = prometheus.NewDesc("aether_reclaimable_bytes", "Bytes a merge would reclaim.", nil, nil)
	descFiles       = prometheus.NewDesc("aether_data_files", "Data files.", nil, nil)
	descMerges      = prometheus.NewDesc("aether_merges_total", "Merges completed since the store was opened.", nil, nil)
	descMerging     = prometheus.NewDesc("aether_merge_running", "1 while a merge runs.", nil, nil)
	descMergeTime   = prometheus.NewDesc("aether_last_merge_duration_seconds", "How long the last merge took.", nil, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c collector) Collect(ch chan<- prometheus.Metric) {
	s, st := c.s, c.s.stats
	for i, spec := range commandList {
		pc := &st.perCommand[i]
		ch <- prometheus.MustNewConstMetric(descCommands, prometheus.CounterValue, float64(pc.calls.Load()), spec.name)
		ch <- prometheus.MustNewConstMetric(descCmdErrors, prometheus.CounterValue, float64(pc.failed.Load()+pc.rejected.Load()), spec.name)
	}
	for code, n := range st.errorCounts() {
		ch <- prometheus.MustNewConstMetric(descErrors, prometheus.CounterValue, float64(n), code)
	}
	counter := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	gauge(descClients, float64(s.clients.Load()))
	counter(descConns, st.connsReceived.Load())
	counter(descRejected, st.rejected.Load())
	counter(descProtoErrors, st.protocolErrors.Load())
	counter(descNetIn, st.netIn.Load())
	counter(descNetOut, st.netOut.Load())
	counter(descHits, st.hits.Load())
	counter(descMisses, st.misses.Load())
	ds := s.db.Stats()
	gauge(descKeys, float64(ds.Keys))
	gauge(descLive, float64(ds.LiveBytes))
	gauge(descDisk, float64(ds.DataBytes))
	gauge(descDead, float64(ds.DeadBytes))
	gauge(descFiles, float64(ds.DataFiles))
	counter(descMerges, ds.Merges)
	gauge(descMerging, float64(boolInt(ds.MergeRunning)))
	gauge(descMergeTime, ds.LastMergeDuration.Seconds())
}
