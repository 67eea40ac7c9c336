//go:build !amd64

package keydir

import "unsafe"

// prefetch does nothing here: only amd64 has the instruction in assembly.
func prefetch(unsafe.Pointer) {}
