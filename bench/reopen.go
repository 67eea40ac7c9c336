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
// the hint files, Open by scanning the data files, and a plain read of the
// hint files, each with a warm page cache and, as root, a cold one.
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
			timeOpen(d, *keys, false)
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
		withHints := median(*reps, func() time.Duration { return timeOpen(d, *keys, drop) })
		scanned := median(*reps, func() time.Duration { return timeOpen(scanDir, *keys, drop) })
		readHints := median(*reps, func() time.Duration { return timeRead(hints, drop) })
		fmt.Printf("| %s cache | %d keys | open from hints %v | open by scanning %v | %.1fx | reading the hint files alone %v |\n",
			cache, *keys, withHints.Round(time.Millisecond), scanned.Round(time.Millisecond),
			float64(scanned)/float64(withHints), readHints.Round(time.Millisecond))
	}
	return nil
}

func timeOpen(dir string, keys int, drop bool) time.Duration {
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
	db.Close()
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
