package keydir

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
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

// freshTable returns a table of n slots in memory fresh from the kernel
// (its own mapping), unmapped when the test ends.
func freshTable(t *testing.T, n int) []uint64 {
	t.Helper()
	b, err := unix.Mmap(-1, 0, 16*n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(b) })
	return unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), 2*n)
}

// TestNewSlotsFaultOncePerPage checks that a new table read before it is
// written, as grow probes it, costs no more page faults once touchPages
// has run (as newSlots does) than a table written first: fresh memory
// that is read first maps the zero page, and the first write takes a
// second fault (and a TLB shootdown). Both tables are fresh mappings of
// 64 MiB, outside the Go heap (whose memory may be reused, and whose
// accesses fault in the race detector's shadow memory too).
func TestNewSlotsFaultOncePerPage(t *testing.T) {
	const n = 4 << 20 // slots: 64 MiB
	written := freshTable(t, n)
	before := minorFaults(t)
	for i := 0; i < len(written); i += pageWords {
		written[i+1] = 1
	}
	want := minorFaults(t) - before

	slots := freshTable(t, n)
	before = minorFaults(t)
	touchPages(slots)
	var sum uint64
	for i := 0; i < len(slots); i += pageWords {
		sum += slots[i+1] // read first, as grow's probe does
	}
	for i := 0; i < len(slots); i += pageWords {
		slots[i+1] = sum + 1
	}
	got := minorFaults(t) - before
	if got > want+want/4 {
		t.Fatalf("a new table touched, read, then written took %d page faults; one written first took %d", got, want)
	}
	if s := newSlots(1000); len(s) != 2000 || s[0] != 0 || s[1999] != 0 {
		t.Fatalf("newSlots(1000) = %d words, first %d, last %d; want 2000 zeros", len(s), s[0], s[len(s)-1])
	}
}

// TestCollapseTables checks that CollapseTables backs the tables with huge
// pages where the kernel allows them (/proc/self/smaps then counts
// AnonHugePages), that it changes no entry, and that a small key
// directory, or a call told to stop, is left alone.
func TestCollapseTables(t *testing.T) {
	never := func() bool { return false }
	small := New()
	for i := range 1000 {
		small.Put(fmt.Appendf(nil, "key-%d", i), Entry{FileID: 1, Offset: int64(i), Size: 30})
	}
	if n, err := small.CollapseTables(never); n != 0 || err != nil {
		t.Fatalf("CollapseTables of 1000 keys = %d, %v; want 0, nil", n, err)
	}

	const n = 600_000 // ~19 MiB of tables
	k := New()
	for i := range n {
		k.Put(fmt.Appendf(nil, "key-%012d", i), Entry{FileID: 1, Offset: int64(i) * 137, Size: 137})
	}
	if got, err := k.CollapseTables(func() bool { return true }); got != 0 || err != nil {
		t.Fatalf("CollapseTables told to stop = %d, %v; want 0, nil", got, err)
	}
	collapsed, err := k.CollapseTables(never)
	thp, thpErr := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	switch {
	case thpErr != nil || strings.Contains(string(thp), "[never]"):
		if collapsed != 0 || err != nil {
			t.Fatalf("huge pages are off, yet CollapseTables = %d, %v", collapsed, err)
		}
	case err != nil:
		// A kernel before 6.1, huge pages refused to the process, or
		// no memory for one: CollapseTables must stop and say so.
		if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.ENOMEM) {
			t.Fatalf("CollapseTables = %d, %v; want EINVAL, EPERM or ENOMEM if anything", collapsed, err)
		}
		t.Logf("no huge pages here: %v", err)
	case collapsed == 0:
		t.Fatalf("CollapseTables collapsed nothing, and no error (transparent huge pages: %s)", strings.TrimSpace(string(thp)))
	default:
		if kb := anonHugeKB(t); kb < 2048 {
			t.Fatalf("after %d regions collapsed, AnonHugePages is %d kB", collapsed, kb)
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
