// Command bench measures Aether KV on workloads that unit benchmarks cannot
// hold: millions of keys, merges under load, cold and warm start-up, and
// side by side with the Go stores it is compared with. It lives in its own
// module so that the store's module never depends on its rivals.
//
//	go run . compare                  # Aether KV and its peers; writes results/<date>-<host>.md
//	go run . compare -quick           # the same, smaller, in a few minutes
//	go run . reopen -keys 10000000
//	go run . merge-latency -keys 1000000 -seconds 10
//	go run . space -keys 1000000
//	go run . gc -sizes 1000000,10000000
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	workloads := map[string]func(args []string) error{
		"compare":       compare,
		"worker":        worker, // hidden: one measurement, run by compare
		"reopen":        reopen,
		"merge-latency": mergeLatency,
		"space":         space,
		"gc":            gcCost,
	}
	run, ok := workloads[os.Args[1]]
	if !ok {
		usage()
	}
	if err := run(os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: bench compare|reopen|merge-latency|space|gc [flags]")
	os.Exit(2)
}

// newFlags returns a flag set with the flags every workload shares.
func newFlags(name string) (*flag.FlagSet, *int, *string) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	keys := fs.Int("keys", 1_000_000, "keys to load (16-byte keys, 100-byte values)")
	dir := fs.String("dir", "", "data directory (default: a new temporary one, removed at the end)")
	return fs, keys, dir
}

func key(i int) []byte { return fmt.Appendf(nil, "key-%012d", i) }
