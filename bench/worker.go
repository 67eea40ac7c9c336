package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"
)

// job is one measurement, run by the hidden worker subcommand in a process
// of its own so that no store inherits another's heap, goroutines, caches
// or open files.
type job struct {
	Store    string        // adapter name
	Step     string        // one of the steps in stepFuncs
	Dir      string        // the store's data directory
	Keys     int           // keys to write or read
	Threads  int           // goroutines
	Duration time.Duration // how long durable puts run, and at most the gets beside a writer
	Round    int           // which round's values the directory holds (for reads)
}

// result is what a worker prints: one JSON line.
type result struct {
	Metrics map[string]float64 `json:"metrics,omitempty"`
	Error   string             `json:"error,omitempty"`
}

// errUnsupported marks a step the store cannot do (for example, a merge).
var errUnsupported = errors.New("not supported by this store")

// stepFuncs maps a step name to what runs it.
func stepFuncs() map[string]func(adapter, job) (map[string]float64, error) {
	return map[string]func(adapter, job) (map[string]float64, error){
		"put":     stepPut,
		"get":     stepGet,
		"mixed":   stepMixed,
		"durable": stepDurable,
		"load":    stepLoad,
		"open":    stepOpen,
		"merge":   stepMerge,
		"space":   stepSpace,
	}
}

// worker runs one job and prints its result as one JSON line on standard
// output. It exits 0 even when the job failed: the error is in the JSON.
func worker(args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	var j job
	fs.StringVar(&j.Store, "store", "", "adapter name")
	fs.StringVar(&j.Step, "step", "", "step to run")
	fs.StringVar(&j.Dir, "dir", "", "data directory")
	fs.IntVar(&j.Keys, "keys", 500_000, "keys")
	fs.IntVar(&j.Threads, "threads", 1, "goroutines")
	fs.DurationVar(&j.Duration, "duration", 3*time.Second, "duration of durable puts")
	fs.IntVar(&j.Round, "round", 0, "round of the values in the directory")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the job to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuprofile != "" {
		stop, err := startCPUProfile(*cpuprofile)
		if err != nil {
			return fmt.Errorf("worker: %w", err)
		}
		defer stop()
	}
	metrics, err := runJob(j)
	res := result{Metrics: metrics}
	if err != nil {
		res.Error = err.Error()
	}
	line, mErr := json.Marshal(res)
	if mErr != nil {
		return fmt.Errorf("worker: %w", mErr)
	}
	_, err = fmt.Fprintf(os.Stdout, "%s\n", line)
	return err
}

// startCPUProfile starts a CPU profile written to path; stop ends it.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// runJob runs j in this process.
func runJob(j job) (map[string]float64, error) {
	as, err := findAdapters(j.Store)
	if err != nil {
		return nil, err
	}
	step, ok := stepFuncs()[j.Step]
	if !ok {
		return nil, fmt.Errorf("unknown step %q", j.Step)
	}
	if j.Dir == "" || j.Keys <= 0 || j.Threads <= 0 {
		return nil, fmt.Errorf("step %s: need -dir, and positive -keys and -threads", j.Step)
	}
	m, err := step(as[0], j)
	if err != nil {
		return m, fmt.Errorf("%s %s: %w", j.Store, j.Step, err)
	}
	return m, nil
}
