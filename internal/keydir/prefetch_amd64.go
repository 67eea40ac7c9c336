package keydir

import "unsafe"

// prefetch asks the CPU to load the cache line at p, without waiting for
// it: a plain load would stall the instructions after it until the line
// arrives.
//
//go:noescape
func prefetch(p unsafe.Pointer)
