package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	aetherkv "github.com/aether-kv/aether-kv"
)

// reopen loads keys, merges (which writes hint files), and times Open from
// the key-directory checkpoint that Close writes, Open from the hint files
// (without the checkpoint, as after a crash), Open by scanning the data
// files, and plain reads of the checkpoint and of the hint files, each with
// a warm page cache and, as root, a cold one.
func reopen(args []string) error {
	fs, keys, dir := newFlags("reopen")
	reps := fs.Int("reps", 3, "repetitions of each measurement (the median is printed)")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the opens from hint files to `file`")
	fs.Parse(args)
	d, cleanup, err := workDir(*dir)
	if err != nil {
		return err
	}
	defer cleanup()

	start := time.Now()
	db, err := aetherkv.Open(d, &aetherkv.Options{MergeRatio: -1})
	if err != nil {
		return err
	}
	value := make([]byte, 100)
	for i := range *keys {
		if err := db.Put(key(i), value); err != nil {
			return err
		}
	}
	fmt.Printf("load: %d keys in %v\n", *keys, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if err := db.Merge(); err != nil {
		return err
	}
	fmt.Printf("merge: %v; %s\n", time.Since(start).Round(time.Millisecond), statsLine(db.Stats()))
	if err := db.Close(); err != nil {
		return err
	}
	hints, _ := filepath.Glob(filepath.Join(d, "*.hint"))
	ckpt := []string{filepath.Join(d, checkpointName)}
	scanDir := d + "-scan"
	if err := copyDataFiles(d, scanDir); err != nil {
		return err
	}
	defer os.RemoveAll(scanDir)

	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		for range 5 {
			timeOpen(d, *keys, false, false)
		}
		pprof.StopCPUProfile()
		f.Close()
	}
	cold := os.Geteuid() == 0
	for _, cache := range []string{"warm", "cold"} {
		if cache == "cold" && !cold {
			fmt.Println("cold cache: skipped (needs root to drop the page cache)")
			continue
		}
		drop := cache == "cold"
		// Each Open is followed by a Close, which writes the checkpoint
		// again; opening without it is opening after a crash.
		fromCkpt := median(*reps, func() time.Duration { return timeOpen(d, *keys, drop, true) })
		readCkpt := median(*reps, func() time.Duration { return timeRead(ckpt, drop) })
		withHints := median(*reps, func() time.Duration { return timeOpen(d, *keys, drop, false) })
		scanned := median(*reps, func() time.Duration { return timeOpen(scanDir, *keys, drop, false) })
		readHints := median(*reps, func() time.Duration { return timeRead(hints, drop) })
		fmt.Printf("| %s cache | %d keys | open from the checkpoint %v | reading the checkpoint alone %v | "+
			"open from hints %v | open by scanning %v | %.1fx | reading the hint files alone %v |\n",
			cache, *keys, fromCkpt.Round(time.Millisecond), readCkpt.Round(time.Millisecond),
			withHints.Round(time.Millisecond), scanned.Round(time.Millisecond),
			float64(scanned)/float64(withHints), readHints.Round(time.Millisecond))
	}
	return nil
}

// checkpointName is the key-directory checkpoint that Close writes
// (storage.CheckpointName).
const checkpointName = "KEYDIR"

// timeOpen times Open of dir: from its checkpoint if ckpt, else with the
// checkpoint removed first, as after a crash. The Close after it writes a
// checkpoint again.
func timeOpen(dir string, keys int, drop, ckpt bool) time.Duration {
	path := filepath.Join(dir, checkpointName)
	if _, err := os.Stat(path); ckpt != (err == nil) {
		if ckpt {
			panic(fmt.Sprintf("%s: no checkpoint: %v", dir, err))
		}
		if err := os.Remove(path); err != nil {
			panic(err)
		}
	}
	if drop {
		dropCaches()
	}
	start := time.Now()
	db, err := aetherkv.Open(dir, nil)
	if err != nil {
		panic(err)
	}
	took := time.Since(start)
	if db.Len() != keys {
		panic(fmt.Sprintf("%s opened with %d keys, want %d", dir, db.Len(), keys))
	}
	if err := db.Close(); err != nil {
		panic(err)
	}
	return took
}

func timeRead(paths []string, drop bool) time.Duration {
	if drop {
		dropCaches()
	}
	start := time.Now()
	for _, p := range paths {
		if _, err := os.ReadFile(p); err != nil {
			panic(err)
		}
	}
	return time.Since(start)
}

// copyDataFiles copies the data files of src, without hints, into dst.
func copyDataFiles(src, dst string) error {
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	logs, _ := filepath.Glob(filepath.Join(src, "*.log"))
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(l)), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}
