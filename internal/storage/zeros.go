package storage

import (
	"bytes"
	"io"
)

// AllZeros reports whether the bytes of r from off to size are all zero:
// the preallocated end of an active file (see Log.Preallocate), rather
// than a record torn or damaged.
func AllZeros(r io.ReaderAt, off, size int64) (bool, error) {
	buf := make([]byte, min(size-off, int64(len(zeros))))
	for off < size {
		n := min(int64(len(buf)), size-off)
		if err := readFull(r, buf[:n], off); err != nil {
			return false, err
		}
		if !isZero(buf[:n]) {
			return false, nil
		}
		off += n
	}
	return true, nil
}

// zeros is read, never written: what preallocation writes, and what
// AllZeros compares with.
var zeros [1 << 20]byte

func isZero(b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), len(zeros))
		if !bytes.Equal(b[:n], zeros[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

// SectorSize is the unit a disk persists whole or not at all; a page of
// the operating system's cache reaches it as several.
const SectorSize = 512

// ZerosToSector reports whether the bytes of r from off to the end of its
// sector (or to size) are all zero, off being where the valid records of
// an active file end: that sector was persisted as the last fsync left
// it, while later ones, written since, were persisted too, as a power cut
// can leave a file whose size was already durable (a preallocated one).
// Nothing after such a sector can have been acknowledged as durable,
// since the fsync that would have acknowledged it would have persisted
// that sector as well.
func ZerosToSector(r io.ReaderAt, off, size int64) (bool, error) {
	end := min(size, (off/SectorSize+1)*SectorSize)
	if end <= off {
		return false, nil
	}
	return AllZeros(r, off, end)
}
