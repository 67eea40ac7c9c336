package keydir

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// minCollapse is the size of all tables below which CollapseTables does
// nothing: smaller tables are mostly covered by the TLB's entries for
// small pages anyway (a few thousand of them).
const minCollapse = 8 << 20

// CollapseTables asks the kernel to back the memory of the shards' tables
// with transparent huge pages (madvise MADV_COLLAPSE, Linux 6.1 and
// later), and returns how many huge-page regions it collapsed. A lookup
// misses the cache on its slot anyway; with small pages it misses the TLB
// as well, and a page walk in a virtual machine costs about as much
// again. Random gets of 500k keys (bench worker, alternated pairs, every
// pair won): with the tables collapsed before the first get,
// 1.41-1.57M/s -> 1.59-1.83M/s (4 pairs); collapsed in the background
// beside the gets, as Open does, medians 1.43M -> 1.53M/s (5 pairs).
//
// The tables live in the Go heap, among other objects: collapsing a
// region copies its pages into one huge page and changes none of its
// bytes, so it is safe beside the runtime and beside readers and
// writers, and a table freed or moved meanwhile only makes the work
// useless. But it makes every page of the region resident, free ones
// too, so only regions that tables fill at least a quarter of are
// collapsed: the memory it may add is at most three times the tables'.
//
// It does nothing when transparent huge pages are turned off
// (/sys/kernel/mm/transparent_hugepage/enabled says never: MADV_COLLAPSE
// itself would not ask), or when the tables are under 8 MiB. A region the
// kernel cannot collapse for now (EAGAIN) is passed over; any other error
// (no MADV_COLLAPSE before Linux 6.1, huge pages refused to the process,
// no memory for one) stops it and is returned. It stops before the next
// region when stop returns true.
func (k *Keydir) CollapseTables(stop func() bool) (collapsed int, err error) {
	size, err := hugePageSize()
	if err != nil || size == 0 {
		return 0, err
	}
	covered := make(map[uintptr]int) // region start -> table bytes in it
	var regions []uintptr
	total := 0
	for i := range k.shards {
		k.locks[i].Lock()
		slots := k.shards[i].slots
		k.locks[i].Unlock()
		if len(slots) == 0 {
			continue
		}
		start := uintptr(unsafe.Pointer(&slots[0]))
		end := start + uintptr(8*len(slots))
		total += 8 * len(slots)
		for r := start &^ (size - 1); r < end; r += size {
			if _, ok := covered[r]; !ok {
				regions = append(regions, r)
			}
			covered[r] += int(min(end, r+size) - max(start, r))
		}
	}
	if total < minCollapse {
		return 0, nil
	}
	for _, r := range regions {
		if covered[r] < int(size/4) {
			continue
		}
		if stop() {
			break
		}
		// By address: the region is not a Go object of its own.
		_, _, errno := unix.Syscall(unix.SYS_MADVISE, r, size, unix.MADV_COLLAPSE)
		switch {
		case errno == 0:
			collapsed++
		case errno == unix.EAGAIN: // pages busy for now: pass it over
		default:
			return collapsed, fmt.Errorf("madvise(MADV_COLLAPSE): %w", errno)
		}
	}
	return collapsed, nil
}

// hugePageSize returns the size of a transparent huge page, or 0 if they
// are turned off.
func hugePageSize() (uintptr, error) {
	enabled, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil // a kernel without transparent huge pages
	}
	if err != nil {
		return 0, err
	}
	if strings.Contains(string(enabled), "[never]") {
		return 0, nil
	}
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size")
	if err != nil {
		return 0, err
	}
	size, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || size == 0 || size&(size-1) != 0 {
		return 0, fmt.Errorf("hpage_pmd_size %q: not a power of two", strings.TrimSpace(string(b)))
	}
	return uintptr(size), nil
}
