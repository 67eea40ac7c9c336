package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// fsyncProbe is the measured cost of making a small write durable.
type fsyncProbe struct {
	when string // "start" or "end" of the run
	// appendLat is a 100-byte append followed by fsync: the file grows, so
	// the file system commits its metadata too.
	appendLat latency
	// overwriteLat is a 100-byte write inside a preallocated file followed
	// by fdatasync: no metadata changes, the cheapest durable write there
	// is, and what a store that preallocates its log pays.
	overwriteLat latency
}

// latency is the median and 90th percentile of n timings.
type latency struct {
	median, p90 time.Duration
	n           int
}

func (l latency) String() string {
	return fmt.Sprintf("median %v, p90 %v (%d in a row)", l.median.Round(time.Microsecond), l.p90.Round(time.Microsecond), l.n)
}

// rate is the most fsyncs one writer can make per second: the cheaper of
// the two probes.
func (p fsyncProbe) rate() float64 {
	return float64(time.Second) / float64(min(p.appendLat.median, p.overwriteLat.median))
}

// measureFsync times n appends and n overwrites of 100 bytes, each made
// durable, in new files in dir.
func measureFsync(dir string, n int) (fsyncProbe, error) {
	f, err := os.CreateTemp(dir, "fsync-probe-")
	if err != nil {
		return fsyncProbe{}, fmt.Errorf("fsync probe: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	rec := make([]byte, 100)
	var p fsyncProbe
	p.appendLat, err = timeN(n, func(int) error {
		if _, err := f.Write(rec); err != nil {
			return err
		}
		return f.Sync()
	})
	if err != nil {
		return fsyncProbe{}, fmt.Errorf("fsync probe: %w", err)
	}
	if _, err := f.WriteAt(make([]byte, 100*n), 0); err != nil {
		return fsyncProbe{}, fmt.Errorf("fsync probe: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fsyncProbe{}, fmt.Errorf("fsync probe: %w", err)
	}
	p.overwriteLat, err = timeN(n, func(i int) error {
		if _, err := f.WriteAt(rec, int64(i*len(rec))); err != nil {
			return err
		}
		return syscall.Fdatasync(int(f.Fd()))
	})
	if err != nil {
		return fsyncProbe{}, fmt.Errorf("fsync probe: %w", err)
	}
	return p, nil
}

// timeN times fn(0..n-1).
func timeN(n int, fn func(i int) error) (latency, error) {
	lat := make([]time.Duration, n)
	for i := range lat {
		start := time.Now()
		if err := fn(i); err != nil {
			return latency{}, err
		}
		lat[i] = time.Since(start)
	}
	slices.Sort(lat)
	return latency{median: lat[n/2], p90: lat[n*9/10], n: n}, nil
}

// fsyncCount is one durable run traced with strace.
type fsyncCount struct {
	puts, syncs int64
	perSec      float64
	err         string
}

// perSync is how many acknowledged puts each fsync covered on average.
func (c fsyncCount) perSync() float64 {
	if c.syncs == 0 {
		return 0
	}
	return float64(c.puts) / float64(c.syncs)
}

// unsynced says why the count shows acknowledged puts that no fsync
// covered, with threads writers, or "".
func (c fsyncCount) unsynced(threads int) string {
	switch {
	case c.puts > 0 && c.syncs == 0:
		return fmt.Sprintf("no fsync at all for %d durable puts", c.puts)
	case c.perSync() > float64(threads)*1.01:
		return fmt.Sprintf("%.1f puts per fsync with %d writers: more than one put per writer per fsync", c.perSync(), threads)
	}
	return ""
}

// straceArgs returns the strace command line, before the traced program's
// own arguments, that counts the durability system calls of exe and all
// its threads into out. With --seccomp-bpf only those calls stop the
// process, so the others run at full speed.
func straceArgs(out, exe string) []string {
	return []string{"-f", "--seccomp-bpf", "-c", "-e", "trace=fsync,fdatasync,msync", "-o", out, exe}
}

// countFsyncs runs one more durable run per store and writer count under
// strace and keeps how many puts each fsync covered. Runs are shorter than
// the measured ones (at most 2 s): the counts matter, not the speed.
func (r *runner) countFsyncs() {
	var threads []int
	for _, w := range r.s.workloads {
		switch w.name {
		case "put-durable-1":
			threads = append(threads, 1)
		case "put-durable-64":
			threads = append(threads, 64)
		}
	}
	if len(threads) == 0 || !r.s.countFsyncs {
		return
	}
	if _, err := exec.LookPath("strace"); err != nil {
		fmt.Fprintln(r.log, "strace not found: fsyncs not counted")
		return
	}
	for _, a := range r.s.stores {
		r.fsyncs[a.name] = map[int]fsyncCount{}
		for _, t := range threads {
			fmt.Fprintf(r.log, "counting fsyncs: %s, %d writers\n", a.name, t)
			dir := filepath.Join(r.work, fmt.Sprintf("%s-strace-%d", a.name, t))
			j := job{Store: a.name, Step: "durable", Dir: dir, Keys: r.s.keys, Threads: t,
				Duration: min(r.s.durable, 2*time.Second)}
			m, err := r.run(j, true)
			c := fsyncCount{}
			if err == nil {
				c.puts, c.perSec = int64(m["puts"]), m["ops_per_sec"]
				c.syncs, err = parseStrace(dir + ".strace")
			}
			if err != nil {
				c.err = err.Error()
			}
			r.fsyncs[a.name][t] = c
			if t == 64 {
				r.record(a, rowPerFsync64, map[string]float64{"v": c.perSync()}, "v", err)
			}
			r.remove(dir)
		}
	}
}

// parseStrace sums the calls column of an strace -c summary.
func parseStrace(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("strace summary: %w", err)
	}
	defer f.Close()
	var n int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		switch fields[len(fields)-1] {
		case "fsync", "fdatasync", "msync":
			calls, err := strconv.ParseInt(fields[3], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("strace summary line %q: %w", sc.Text(), err)
			}
			n += calls
		}
	}
	return n, sc.Err()
}
