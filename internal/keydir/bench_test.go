package keydir_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/aether-kv/aether-kv/internal/keydir"
)

func benchKeys(n int) [][]byte {
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key-%012d", i) // 16 bytes
	}
	return keys
}

// BenchmarkLoad inserts 1M distinct 16-byte keys, as Open does, and
// reports the heap bytes per key the Keydir holds afterwards.
func BenchmarkLoad(b *testing.B) {
	const n = 1_000_000
	keys := benchKeys(n)
	var ms0, ms1 runtime.MemStats
	b.ReportAllocs()
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		k := keydir.New()
		for i, key := range keys {
			k.Put(key, keydir.Entry{FileID: 1, Size: 137, Offset: int64(i) * 137})
		}
		runtime.GC()
		runtime.ReadMemStats(&ms1)
		b.ReportMetric(float64(ms1.HeapAlloc-ms0.HeapAlloc)/n, "heap-B/key")
		runtime.KeepAlive(k)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
}

func BenchmarkGet(b *testing.B) {
	const n = 1_000_000
	k, keys := loaded(n)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := k.Get(keys[(i*7919)%n]); !ok {
			b.Fatal("missing key")
		}
		i++
	}
}

func BenchmarkOverwrite(b *testing.B) {
	const n = 1_000_000
	k, keys := loaded(n)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k.Put(keys[(i*7919)%n], keydir.Entry{FileID: 2, Size: 137, Offset: int64(i)})
		i++
	}
}

// BenchmarkLoadBatch is BenchmarkLoad through Batch and Apply, as Open
// loads keys, in batches of 64K.
func BenchmarkLoadBatch(b *testing.B) {
	const n = 1_000_000
	keys := benchKeys(n)
	for b.Loop() {
		k := keydir.New()
		k.Grow(n, 16*n)
		var batch keydir.Batch
		for i, key := range keys {
			batch.Put(k, key, keydir.Entry{FileID: 1, Size: 137, Offset: int64(i) * 137})
			if batch.Len() >= 1<<16 {
				k.Apply(&batch, runtime.GOMAXPROCS(0), nil)
			}
		}
		k.Apply(&batch, runtime.GOMAXPROCS(0), nil)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
}

// loaded returns a key directory holding n keys, and the keys.
func loaded(n int) (*keydir.Keydir, [][]byte) {
	keys := benchKeys(n)
	k := keydir.New()
	for i, key := range keys {
		k.Put(key, keydir.Entry{FileID: 1, Size: 137, Offset: int64(i) * 137})
	}
	return k, keys
}

// BenchmarkLoadLater is BenchmarkLoad through PutLater, as DB.Put sets
// keys.
func BenchmarkLoadLater(b *testing.B) {
	const n = 1_000_000
	keys := benchKeys(n)
	for b.Loop() {
		k := keydir.New()
		for i, key := range keys {
			k.PutLater(key, keydir.Entry{FileID: 1, Size: 137, Offset: int64(i) * 137})
		}
		k.Settle()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
}
