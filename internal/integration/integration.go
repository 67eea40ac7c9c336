// Package integration is Aether KV's integration program, run as
// tests/test.go (the seed's command). It drives the store
// through its public API only, and damages data files by the documented
// on-disk format (package internal/format):
//
//	go run tests/test.go 100k-write    # 100,000 puts, reopen, verify; throughput
//	go run tests/test.go overlapping   # concurrent writers, deleters, readers
//	go run tests/test.go integrity     # damage on disk: refused, cut, or reported
//	go run tests/test.go all           # the three
//
// Every mode works in a fresh temporary directory, removed at the end unless
// a check failed (then its path is printed). It prints one line per check
// and exits 1 if any check failed, 2 on a bad command line.
package integration

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

const usage = `usage: go run tests/test.go <mode> [flags]

modes:
  100k-write   n puts of distinct keys, reopen, verify every value; prints throughput
  overlapping  concurrent writers, deleters and readers on shared keys; last write wins
  integrity    damage on disk: refused in the middle, torn tail cut, seen by Get
  all          the three above, in that order

flags (after the mode):
`

// config holds the command-line flags; it is never modified once parsed.
type config struct {
	n          int           // 100k-write: number of puts
	valueSize  int           // 100k-write: bytes per value
	writers    int           // overlapping: concurrent writers on the shared keys
	sharedKeys int           // overlapping: keys shared by all writers
	ops        int           // overlapping: operations per writer
	readers    int           // overlapping: concurrent readers
	records    int           // integrity: records per data file
	keep       bool          // keep the data directories even on success
	timeout    time.Duration // whole run; a hang is a failure
}

// Main runs the program with its command-line arguments (without the
// program name) and returns the exit status.
func Main(args []string) int {
	if len(args) < 1 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	mode := args[0]
	modes := map[string]func(config, string, *report){
		"100k-write":  run100kWrite,
		"overlapping": runOverlapping,
		"integrity":   runIntegrity,
	}
	order := []string{"100k-write", "overlapping", "integrity"}

	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var cfg config
	fs.IntVar(&cfg.n, "n", 100_000, "100k-write: number of puts")
	fs.IntVar(&cfg.valueSize, "value-size", 100, "100k-write: bytes per value (at least 32)")
	fs.IntVar(&cfg.writers, "writers", 16, "overlapping: concurrent writers on the shared keys")
	fs.IntVar(&cfg.sharedKeys, "keys", 100, "overlapping: keys shared by the writers")
	fs.IntVar(&cfg.ops, "ops", 5000, "overlapping: operations per writer")
	fs.IntVar(&cfg.readers, "readers", 4, "overlapping: concurrent readers")
	fs.IntVar(&cfg.records, "records", 100, "integrity: records per data file (at least 10)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the data directories even when every check passes")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Minute, "fail if the run takes longer (a hang)")
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage); fs.PrintDefaults() }

	var run []string
	switch {
	case mode == "all":
		run = order
	case modes[mode] != nil:
		run = []string{mode}
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n\n", mode)
		fs.Usage()
		return 2
	}
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() > 0 || cfg.n < 1 || cfg.valueSize < 32 || cfg.writers < 1 || cfg.sharedKeys < 1 ||
		cfg.ops < 1 || cfg.readers < 0 || cfg.records < 10 || cfg.timeout <= 0 {
		fmt.Fprintf(os.Stderr, "bad flags: %q\n\n", args[1:])
		fs.Usage()
		return 2
	}

	watchdog := time.AfterFunc(cfg.timeout, func() {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		fmt.Fprintf(os.Stderr, "FAIL: timed out after %v (a hang?); goroutines:\n%s\n", cfg.timeout, buf)
		fmt.Println("FAIL: timed out; the data directory of the running mode is kept (see above)")
		os.Exit(1)
	})
	defer watchdog.Stop()

	start := time.Now()
	var total report
	for _, name := range run {
		total.add(runMode(name, modes[name], cfg))
	}
	if total.failed > 0 {
		fmt.Printf("FAIL: %d of %d checks failed (%s) in %v\n", total.failed, total.passed+total.failed,
			strings.Join(run, ", "), time.Since(start).Round(time.Millisecond))
		return 1
	}
	fmt.Printf("PASS: all %d checks passed (%s) in %v\n", total.passed,
		strings.Join(run, ", "), time.Since(start).Round(time.Millisecond))
	return 0
}

// runMode runs one mode in a fresh temporary directory and removes the
// directory unless a check failed.
func runMode(name string, fn func(config, string, *report), cfg config) report {
	r := report{mode: name}
	root, err := os.MkdirTemp("", "aetherkv-"+name+"-")
	if err != nil {
		r.fail(fmt.Errorf("create temp dir: %w", err))
		return r
	}
	fmt.Printf("---- %s (data in %s)\n", name, root)
	start := time.Now()
	fn(cfg, root, &r)
	switch {
	case r.failed > 0:
		fmt.Printf("FAIL %s: %d of %d checks failed in %v; data kept in %s\n",
			name, r.failed, r.passed+r.failed, time.Since(start).Round(time.Millisecond), root)
	case cfg.keep:
		fmt.Printf("PASS %s: %d checks in %v; data kept in %s\n", name, r.passed, time.Since(start).Round(time.Millisecond), root)
	default:
		fmt.Printf("PASS %s: %d checks in %v\n", name, r.passed, time.Since(start).Round(time.Millisecond))
		if err := os.RemoveAll(root); err != nil {
			fmt.Printf("warning: remove %s: %v\n", root, err)
		}
	}
	return r
}

// report counts the checks of a mode and prints one line per check.
type report struct {
	mode           string
	passed, failed int
}

func (r *report) ok(format string, args ...any) {
	r.passed++
	fmt.Printf("ok   %s: %s\n", r.mode, fmt.Sprintf(format, args...))
}

func (r *report) fail(err error) {
	r.failed++
	fmt.Printf("FAIL %s: %v\n", r.mode, err)
}

func (r *report) add(o report) {
	r.passed += o.passed
	r.failed += o.failed
}
