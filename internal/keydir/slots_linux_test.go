package keydir

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// minorFaults returns the process's minor page faults so far.
func minorFaults(t *testing.T) int64 {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return ru.Minflt
}

// TestNewSlotsFaultOncePerPage checks that a new table read before it is
// written, as grow probes it, costs no more page faults than a table
// written first: memory fresh from the kernel that is read first takes a
// second fault (and a TLB shootdown) at the first write. Each table is 64
// MiB, fresh memory for this process. Under the race detector, whose
// shadow memory faults too, the two counts come closer and the test tells
// less: .ci/run runs it without it as well.
func TestNewSlotsFaultOncePerPage(t *testing.T) {
	const n = 4 << 20 // slots: 64 MiB
	before := minorFaults(t)
	written := make([]uint64, 2*n)
	for i := 0; i < len(written); i += pageWords {
		written[i+1] = 1
	}
	want := minorFaults(t) - before

	before = minorFaults(t)
	slots := newSlots(n)
	var sum uint64
	for i := 0; i < len(slots); i += pageWords {
		sum += slots[i+1] // read first, as grow's probe does
	}
	for i := 0; i < len(slots); i += pageWords {
		slots[i+1] = sum + 1
	}
	got := minorFaults(t) - before
	runtime.KeepAlive(written)
	if got > want+want/4 {
		t.Fatalf("a new table read, then written, took %d page faults; one written first took %d", got, want)
	}
}

// TestCollapseTables checks that CollapseTables backs the tables with huge
// pages where the kernel allows them (/proc/self/smaps then counts
// AnonHugePages), that it changes no entry, and that a small key
// directory is left alone.
func TestCollapseTables(t *testing.T) {
	never := func() bool { return false }
	small := New()
	for i := range 1000 {
		small.Put(fmt.Appendf(nil, "key-%d", i), Entry{FileID: 1, Offset: int64(i), Size: 30})
	}
	if n := small.CollapseTables(never); n != 0 {
		t.Fatalf("CollapseTables of 1000 keys collapsed %d regions, want none", n)
	}

	const n = 600_000 // ~19 MiB of tables
	k := New()
	for i := range n {
		k.Put(fmt.Appendf(nil, "key-%012d", i), Entry{FileID: 1, Offset: int64(i) * 137, Size: 137})
	}
	if got := k.CollapseTables(func() bool { return true }); got != 0 {
		t.Fatalf("CollapseTables told to stop collapsed %d regions", got)
	}
	before := anonHugeKB(t)
	collapsed := k.CollapseTables(never)
	thp, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	switch {
	case err != nil || strings.Contains(string(thp), "[never]"):
		if collapsed != 0 {
			t.Fatalf("huge pages are off, yet CollapseTables collapsed %d regions", collapsed)
		}
	case collapsed == 0:
		t.Fatalf("CollapseTables collapsed nothing (transparent huge pages: %s)", strings.TrimSpace(string(thp)))
	default:
		if after := anonHugeKB(t); after < before+2048 {
			t.Fatalf("after %d regions collapsed, AnonHugePages went from %d to %d kB", collapsed, before, after)
		}
	}
	for i := range n {
		key := fmt.Appendf(nil, "key-%012d", i)
		if e, ok := k.Get(key); !ok || e.Offset != int64(i)*137 {
			t.Fatalf("after CollapseTables, Get(%s) = %+v, %v", key, e, ok)
		}
	}
}

// anonHugeKB returns the process's anonymous memory in huge pages, in kB.
func anonHugeKB(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "AnonHugePages:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("smaps_rollup: %q: %v", line, err)
			}
			return kb
		}
	}
	t.Fatal("smaps_rollup has no AnonHugePages line")
	return 0
}
