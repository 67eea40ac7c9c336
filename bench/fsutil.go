package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// diskUsage returns the bytes the files under dir occupy on disk
// (allocated blocks, like du), so that sparse or preallocated files count
// for what they really use.
func diskUsage(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			n += st.Blocks * 512
		} else {
			n += fi.Size()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("disk usage of %s: %w", dir, err)
	}
	return n, nil
}

// readFiles reads every file in paths and returns how long it took.
func readFiles(paths []string) (time.Duration, error) {
	start := time.Now()
	for _, p := range paths {
		if _, err := os.ReadFile(p); err != nil {
			return 0, fmt.Errorf("read %s: %w", p, err)
		}
	}
	if len(paths) == 0 {
		return 0, nil
	}
	return time.Since(start), nil
}

// syncDir fsyncs a directory, making renames and new files in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}
