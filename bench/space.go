package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	aetherkv "github.com/aether-kv/aether-kv"
)

// space writes keys, overwrites every key five times, deletes a tenth of
// them, merges, and compares the bytes on disk with the live data.
func space(args []string) error {
	fs, keys, dir := newFlags("space")
	fs.Parse(args)
	d, cleanup, err := workDir(*dir)
	if err != nil {
		return err
	}
	defer cleanup()
	db, err := aetherkv.Open(d, &aetherkv.Options{MergeRatio: -1})
	if err != nil {
		return err
	}
	defer db.Close()
	value := make([]byte, 100)
	for round := range 6 { // the first write, then five overwrites
		for i := range *keys {
			value[0] = byte(round)
			if err := db.Put(key(i), value); err != nil {
				return err
			}
		}
	}
	for i := 0; i < *keys; i += 10 {
		if err := db.Delete(key(i)); err != nil {
			return err
		}
	}
	before, disk0 := db.Stats(), diskBytes(d)
	start := time.Now()
	if err := db.Merge(); err != nil {
		return err
	}
	took := time.Since(start)
	after := db.Stats()
	disk := diskBytes(d)
	fmt.Printf("before merge: %s; on disk %d MB\n", statsLine(before), disk0>>20)
	fmt.Printf("merge: %v; %s\n", took.Round(time.Millisecond), statsLine(after))
	fmt.Printf("| keys | live data | data files | data files / live | data + hint files | (data + hints) / live |\n|---|---|---|---|---|---|\n")
	fmt.Printf("| %d | %d B | %d B | %.3f | %d B | %.3f |\n", after.Keys, after.LiveBytes, after.DataBytes,
		float64(after.DataBytes)/float64(after.LiveBytes), disk, float64(disk)/float64(after.LiveBytes))
	return nil
}

// diskBytes returns the bytes of the data and hint files in dir.
func diskBytes(dir string) int64 {
	var n int64
	for _, pattern := range []string{"*.log", "*.hint"} {
		files, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil {
				n += fi.Size()
			}
		}
	}
	return n
}
