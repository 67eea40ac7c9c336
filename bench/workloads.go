package main

import (
	"errors"
	"fmt"
	"strings"
)

// workload is what -workloads selects: one or more worker processes per
// store and repetition, filling one or more rows.
type workload struct {
	name  string
	about string
	run   func(r *runner, a adapter, rep int)
}

// workloads returns every workload, in the order they run.
func workloads() []workload {
	return []workload{
		{"put-seq-1", "buffered puts of new keys in ascending order, 1 goroutine", putSeq(1, rowPut1)},
		{"put-seq-4", "the same keys split into 4 ascending ranges, one goroutine each", putSeq(4, rowPut4)},
		{"get-rand-1", "2×keys random gets of a loaded store, values checked, 1 goroutine", getRand(1, rowGet1)},
		{"get-rand-2", "the same on 2 goroutines", getRand(2, rowGet2)},
		{"get-beside-put", "2×keys random gets on 1 goroutine while another overwrites the keys", mixedRuns},
		{"put-durable-1", "puts acknowledged only once fsynced, 1 goroutine, for -durable", durableRuns(1, rowDurable1)},
		{"put-durable-64", "the same with 64 goroutines", durableRuns(64, rowDurable64)},
		{"reopen", "load -reopen-keys keys (heap per key), reopen in a new process (time, heap), " +
			"merge, reopen again", reopenChain},
		{"space", "bytes on disk after writing -keys keys, overwriting each once, and merging", spaceRuns},
	}
}

// findWorkloads returns the workloads named in a comma-separated list, or
// all of them for "all" or "".
func findWorkloads(list string) ([]workload, error) {
	all := workloads()
	if list == "" || list == "all" {
		return all, nil
	}
	want := map[string]bool{}
	for name := range strings.SplitSeq(list, ",") {
		want[strings.TrimSpace(name)] = true
	}
	var out []workload
	for _, w := range all {
		if want[w.name] {
			out = append(out, w)
			delete(want, w.name)
		}
	}
	for name := range want {
		names := make([]string, len(all))
		for i, w := range all {
			names[i] = w.name
		}
		return nil, fmt.Errorf("unknown workload %q; known: %s", name, strings.Join(names, ","))
	}
	return out, nil
}

func putSeq(threads int, rowID string) func(*runner, adapter, int) {
	return func(r *runner, a adapter, rep int) {
		dir := r.freshDir(a, rowID, rep)
		defer r.remove(dir)
		m, err := r.run(job{Store: a.name, Step: "put", Dir: dir, Keys: r.s.keys, Threads: threads}, false)
		r.record(a, rowID, m, "ops_per_sec", err)
	}
}

func getRand(threads int, rowID string) func(*runner, adapter, int) {
	return func(r *runner, a adapter, rep int) {
		dir, err := r.prepared(a)
		if err != nil {
			r.record(a, rowID, nil, "", fmt.Errorf("loading the keys to read: %w", err))
			return
		}
		m, err := r.run(job{Store: a.name, Step: "get", Dir: dir, Keys: r.s.keys, Threads: threads}, false)
		r.record(a, rowID, m, "ops_per_sec", err)
	}
}

func durableRuns(threads int, rowID string) func(*runner, adapter, int) {
	return func(r *runner, a adapter, rep int) {
		dir := r.freshDir(a, rowID, rep)
		defer r.remove(dir)
		j := job{Store: a.name, Step: "durable", Dir: dir, Keys: r.s.keys, Threads: threads, Duration: r.s.durable}
		m, err := r.run(j, false)
		r.record(a, rowID, m, "ops_per_sec", err)
	}
}

// reopenChain loads a directory, then reopens, merges and reopens it, each
// in a new process.
func reopenChain(r *runner, a adapter, rep int) {
	dir := r.freshDir(a, rowReopen, rep)
	defer r.remove(dir)
	j := job{Store: a.name, Dir: dir, Keys: r.s.reopenKeys, Threads: 1}
	steps := []struct {
		step   string
		record func(m map[string]float64, err error)
	}{
		{"load", func(m map[string]float64, err error) { r.record(a, rowHeapLoad, m, "heap_per_key", err) }},
		{"open", func(m map[string]float64, err error) {
			r.record(a, rowReopen, m, "open_seconds", err)
			r.record(a, rowHeapReopen, m, "heap_per_key", err)
		}},
		{"merge", func(m map[string]float64, err error) { r.record(a, rowMerge, m, "merge_seconds", err) }},
		{"open", func(m map[string]float64, err error) {
			r.record(a, rowReopenMerged, m, "open_seconds", err)
			if _, ok := m["index_read_seconds"]; ok {
				r.record(a, rowIndexRead, m, "index_read_seconds", err)
			}
		}},
	}
	var failed error
	for _, st := range steps {
		if failed != nil {
			st.record(nil, fmt.Errorf("skipped: %w", failed))
			continue
		}
		j.Step = st.step
		m, err := r.run(j, false)
		st.record(m, err)
		if err != nil {
			failed = err
		}
		if errors.Is(err, errUnsupported) {
			break
		}
	}
}

func spaceRuns(r *runner, a adapter, rep int) {
	dir := r.freshDir(a, rowDiskWritten, rep)
	defer r.remove(dir)
	m, err := r.run(job{Store: a.name, Step: "space", Dir: dir, Keys: r.s.keys, Threads: 1}, false)
	r.record(a, rowDiskWritten, m, "disk_written", err)
	r.record(a, rowDiskOverwrite, m, "disk_overwritten", err)
	r.record(a, rowDiskMerged, m, "disk_merged", err)
}
