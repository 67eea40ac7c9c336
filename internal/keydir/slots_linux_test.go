package keydir

import (
	"runtime"
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
