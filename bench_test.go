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

func BenchmarkGet(b *testing.B) {
	const n = 100_000
	db := mustOpen(b, &Options{MergeRatio: -1})
	value := make([]byte, 100)
	for i := range n {
		if err := db.Put(benchKey(i), value); err != nil {
			b.Fatal(err)
		}
	}
	db.Sync()
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = benchKey(rand.IntN(n))
	}
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
