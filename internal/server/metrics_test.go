package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestMetrics(t *testing.T) {
	ts := startServer(t, Config{MetricsAddr: "127.0.0.1:0"})
	rdb := ts.client(t, nil)
	ctx := context.Background()
	rdb.Set(ctx, "k", "v", 0)
	rdb.Get(ctx, "k")
	rdb.Get(ctx, "missing")
	rdb.Incr(ctx, "k") // an error: not an integer

	resp, err := http.Get("http://" + ts.srv.metrics.addr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`aether_commands_total{cmd="get"} 2`,
		`aether_commands_total{cmd="set"} 1`,
		`aether_command_errors_total{cmd="incr"} 1`,
		`aether_error_replies_total{code="ERR"} `, // INCR, and the CLIENT subcommand go-redis tries
		`aether_command_duration_seconds_count{cmd="get"} 2`,
		"aether_connected_clients 1",
		"aether_keyspace_hits_total 2", // GET and INCR
		"aether_keyspace_misses_total 1",
		"aether_keys 1",
		"aether_data_files 1",
		"aether_merges_total 0",
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(string(body), want+"\n") && !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
