package main

import (
	"fmt"
	"os"
	"slices"
	"time"

	aetherkv "github.com/aether-kv/aether-kv"
)

// workDir returns dir, or a new temporary directory removed by cleanup.
func workDir(dir string) (string, func(), error) {
	if dir != "" {
		return dir, func() {}, nil
	}
	d, err := os.MkdirTemp("", "aether-bench-")
	if err != nil {
		return "", nil, err
	}
	return d + "/data", func() { os.RemoveAll(d) }, nil
}

func median(n int, f func() time.Duration) time.Duration {
	d := make([]time.Duration, n)
	for i := range d {
		d[i] = f()
	}
	slices.Sort(d)
	return d[n/2]
}

// dropCaches writes dirty pages and drops the page cache (root only).
func dropCaches() {
	runBin("sync")
	os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0)
}

func runBin(name string) {
	if p, err := os.StartProcess("/bin/"+name, []string{name}, &os.ProcAttr{}); err == nil {
		p.Wait()
	}
}

func statsLine(st aetherkv.Stats) string {
	return fmt.Sprintf("keys=%d files=%d data=%dMB live=%dMB dead=%dMB", st.Keys, st.DataFiles,
		st.DataBytes>>20, st.LiveBytes>>20, st.DeadBytes>>20)
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}
