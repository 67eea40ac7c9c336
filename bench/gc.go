package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	aetherkv "github.com/aether-kv/aether-kv"
)

// gcCost loads stores of growing size and measures what a garbage
// collection costs with each loaded: the key directory holds no Go pointer
// per key, so the cost should not grow with the number of keys.
func gcCost(args []string) error {
	fs, _, _ := newFlags("gc")
	sizes := fs.String("sizes", "1000000,10000000", "comma-separated key counts")
	fs.Parse(args)
	var counts []int
	for _, f := range strings.Split(*sizes, ",") {
		var n int
		if _, err := fmt.Sscan(f, &n); err != nil {
			return fmt.Errorf("-sizes: %q: %w", f, err)
		}
		counts = append(counts, n)
	}
	fmt.Println("| key directory | keys | heap | forced GC, median wall time | stop-the-world pause, median |")
	fmt.Println("|---|--:|--:|--:|--:|")
	for _, n := range counts {
		if err := gcRow(n); err != nil {
			return err
		}
		mapRow(n)
	}
	return nil
}

// mapRow measures the same with a Go map from string keys to 16-byte
// entries, the seed's kind of key directory, for comparison.
func mapRow(n int) {
	m := make(map[string][16]byte)
	for i := range n {
		m[string(key(i))] = [16]byte{}
	}
	walls, pauses := measureGC()
	fmt.Printf("| Go map (for comparison) | %d | %d MB | %v | %v |\n", n, heapMB(), middle(walls).Round(time.Microsecond), middle(pauses).Round(time.Microsecond))
	runtime.KeepAlive(m)
}

// measureGC forces 7 collections and returns their wall times and pauses.
func measureGC() (walls, pauses []time.Duration) {
	for range 7 {
		var before, after debug.GCStats
		debug.ReadGCStats(&before)
		start := time.Now()
		runtime.GC()
		walls = append(walls, time.Since(start))
		debug.ReadGCStats(&after)
		pauses = append(pauses, after.PauseTotal-before.PauseTotal)
	}
	return walls, pauses
}

func heapMB() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc >> 20
}

func gcRow(n int) error {
	dir, err := os.MkdirTemp("", "aether-gc-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := aetherkv.Open(dir, &aetherkv.Options{MergeRatio: -1})
	if err != nil {
		return err
	}
	defer db.Close()
	value := make([]byte, 100)
	for i := range n {
		if err := db.Put(key(i), value); err != nil {
			return err
		}
	}
	walls, pauses := measureGC()
	fmt.Printf("| aether | %d | %d MB | %v | %v |\n", n, heapMB(),
		middle(walls).Round(time.Microsecond), middle(pauses).Round(time.Microsecond))
	return nil
}

// middle returns the median of d.
func middle(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
