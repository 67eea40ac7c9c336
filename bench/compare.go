package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// settings are the compare command's flags, resolved.
type settings struct {
	reps        int
	stores      []adapter
	workloads   []workload
	keys        int
	reopenKeys  int
	durable     time.Duration
	timeout     time.Duration
	base        string // where the stores' directories are made
	out         string // results file, or "" for none
	countFsyncs bool
	quick       bool
	command     string // the command line, as a user would type it
}

// compare runs every selected workload on every selected store, each pair
// in a fresh process, and prints the medians as a markdown table.
func compare(args []string) error {
	s, err := parseCompare(args)
	if err != nil {
		return err
	}
	r, err := newRunner(s, os.Stderr)
	if err != nil {
		return err
	}
	defer r.cleanup()
	if err := r.runAll(); err != nil {
		return err
	}
	report := r.report()
	fmt.Print(r.table())
	if s.out != "" {
		if err := os.MkdirAll(filepath.Dir(s.out), 0o755); err != nil {
			return fmt.Errorf("results: %w", err)
		}
		if err := os.WriteFile(s.out, []byte(report), 0o644); err != nil {
			return fmt.Errorf("results: %w", err)
		}
		fmt.Fprintf(os.Stderr, "results written to %s\n", s.out)
	}
	return nil
}

func parseCompare(args []string) (settings, error) {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	reps := fs.Int("reps", 3, "runs of each store/workload pair; the table shows the median")
	stores := fs.String("stores", "all", "comma-separated stores: "+adapterNames(adapters()))
	wls := fs.String("workloads", "all", "comma-separated workloads (see -help)")
	keys := fs.Int("keys", 500_000, "keys written and read by the put, get and space workloads")
	reopenKeys := fs.Int("reopen-keys", 1_000_000, "keys loaded by the reopen workload (heap, reopen, merge)")
	durable := fs.Duration("durable", 3*time.Second, "how long each durable-put run lasts, and the longest a get-beside-put run does")
	timeout := fs.Duration("timeout", 10*time.Minute, "longest a single worker process may run")
	dir := fs.String("dir", os.TempDir(), "directory under which the stores' data directories are made")
	out := fs.String("out", "", `results file (default results/<date>-<hostname>[-quick].md; "-" for none)`)
	count := fs.Bool("count-fsyncs", true, "count fsyncs of one extra durable run per store with strace, if installed")
	quick := fs.Bool("quick", false, "a short run: -keys 100000 -reopen-keys 200000 -reps 1 -durable 1s unless set")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: bench compare [flags]\n\nworkloads:\n")
		for _, w := range workloads() {
			fmt.Fprintf(fs.Output(), "  %-15s %s\n", w.name, w.about)
		}
		fmt.Fprintln(fs.Output(), "\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return settings{}, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		if !set["keys"] {
			*keys = 100_000
		}
		if !set["reopen-keys"] {
			*reopenKeys = 200_000
		}
		if !set["reps"] {
			*reps = 1
		}
		if !set["durable"] {
			*durable = time.Second
		}
	}
	if *reps < 1 || *keys < 1000 || *reopenKeys < 1000 || *durable <= 0 {
		return settings{}, fmt.Errorf("compare: want -reps ≥ 1, -keys and -reopen-keys ≥ 1000, -durable > 0")
	}
	as, err := findAdapters(*stores)
	if err != nil {
		return settings{}, fmt.Errorf("compare: %w", err)
	}
	ws, err := findWorkloads(*wls)
	if err != nil {
		return settings{}, fmt.Errorf("compare: %w", err)
	}
	s := settings{
		reps: *reps, stores: as, workloads: ws, keys: *keys, reopenKeys: *reopenKeys,
		durable: *durable, timeout: *timeout, base: *dir, countFsyncs: *count, quick: *quick,
		command: "cd bench && go run . compare " + strings.Join(args, " "),
	}
	s.command = strings.TrimSpace(s.command)
	switch *out {
	case "-":
	case "":
		host, _ := os.Hostname()
		name := time.Now().Format("2006-01-02") + "-" + host
		if *quick {
			name += "-quick"
		}
		s.out = filepath.Join("results", name+".md")
	default:
		s.out = *out
	}
	return s, nil
}
