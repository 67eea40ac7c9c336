package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"
)

// stepMixed reads 2×Keys random keys of a directory loaded by stepLoad on
// one goroutine, or as many as it reads in Duration if that is fewer,
// while another overwrites the keys in ascending order, with the values
// of the next round, for as long as the reads last. Each value
// read must be the key's value of either round. It reports the gets per
// second, their p99 latency, and the writer's puts per second: what a
// reader waits for a writer, and what the writer loses to the reader.
func stepMixed(a adapter, j job) (map[string]float64, error) {
	s, err := a.open(Config{Dir: j.Dir, Writers: 1})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	gets := 2 * j.Keys
	oldValues := newReadSet(gets, j.Keys, j.Round, rand.New(rand.NewPCG(7, 42)))
	newValues := newReadSet(gets, j.Keys, j.Round+1, rand.New(rand.NewPCG(7, 42)))
	writes := newDataset(0, j.Keys, j.Round+1)
	lat := make([]time.Duration, 0, gets)

	var stop atomic.Bool
	var puts atomic.Int64
	wrote := make(chan error, 1)
	start := time.Now()
	go func() {
		for n := 0; !stop.Load(); n = (n + 1) % j.Keys {
			k, v := writes.pair(n)
			if err := s.Put(k, v); err != nil {
				wrote <- fmt.Errorf("put %s: %w", k, err)
				return
			}
			puts.Add(1)
		}
		wrote <- nil
	}()
	err = func() error {
		got := make([]byte, 0, valueSize)
		for n := range gets {
			if n%1024 == 0 && time.Since(start) > j.Duration {
				return nil
			}
			key, old := oldValues.pair(n)
			_, updated := newValues.pair(n)
			t := time.Now()
			var err error
			if got, err = s.Get(key, got); err != nil {
				return fmt.Errorf("get %s: %w", key, err)
			}
			lat = append(lat, time.Since(t))
			if !bytes.Equal(got, old) && !bytes.Equal(got, updated) {
				return fmt.Errorf("get %s: wrong value", key)
			}
		}
		return nil
	}()
	took := time.Since(start)
	stop.Store(true)
	if werr := <-wrote; err == nil {
		err = werr
	}
	if err != nil {
		return nil, err
	}
	slices.Sort(lat)
	return map[string]float64{
		"ops_per_sec":  float64(len(lat)) / took.Seconds(),
		"p99_seconds":  lat[len(lat)*99/100].Seconds(),
		"puts_per_sec": float64(puts.Load()) / took.Seconds(),
	}, nil
}

// mixedRuns loads a fresh directory, then runs stepMixed on it.
func mixedRuns(r *runner, a adapter, rep int) {
	dir := r.freshDir(a, rowMixedGets, rep)
	defer r.remove(dir)
	j := job{Store: a.name, Step: "load", Dir: dir, Keys: r.s.keys, Threads: 1, Duration: r.s.durable}
	if _, err := r.run(j, false); err != nil {
		err = fmt.Errorf("loading the keys: %w", err)
		r.record(a, rowMixedGets, nil, "", err)
		r.record(a, rowMixedP99, nil, "", err)
		r.record(a, rowMixedPuts, nil, "", err)
		return
	}
	j.Step = "mixed"
	m, err := r.run(j, false)
	r.record(a, rowMixedGets, m, "ops_per_sec", err)
	r.record(a, rowMixedP99, m, "p99_seconds", err)
	r.record(a, rowMixedPuts, m, "puts_per_sec", err)
}
