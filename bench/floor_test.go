package main

import (
	"hash/crc32"
	"testing"
)

// The floor benchmarks measure what no hash-indexed store can do without,
// on the benchmark's own keys: putting 500k new 16-byte keys into a Go map
// (string keys, as a Bitcask key directory needs them), and the same with
// a record encoded into a 4 KiB buffer beside each. They are the yardstick
// for the buffered-put figures: a store whose Put costs about what a Go
// map insert does has little left to take out of its index.
// BenchmarkFloorPut runs Aether KV and pebble beside them.
//
//	go test -run '^$' -bench Floor -count 6 .

const floorKeys = 500000

func floorDataset() *dataset { return newDataset(0, floorKeys, 0) }

// reportPerKey reports the time per key of b's loops, each of floorKeys.
func reportPerKey(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*floorKeys), "ns/key")
}

// BenchmarkFloorMapInsert puts the keys into a Go map that starts empty
// and grows, as a store's index does while it is written.
func BenchmarkFloorMapInsert(b *testing.B) { benchMapInsert(b, 0) }

// BenchmarkFloorMapInsertSized is BenchmarkFloorMapInsert into a map made
// big enough beforehand: no growth, only the insert.
func BenchmarkFloorMapInsertSized(b *testing.B) { benchMapInsert(b, floorKeys) }

// benchMapInsert puts the keys into a Go map made with room for size.
func benchMapInsert(b *testing.B, size int) {
	d := floorDataset()
	for b.Loop() {
		m := make(map[string]uint64, size)
		for i := range floorKeys {
			key, _ := d.pair(i)
			m[string(key)] = uint64(i)
		}
		if len(m) != floorKeys {
			b.Fatalf("map holds %d keys, want %d", len(m), floorKeys)
		}
	}
	reportPerKey(b)
}

// BenchmarkFloorMapInsertEncode adds to each insert what a log-structured
// store must also do: encode the record (a 21-byte header, key, value,
// CRC-32) into a buffer that is reused every 4 KiB. Nothing is written to
// a file.
func BenchmarkFloorMapInsertEncode(b *testing.B) {
	d := floorDataset()
	buf := make([]byte, 0, 8192)
	var sum uint32
	for b.Loop() {
		m := make(map[string]uint64)
		for i := range floorKeys {
			if len(buf) >= 4096 {
				buf = buf[:0]
			}
			start := len(buf)
			key, value := d.pair(i)
			buf = append(buf, make([]byte, 21)...)
			buf = append(buf, key...)
			buf = append(buf, value...)
			sum ^= crc32.ChecksumIEEE(buf[start+4:])
			m[string(key)] = uint64(start)
		}
		if len(m) != floorKeys {
			b.Fatalf("map holds %d keys, want %d", len(m), floorKeys)
		}
	}
	reportPerKey(b)
	floorSink = sum
}

// floorSink keeps the checksums of BenchmarkFloorMapInsertEncode in use.
var floorSink uint32

// BenchmarkFloorPut puts the same keys into a new Aether KV store and a
// new pebble store, each with its default options (buffered), for
// comparison in the same run. Aether also writes its 4 KiB buffer to the
// file each time it fills.
func BenchmarkFloorPut(b *testing.B) {
	d := floorDataset()
	for _, a := range []adapter{aetherAdapter(), pebbleAdapter()} {
		b.Run("store="+a.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				s, err := a.open(Config{Dir: b.TempDir() + "/data"})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := d.write(s); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			reportPerKey(b)
		})
	}
}
