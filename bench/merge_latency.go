package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	aetherkv "github.com/aether-kv/aether-kv"
)

// mergeLatency loads keys, then overwrites random keys for a while with no
// merge, and for as long again with merges running back to back, and
// prints the put latency percentiles of each phase.
func mergeLatency(args []string) error {
	fs, keys, dir := newFlags("merge-latency")
	seconds := fs.Float64("seconds", 5, "duration of each phase")
	fileSize := fs.Int64("file-size", 64<<20, "MAX_FILE_SIZE during the run")
	fs.Parse(args)
	d, cleanup, err := workDir(*dir)
	if err != nil {
		return err
	}
	defer cleanup()
	db, err := aetherkv.Open(d, &aetherkv.Options{MergeRatio: -1, MaxFileSize: *fileSize})
	if err != nil {
		return err
	}
	defer db.Close()
	value := make([]byte, 100)
	for i := range *keys {
		if err := db.Put(key(i), value); err != nil {
			return err
		}
	}
	phase := time.Duration(*seconds * float64(time.Second))
	quiet, err := putFor(db, *keys, phase, nil)
	if err != nil {
		return err
	}
	var merges atomic.Int64
	merging := func(stop <-chan struct{}) {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := db.Merge(); err != nil {
				panic(err)
			}
			merges.Add(1)
		}
	}
	busy, err := putFor(db, *keys, phase, merging)
	if err != nil {
		return err
	}
	fmt.Println("| phase | puts | p50 | p99 | p99.9 | max |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, ph := range []struct {
		name string
		lat  []time.Duration
	}{{"no merge", quiet}, {fmt.Sprintf("%d merges running", merges.Load()), busy}} {
		fmt.Printf("| %s | %d | %v | %v | %v | %v |\n", ph.name, len(ph.lat), percentile(ph.lat, 0.5),
			percentile(ph.lat, 0.99), percentile(ph.lat, 0.999), ph.lat[len(ph.lat)-1])
	}
	fmt.Printf("p99 ratio (merge / no merge): %.2f\n", float64(percentile(busy, 0.99))/float64(percentile(quiet, 0.99)))
	return nil
}

// putFor overwrites random keys on one goroutine for d, with background
// running alongside if not nil, and returns the sorted put latencies.
func putFor(db *aetherkv.DB, keys int, d time.Duration, background func(stop <-chan struct{})) ([]time.Duration, error) {
	stop := make(chan struct{})
	done := make(chan struct{})
	if background != nil {
		go func() { background(stop); close(done) }()
	} else {
		close(done)
	}
	value := make([]byte, 100)
	var lat []time.Duration
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		k := key(rand.IntN(keys))
		start := time.Now()
		if err := db.Put(k, value); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(start))
	}
	close(stop)
	<-done
	slices.Sort(lat)
	return lat, nil
}
