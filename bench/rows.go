package main

import (
	"fmt"
	"math"
	"slices"
)

// row is one line of the results table: one figure measured for every
// store.
type row struct {
	id     string // key of the figure in the runner's samples
	label  string // what the table shows
	higher bool   // higher is better (throughput); else lower is (time, bytes)
	// bitcaskOnly says the best peer is sought among the Bitcask family
	// only: memory, where the LSM tree and B+tree keep their index on disk.
	bitcaskOnly bool
	// noRatio leaves the ratio out: the stores do different work.
	noRatio bool
	format  func(float64) string
}

// Row ids.
const (
	rowPut1          = "put-seq-1"
	rowPut4          = "put-seq-4"
	rowGet1          = "get-rand-1"
	rowGet2          = "get-rand-2"
	rowMixedGets     = "get-beside-put"
	rowMixedP99      = "get-beside-put-p99"
	rowMixedPuts     = "put-beside-get"
	rowDurable1      = "put-durable-1"
	rowDurable64     = "put-durable-64"
	rowPerFsync64    = "puts-per-fsync-64"
	rowReopen        = "reopen"
	rowReopenMerged  = "reopen-merged"
	rowMerge         = "merge"
	rowHeapLoad      = "heap-load"
	rowHeapReopen    = "heap-reopen"
	rowDiskWritten   = "disk-written"
	rowDiskOverwrite = "disk-overwritten"
	rowDiskMerged    = "disk-merged"
	rowIndexRead     = "index-read" // not in the table: Aether's hint files only
)

// tableRows returns the rows of the results table, in order. keys and
// reopenKeys are the sizes the labels name.
func tableRows(keys, reopenKeys int) []row {
	k, rk := count(keys), count(reopenKeys)
	return []row{
		{id: rowPut1, label: "buffered puts, 1 writer (puts/s ↑)", higher: true, format: rate},
		{id: rowPut4, label: "buffered puts, 4 writers (puts/s ↑)", higher: true, format: rate},
		{id: rowGet1, label: "random gets, 1 reader (gets/s ↑)", higher: true, format: rate},
		{id: rowGet2, label: "random gets, 2 readers (gets/s ↑)", higher: true, format: rate},
		{id: rowMixedGets, label: "random gets beside 1 writer (gets/s ↑)", higher: true, format: rate},
		{id: rowMixedP99, label: "their p99 latency (µs ↓)", format: micros},
		{id: rowMixedPuts, label: "the writer's puts meanwhile (puts/s ↑)", higher: true, format: rate},
		{id: rowDurable1, label: "durable puts, 1 writer (puts/s ↑)", higher: true, format: rate},
		{id: rowDurable64, label: "durable puts, 64 writers (puts/s ↑)", higher: true, format: rate},
		{id: rowPerFsync64, label: "durable puts per fsync, 64 writers (↑, one traced run)", higher: true, format: decimal},
		{id: rowReopen, label: "reopen " + rk + " keys (s ↓)", format: seconds},
		{id: rowMerge, label: "merge " + rk + " keys, none overwritten (s ↓)", noRatio: true, format: seconds},
		{id: rowReopenMerged, label: "reopen " + rk + " keys after merge (s ↓)", format: seconds},
		{id: rowHeapLoad, label: "heap after loading " + rk + " keys (B/key ↓)", bitcaskOnly: true, format: bytesPerKey},
		{id: rowHeapReopen, label: "heap after reopening " + rk + " keys (B/key ↓)", bitcaskOnly: true, format: bytesPerKey},
		{id: rowDiskWritten, label: "disk after writing " + k + " keys (MB ↓)", format: megabytes},
		{id: rowDiskOverwrite, label: "disk after overwriting them once (MB ↓)", format: megabytes},
		{id: rowDiskMerged, label: "disk after merge (MB ↓)", format: megabytes},
	}
}

// count writes a key count as 500k or 1M.
func count(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

// rate writes operations per second with three significant digits.
func rate(v float64) string {
	switch {
	case v >= 1e6:
		return sig3(v/1e6) + "M"
	case v >= 1e3:
		return sig3(v/1e3) + "k"
	}
	return sig3(v)
}

func sig3(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func seconds(v float64) string {
	if v < 1 {
		return sig3(v*1000) + " ms"
	}
	return sig3(v) + " s"
}

// micros writes seconds as microseconds.
func micros(v float64) string { return sig3(v * 1e6) }

func bytesPerKey(v float64) string { return fmt.Sprintf("%.0f", v) }

func megabytes(v float64) string { return fmt.Sprintf("%.1f", v/1e6) }

func decimal(v float64) string { return sig3(v) }

// medianOf returns the median of vs, or NaN for none.
func medianOf(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
