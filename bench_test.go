package aetherkv

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func benchKey(i int) []byte { return fmt.Appendf(nil, "key-%012d", i) } // 16 bytes

func BenchmarkPut(b *testing.B) {
	for _, size := range []int{16, 100, 1024, 16 << 10} {
		b.Run(fmt.Sprintf("value=%d", size), func(b *testing.B) {
			db := mustOpen(b, &Options{MergeRatio: -1})
			value := make([]byte, size)
			keys := make([][]byte, 100_000)
			for i := range keys {
				keys[i] = benchKey(i)
			}
			b.SetBytes(int64(16 + size))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := db.Put(keys[i%len(keys)], value); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// loadForGets opens a DB holding keys 0..n-1 with 100-byte values, and
// returns it with count keys drawn at random from them.
func loadForGets(b *testing.B, n, count int) (*DB, [][]byte) {
	db := mustOpen(b, &Options{MergeRatio: -1})
	value := make([]byte, 100)
	for i := range n {
		if err := db.Put(benchKey(i), value); err != nil {
			b.Fatal(err)
		}
	}
	db.Sync()
	keys := make([][]byte, count)
	for i := range keys {
		keys[i] = benchKey(rand.IntN(n))
	}
	return db, keys
}

func BenchmarkGet(b *testing.B) {
	const n = 100_000
	db, keys := loadForGets(b, n, n)
	b.SetBytes(16 + 100)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := db.Get(keys[i%n]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkGetCached measures the CPU cost of a get, with GetInto: 4000
// keys, whose records and key directory stay in the processor's caches,
// so that no cache miss hides what the code itself costs.
func BenchmarkGetCached(b *testing.B) {
	const valueSize = 100
	db, keys := loadForGets(b, 4000, 1<<16)
	got := make([]byte, 0, valueSize)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var err error
		if got, err = db.GetInto(got[:0], keys[i%len(keys)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	if len(got) != valueSize {
		b.Fatalf("got %d bytes, want %d", len(got), valueSize)
	}
}

// BenchmarkPutDurable measures fsync-before-acknowledge puts with many
// writers sharing each fsync, and reports the p99 latency.
func BenchmarkPutDurable(b *testing.B) {
	for _, writers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			db := mustOpen(b, &Options{SyncMode: SyncModeAlways, MergeRatio: -1})
			value := make([]byte, 100)
			var next atomic.Int64
			lat := make([][]time.Duration, writers)
			b.SetParallelism(max(1, writers/runtime.GOMAXPROCS(0))) // writers goroutines in all
			b.ReportAllocs()
			var slot atomic.Int32
			b.RunParallel(func(pb *testing.PB) {
				me := slot.Add(1) - 1
				for pb.Next() {
					start := time.Now()
					if err := db.Put(benchKey(int(next.Add(1))), value); err != nil {
						b.Error(err)
						return
					}
					if int(me) < writers {
						lat[me] = append(lat[me], time.Since(start))
					}
				}
			})
			b.ReportMetric(float64(b.N)/float64(max(1, db.Stats().Fsyncs)), "puts/fsync")
			all := slices.Concat(lat...)
			slices.Sort(all)
			if len(all) > 0 {
				b.ReportMetric(float64(all[len(all)*99/100].Nanoseconds()), "p99-ns")
			}
		})
	}
}

// BenchmarkGetWhileWriting measures gets on one goroutine while another
// overwrites keys as fast as it can, rotating a data file every 4 MiB,
// and reports the gets' p99 latency (what a reader waits for a writer)
// and the writer's puts per second.
func BenchmarkGetWhileWriting(b *testing.B) {
	const n = 100_000
	db := mustOpen(b, &Options{MergeRatio: -1, MaxFileSize: 4 << 20})
	value := make([]byte, 100)
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = benchKey(i)
		if err := db.Put(keys[i], value); err != nil {
			b.Fatal(err)
		}
	}
	stop := make(chan struct{})
	done := make(chan error)
	var puts atomic.Int64
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			puts.Add(1)
			if err := db.Put(keys[(i*7919)%n], value); err != nil {
				done <- err
				return
			}
		}
	}()
	order := make([][]byte, n)
	for i := range order {
		order[i] = keys[rand.IntN(n)]
	}
	lat := make([]time.Duration, 0, 1<<20)
	dst := make([]byte, 0, 128)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		start := time.Now()
		v, err := db.GetInto(dst[:0], order[i%n])
		if err != nil || len(v) != len(value) {
			b.Fatalf("get: %d bytes, %v", len(v), err)
		}
		if len(lat) < cap(lat) {
			lat = append(lat, time.Since(start))
		}
		i++
	}
	close(stop)
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(puts.Load())/b.Elapsed().Seconds(), "puts/s")
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
		b.ReportMetric(float64(lat[len(lat)*999/1000].Nanoseconds()), "p99.9-ns")
	}
}
