package main

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// stepPut writes Keys new keys in ascending order, split into Threads
// contiguous ranges, one goroutine each, without fsync. It measures from
// the first Put to the return of Flush. The keys and values are made
// before the clock starts, so that only the store's work is timed.
func stepPut(a adapter, j job) (map[string]float64, error) {
	s, err := a.open(Config{Dir: j.Dir, Writers: j.Threads})
	if err != nil {
		return nil, err
	}
	data := make([]*dataset, j.Threads)
	for w := range data {
		from, to := split(j.Keys, j.Threads, w)
		data[w] = newDataset(from, to, 0)
	}
	start := time.Now()
	err = parallel(j.Threads, func(w int) error { return data[w].write(s) })
	if err == nil {
		err = s.Flush()
	}
	took := time.Since(start)
	if err != nil {
		s.Close()
		return nil, err
	}
	if err := s.Close(); err != nil {
		return nil, fmt.Errorf("close: %w", err)
	}
	return map[string]float64{"ops_per_sec": float64(j.Keys) / took.Seconds()}, nil
}

// stepGet reads 2×Keys random keys of a directory loaded by stepLoad, on
// Threads goroutines, and checks every value. Opening is not timed, nor is
// making the keys to read and the values they must have: they are laid
// out in the order they are read before the clock starts, so that reading
// them costs the loop next to nothing.
func stepGet(a adapter, j job) (map[string]float64, error) {
	s, err := a.open(Config{Dir: j.Dir})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	gets := 2 * j.Keys
	reads := make([]*dataset, j.Threads)
	for w := range reads {
		from, to := split(gets, j.Threads, w)
		rng := rand.New(rand.NewPCG(uint64(w), 42))
		reads[w] = newReadSet(to-from, j.Keys, j.Round, rng)
	}
	start := time.Now()
	err = parallel(j.Threads, func(w int) error {
		d := reads[w]
		got := make([]byte, 0, valueSize)
		for n := range d.to - d.from {
			key, want := d.pair(n)
			var err error
			if got, err = s.Get(key, got); err != nil {
				return fmt.Errorf("get %s: %w", key, err)
			}
			if !bytes.Equal(got, want) {
				return fmt.Errorf("get %s: wrong value", key)
			}
		}
		return nil
	})
	took := time.Since(start)
	if err != nil {
		return nil, err
	}
	return map[string]float64{"ops_per_sec": float64(gets) / took.Seconds()}, nil
}

// stepDurable runs Threads writers of new keys, each Put acknowledged only
// once fsynced, for Duration, into an empty store.
func stepDurable(a adapter, j job) (map[string]float64, error) {
	s, err := a.open(Config{Dir: j.Dir, Durable: true, Writers: j.Threads})
	if err != nil {
		return nil, err
	}
	var puts atomic.Int64
	deadline := time.Now().Add(j.Duration)
	start := time.Now()
	err = parallel(j.Threads, func(w int) error {
		for i := 0; time.Now().Before(deadline); i++ {
			k := w*1_000_000_000 + i // a key range per writer
			if err := s.Put(benchKey(k), benchValue(k, 0)); err != nil {
				return err
			}
			puts.Add(1)
		}
		return nil
	})
	took := time.Since(start)
	if err != nil {
		s.Close()
		return nil, err
	}
	if err := s.Close(); err != nil {
		return nil, fmt.Errorf("close: %w", err)
	}
	return map[string]float64{
		"ops_per_sec": float64(puts.Load()) / took.Seconds(),
		"puts":        float64(puts.Load()),
	}, nil
}

// stepLoad writes Keys keys on one goroutine, then measures the Go heap the
// open store holds per key (after two collections, less the heap before
// Open), and closes the store.
func stepLoad(a adapter, j job) (map[string]float64, error) {
	before := heapAlloc()
	s, err := a.open(Config{Dir: j.Dir, Writers: 1})
	if err != nil {
		return nil, err
	}
	start := time.Now()
	err = writeRange(s, 0, j.Keys, j.Round)
	if err == nil {
		err = s.Flush()
	}
	took := time.Since(start)
	if err != nil {
		s.Close()
		return nil, err
	}
	heap := float64(heapAlloc()) - float64(before)
	if err := s.Close(); err != nil {
		return nil, fmt.Errorf("close: %w", err)
	}
	return map[string]float64{
		"ops_per_sec":  float64(j.Keys) / took.Seconds(),
		"heap_per_key": heap / float64(j.Keys),
	}, nil
}

// stepOpen times opening a loaded directory and reading one key (so that
// a store that loads lazily pays for it), then measures the heap per key
// and checks a sample of keys. If the adapter names index files (Aether's
// hint files), the time to read them is measured first.
func stepOpen(a adapter, j job) (map[string]float64, error) {
	m := map[string]float64{}
	if a.indexFiles != nil {
		d, err := readFiles(a.indexFiles(j.Dir))
		if err != nil {
			return nil, err
		}
		if d > 0 {
			m["index_read_seconds"] = d.Seconds()
		}
	}
	before := heapAlloc()
	start := time.Now()
	s, err := a.open(Config{Dir: j.Dir})
	if err != nil {
		return nil, err
	}
	last := j.Keys - 1
	v, err := s.Get(benchKey(last), nil)
	took := time.Since(start)
	if err == nil && !bytes.Equal(v, benchValue(last, j.Round)) {
		err = errors.New("wrong value after reopening")
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	m["open_seconds"] = took.Seconds()
	m["heap_per_key"] = (float64(heapAlloc()) - float64(before)) / float64(j.Keys)
	if err := verifySample(s, j.Keys, j.Round); err != nil {
		s.Close()
		return nil, err
	}
	return m, s.Close()
}

// stepMerge times a merge (compaction) of a loaded directory.
func stepMerge(a adapter, j job) (map[string]float64, error) {
	s, err := a.open(Config{Dir: j.Dir})
	if err != nil {
		return nil, err
	}
	mg, ok := s.(Merger)
	if !ok {
		s.Close()
		return nil, errUnsupported
	}
	start := time.Now()
	if err := mg.Merge(); err != nil {
		s.Close()
		return nil, fmt.Errorf("merge: %w", err)
	}
	took := time.Since(start)
	if err := verifySample(s, j.Keys, j.Round); err != nil {
		s.Close()
		return nil, err
	}
	return map[string]float64{"merge_seconds": took.Seconds()}, s.Close()
}

// stepSpace writes Keys keys, overwrites each once, and merges, closing the
// store after each phase, and reports the bytes the directory occupies on
// disk after each.
func stepSpace(a adapter, j job) (map[string]float64, error) {
	m := map[string]float64{}
	phase := func(name string, fn func(Store) error) error {
		s, err := a.open(Config{Dir: j.Dir, Writers: 1})
		if err != nil {
			return err
		}
		if err := fn(s); err != nil {
			s.Close()
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := s.Close(); err != nil {
			return fmt.Errorf("%s: close: %w", name, err)
		}
		n, err := diskUsage(j.Dir)
		m[name] = float64(n)
		return err
	}
	write := func(round int) func(Store) error {
		return func(s Store) error {
			if err := writeRange(s, 0, j.Keys, round); err != nil {
				return err
			}
			return s.Flush()
		}
	}
	if err := phase("disk_written", write(0)); err != nil {
		return nil, err
	}
	if err := phase("disk_overwritten", write(1)); err != nil {
		return nil, err
	}
	err := phase("disk_merged", func(s Store) error {
		mg, ok := s.(Merger)
		if !ok {
			return errUnsupported
		}
		if err := mg.Merge(); err != nil {
			return err
		}
		return verifySample(s, j.Keys, 1)
	})
	if errors.Is(err, errUnsupported) {
		delete(m, "disk_merged")
		return m, nil
	}
	return m, err
}

// writeRange puts keys from..to-1 with their values of round r, on the
// calling goroutine.
func writeRange(s Store, from, to, r int) error {
	for i := from; i < to; i++ {
		if err := s.Put(benchKey(i), benchValue(i, r)); err != nil {
			return fmt.Errorf("put %d: %w", i, err)
		}
	}
	return nil
}

// verifySample reads 1000 random keys of 0..keys-1 and checks their values
// of round r.
func verifySample(s Store, keys, r int) error {
	rng := rand.New(rand.NewPCG(7, 7))
	for range 1000 {
		i := rng.IntN(keys)
		v, err := s.Get(benchKey(i), nil)
		if err != nil {
			return fmt.Errorf("check key %d: %w", i, err)
		}
		if !bytes.Equal(v, benchValue(i, r)) {
			return fmt.Errorf("check key %d: wrong value", i)
		}
	}
	return nil
}

// parallel runs fn(0..n-1) on n goroutines and returns the first error.
func parallel(n int, fn func(w int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() { errs[w] = fn(w) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// split returns the w-th of n contiguous parts of 0..total-1.
func split(total, n, w int) (from, to int) {
	return total * w / n, total * (w + 1) / n
}

// heapAlloc returns the live Go heap after two garbage collections.
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
