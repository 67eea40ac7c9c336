package keydir

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the size of a transparent huge page on the platforms Go
// supports on Linux that have them (a PMD: 2 MiB on amd64 and arm64 with
// 4 KiB pages).
const hugePage = 2 << 20

// minCollapse is the size of all tables below which CollapseTables does
// nothing: smaller tables are mostly covered by the TLB's 4 KiB entries
// anyway (a few thousand of them), and a small store would pay up to a
// whole huge page of memory per region for little.
const minCollapse = 8 << 20

// CollapseTables asks the kernel to back the memory of the shards' tables
// with huge pages (madvise MADV_COLLAPSE, Linux 6.1 and later), and
// returns how many 2 MiB regions it collapsed. A lookup misses the cache
// on its slot anyway; with 4 KiB pages it misses the TLB as well, and a
// page walk in a virtual machine costs about as much again. Random gets
// of 500k keys (bench worker, alternated pairs, every pair won): with the
// tables collapsed before the first get, 1.41-1.57M/s -> 1.59-1.83M/s
// (4 pairs); collapsed in the background beside the gets, as Open does,
// medians 1.43M -> 1.53M/s (5 pairs).
//
// The tables live in the Go heap, among other objects: collapsing a
// region copies its pages into one huge page and changes none of its
// bytes, so it is safe beside the runtime and beside readers and
// writers, and a table freed or moved meanwhile only makes the work
// useless. It stops at the first error (a kernel without MADV_COLLAPSE,
// or huge pages turned off), and before each region when stop returns
// true.
func (k *Keydir) CollapseTables(stop func() bool) int {
	var regions []uintptr
	seen := make(map[uintptr]bool)
	total := 0
	for i := range k.shards {
		k.locks[i].Lock()
		slots := k.shards[i].slots
		k.locks[i].Unlock()
		if len(slots) == 0 {
			continue
		}
		total += 8 * len(slots)
		first := uintptr(unsafe.Pointer(&slots[0])) &^ (hugePage - 1)
		last := uintptr(unsafe.Pointer(&slots[len(slots)-1]))
		for r := first; r <= last; r += hugePage {
			if !seen[r] {
				seen[r] = true
				regions = append(regions, r)
			}
		}
	}
	if total < minCollapse {
		return 0
	}
	collapsed := 0
	for _, r := range regions {
		if stop() {
			break
		}
		// By address: the region is not a Go object of its own.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, r, hugePage, unix.MADV_COLLAPSE); errno != 0 {
			break
		}
		collapsed++
	}
	return collapsed
}
