package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// runner runs the workers of one compare command and keeps what they
// measured.
type runner struct {
	s    settings
	exe  string    // this program, re-executed as a worker
	work string    // the run's own temporary directory
	log  io.Writer // progress

	samples  map[string]map[string][]float64 // row id → store → one value per run
	failures map[string]map[string]string    // row id → store → error
	prep     map[string]prepared             // store → its loaded directory for gets
	fsyncs   map[string]map[int]fsyncCount   // store → writers → traced run

	machine    machineFacts
	probes     []fsyncProbe // at the start and at the end of the run
	started    time.Time
	finished   time.Time
	jobs, done int
}

// prepared is a directory loaded once per store for the get workloads.
type prepared struct {
	dir string
	err error
}

func newRunner(s settings, log io.Writer) (*runner, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	if err := os.MkdirAll(s.base, 0o700); err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	work, err := os.MkdirTemp(s.base, "aether-compare-")
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	return &runner{
		s: s, exe: exe, work: work, log: log,
		samples:  map[string]map[string][]float64{},
		failures: map[string]map[string]string{},
		prep:     map[string]prepared{},
		fsyncs:   map[string]map[int]fsyncCount{},
	}, nil
}

// cleanup removes every directory the run made.
func (r *runner) cleanup() { os.RemoveAll(r.work) }

// runAll measures the machine, then runs every repetition of every
// workload on every store, interleaving the stores so that a change in the
// machine's load during the run touches them all alike.
func (r *runner) runAll() error {
	r.started = time.Now()
	r.machine = readMachine(r.work)
	fmt.Fprintf(r.log, "machine: %s\n", r.machine.summary())
	if err := r.probeFsync("start"); err != nil {
		return err
	}
	r.jobs = r.s.reps * len(r.s.workloads) * len(r.s.stores)
	for rep := range r.s.reps {
		for _, w := range r.s.workloads {
			for _, a := range r.s.stores {
				r.done++
				fmt.Fprintf(r.log, "[%d/%d] rep %d/%d %s %s\n", r.done, r.jobs, rep+1, r.s.reps, w.name, a.name)
				w.run(r, a, rep)
			}
		}
	}
	r.countFsyncs()
	if err := r.probeFsync("end"); err != nil {
		return err
	}
	r.finished = time.Now()
	return nil
}

// probeFsync measures the fsync latency in the run's directory, once at
// the start and once at the end of the run, since other work on the
// machine changes it.
func (r *runner) probeFsync(when string) error {
	p, err := measureFsync(r.work, 200)
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	p.when = when
	r.probes = append(r.probes, p)
	fmt.Fprintf(r.log, "fsync probe at the %s: 100-byte append + fsync %v; 100-byte overwrite + fdatasync %v\n",
		when, p.appendLat, p.overwriteLat)
	return nil
}

// fsyncRate is the most fsyncs per second one writer made in any probe:
// the ceiling against which durable figures are checked.
func (r *runner) fsyncRate() float64 {
	var best float64
	for _, p := range r.probes {
		best = max(best, p.rate())
	}
	return best
}

// run runs j in a new worker process, under strace counting its fsyncs if
// traced is set, and returns what it measured.
func (r *runner) run(j job, traced bool) (map[string]float64, error) {
	args := []string{"worker", "-store", j.Store, "-step", j.Step, "-dir", j.Dir,
		"-keys", strconv.Itoa(j.Keys), "-threads", strconv.Itoa(max(j.Threads, 1)),
		"-duration", j.Duration.String(), "-round", strconv.Itoa(j.Round)}
	name := r.exe
	if traced {
		args = append(straceArgs(j.Dir+".strace", r.exe), args...)
		name = "strace"
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.s.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	// A process group of its own, so that a timeout also ends a worker
	// traced by strace, which killing strace alone would leave running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	syscall.Sync() // so that this run's dirty pages are not written back during the next one
	res, perr := parseResult(stdout.Bytes())
	switch {
	case ctx.Err() != nil:
		err = fmt.Errorf("timed out after %v", r.s.timeout)
	case perr != nil && err != nil:
		err = fmt.Errorf("worker: %w: %s", err, lastLines(stderr.String(), 5))
	case perr != nil:
		err = fmt.Errorf("worker: %w: %s", perr, lastLines(stderr.String(), 5))
	case res.Error != "":
		err = errors.New(res.Error)
		if strings.Contains(res.Error, errUnsupported.Error()) {
			err = fmt.Errorf("%s: %w", j.Step, errUnsupported)
		}
	default:
		err = nil
	}
	took := time.Since(start).Round(10 * time.Millisecond)
	if err != nil {
		fmt.Fprintf(r.log, "    %s %s: %v (%v)\n", j.Store, j.Step, err, took)
		return nil, err
	}
	fmt.Fprintf(r.log, "    %s %s: %s (%v)\n", j.Store, j.Step, metricsLine(res.Metrics), took)
	return res.Metrics, nil
}

// parseResult finds the worker's JSON line in its output.
func parseResult(out []byte) (result, error) {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		if bytes.HasPrefix(lines[i], []byte("{")) {
			var res result
			if err := json.Unmarshal(lines[i], &res); err != nil {
				return result{}, fmt.Errorf("bad result line %q: %w", lines[i], err)
			}
			return res, nil
		}
	}
	return result{}, errors.New("no result line")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}

func metricsLine(m map[string]float64) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s=%.4g", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// freshDir returns a new, not yet existing directory path for one run.
func (r *runner) freshDir(a adapter, what string, rep int) string {
	return filepath.Join(r.work, fmt.Sprintf("%s-%s-%d", a.name, what, rep))
}

// remove deletes a run's directory, and flushes the deletion.
func (r *runner) remove(dir string) {
	os.RemoveAll(dir)
	os.Remove(dir + ".strace")
	syscall.Sync()
}

// prepared returns the directory that the get workloads read for store a,
// loading it on first use.
func (r *runner) prepared(a adapter) (string, error) {
	if p, ok := r.prep[a.name]; ok {
		return p.dir, p.err
	}
	dir := filepath.Join(r.work, a.name+"-gets")
	_, err := r.run(job{Store: a.name, Step: "load", Dir: dir, Keys: r.s.keys, Threads: 1}, false)
	r.prep[a.name] = prepared{dir: dir, err: err}
	return dir, err
}

// record keeps metric key of m for row id, or err.
func (r *runner) record(a adapter, id string, m map[string]float64, key string, err error) {
	if err != nil {
		if r.failures[id] == nil {
			r.failures[id] = map[string]string{}
		}
		r.failures[id][a.name] = err.Error()
		return
	}
	v, ok := m[key]
	if !ok {
		return
	}
	if r.samples[id] == nil {
		r.samples[id] = map[string][]float64{}
	}
	r.samples[id][a.name] = append(r.samples[id][a.name], v)
}

// median returns the median of a row's runs for a store, and whether there
// were any.
func (r *runner) median(id, store string) (float64, bool) {
	vs := r.samples[id][store]
	if len(vs) == 0 {
		return 0, false
	}
	return medianOf(vs), true
}
