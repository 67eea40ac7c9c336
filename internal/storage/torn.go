package storage

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/aether-kv/aether-kv/internal/format"
)

// TornLast reports whether the bad record at off, in a file of size
// bytes, is the file's last write torn short by a crash, rather than
// damage with records written after it. It is torn when no valid record
// follows it (NextValid), or when its header is sound but claims more
// bytes than the file has, and none of the valid records after it starts
// a run of records that reaches the end of the file. Those records then
// lie inside the torn record's own value (a value may hold encoded
// records: a copy of another store's file, a record being forwarded),
// not after it.
//
// Records written after the bad one run to the end of the file: to its
// last byte, to the zeros of its preallocated end, or to a last record
// torn in turn. So damage in the middle of a file is not taken for a torn
// write, even when it is to a size field that now claims bytes past the
// end, unless the file was damaged a second time after it. When the
// records inside a torn value themselves run to the end (the value held
// a whole log, torn at one of its records), the two cannot be told apart,
// and TornLast says false: damage.
func TornLast(r io.ReaderAt, off, size int64, maxKey int) (bool, error) {
	next, err := NextValid(r, off, size, maxKey)
	if err != nil || next < 0 {
		return next < 0, err
	}
	if cut, err := claimsPastEnd(r, off, size, maxKey); err != nil || !cut {
		return false, err
	}
	for next >= 0 {
		stop, reaches, err := runEnd(r, next, size, maxKey)
		if err != nil || reaches {
			return false, err
		}
		if next, err = NextValid(r, stop, size, maxKey); err != nil {
			return false, err
		}
	}
	return true, nil
}

// claimsPastEnd reports whether the bytes at off hold a sound header
// whose record runs past size.
func claimsPastEnd(r io.ReaderAt, off, size int64, maxKey int) (bool, error) {
	if size-off < format.HeaderSize {
		return false, nil
	}
	h, sound, err := soundHeader(r, off, maxKey)
	return sound && off+h.RecordSize() > size, err
}

// soundHeader reads the header at off, which must have a header's bytes
// before the end, and reports whether it would be valid in a file long
// enough for its record.
func soundHeader(r io.ReaderAt, off int64, maxKey int) (format.Header, bool, error) {
	var hdr [format.HeaderSize]byte
	if err := readFull(r, hdr[:], off); err != nil {
		return format.Header{}, false, fmt.Errorf("read the header at %d: %w", off, err)
	}
	h, err := checkHeader(hdr[:], off, math.MaxInt64, uint32(maxKey))
	return h, err == nil, nil
}

// runEnd follows the valid records from off, where one starts, and reports
// where they stop and whether they reach the end of the file: its last
// byte, zeros to its last byte (a preallocated end), zeros to the end of
// their sector (one a power cut lost, with unsynced writes after it), or
// what may be the start of a record torn there (less than a header, or a
// sound header, whether or not its record fits). In doubt it says the run
// reaches the end: TornLast then refuses to cut, and nothing acknowledged
// is cut. Other zeros are not taken for an end: a value may hold zeros.
func runEnd(r io.ReaderAt, off, size int64, maxKey int) (stop int64, reaches bool, err error) {
	s := NewScannerFrom(r, "", off, size, maxKey)
	for s.Next() {
	}
	stop = s.Offset()
	if s.Err() == nil || size-stop < format.HeaderSize {
		return stop, true, nil
	}
	if !errors.Is(s.Err(), format.ErrCorrupt) {
		return stop, false, s.Err()
	}
	if zeros, err := ZerosToSector(r, stop, size); err != nil || zeros {
		return stop, zeros, err // to the end of the file, or of a lost sector
	}
	// A record torn there: its header, whether it claims bytes past the
	// end or inside a preallocated file (its value cut short by zeros, or
	// by bytes a crash left), or less than a header, then zeros
	// (to the end of the file).
	if _, sound, err := soundHeader(r, stop, maxKey); err != nil || sound {
		return stop, sound, err
	}
	zeros, err := AllZeros(r, stop+format.HeaderSize-1, size) // a header's start, its last byte not written
	return stop, zeros, err
}
