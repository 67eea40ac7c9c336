package format

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Hint files sit beside the data files that merge writes. A hint file
// lists, for each record of its data file, the record's header fields and
// key with the record's offset, but not its value, so that start-up can
// rebuild the key directory without reading the values:
//
//	entry:
//	+---------+-----------+----------+------------+--------+------+-----+
//	| CRC32   | timestamp | key size | value size | offset | flag | key |
//	| 4 bytes | 8 bytes   | 4 bytes  | 4 bytes    | 8      | 1    | ... |
//	+---------+-----------+----------+------------+--------+------+-----+
//	 CRC32 (IEEE) of the entry's bytes [4:]. An entry of a value with a
//	 deadline (flag 5) has the 8-byte deadline after its key.
//
//	trailer, once, at the end:
//	+----------+---------+----------------+-------------+-------------+
//	| magic    | entries | data file size | entries CRC | trailer CRC |
//	| 8 bytes  | 8 bytes | 8 bytes        | 4 bytes     | 4 bytes     |
//	+----------+---------+----------------+-------------+-------------+
//	 entries CRC: CRC32 of every entry byte; trailer CRC: of the
//	 trailer's bytes [0:28].
//
// A hint file is trusted only whole: a bad entry or trailer, or a data file
// of another size, and start-up scans the data file instead. DecodeHints
// checks the checksum of the whole file and the bounds of every entry; the
// entries' own checksums, redundant once the file's matches, are there for
// salvaging what a damaged hint file still holds (VerifyHintEntry).
//
// On-disk format; do not change.
const (
	HintEntrySize   = 29
	HintTrailerSize = 32
)

// HintMagic opens every hint file trailer.
var HintMagic = [8]byte{'A', 'K', 'V', 'H', 'I', 'N', 'T', '1'}

// HintEntry is one decoded hint entry. Key aliases the decoded buffer.
type HintEntry struct {
	Timestamp uint64
	ValueSize uint32
	Offset    int64
	Flag      byte
	Key       []byte
	Deadline  int64 // for FlagValueTTL: the deadline in Unix nanoseconds, kept after the key
}

// RecordSize returns the size of the record the entry points at.
func (e HintEntry) RecordSize() int64 {
	return HeaderSize + int64(len(e.Key)) + int64(e.ValueSize)
}

// AppendHint encodes a hint entry onto dst.
func AppendHint(dst []byte, e HintEntry) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	dst = binary.LittleEndian.AppendUint64(dst, e.Timestamp)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(e.Key)))
	dst = binary.LittleEndian.AppendUint32(dst, e.ValueSize)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(e.Offset))
	dst = append(dst, e.Flag)
	dst = append(dst, e.Key...)
	if HasDeadline(e.Flag) {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(e.Deadline))
	}
	binary.LittleEndian.PutUint32(dst[start:], crc32.ChecksumIEEE(dst[start+4:]))
	return dst
}

// hintEntryEnd returns the size of the entry at the start of b, from its
// key size and flag, or -1 if b is too short to tell.
func hintEntryEnd(b []byte) int64 {
	if len(b) < HintEntrySize {
		return -1
	}
	n := HintEntrySize + int64(binary.LittleEndian.Uint32(b[12:]))
	if HasDeadline(b[28]) {
		n += DeadlineSize
	}
	return n
}

// AppendHintTrailer encodes the trailer of a hint file whose entries, n of
// them with checksum entriesCRC, describe a data file of dataSize bytes.
func AppendHintTrailer(dst []byte, n uint64, dataSize int64, entriesCRC uint32) []byte {
	start := len(dst)
	dst = append(dst, HintMagic[:]...)
	dst = binary.LittleEndian.AppendUint64(dst, n)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(dataSize))
	dst = binary.LittleEndian.AppendUint32(dst, entriesCRC)
	return binary.LittleEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:]))
}

// DecodeHints verifies a whole hint file held in b against a data file of
// dataSize bytes and calls fn for each entry, in order. It returns an error
// wrapping ErrCorrupt, before calling fn at all, if anything is wrong.
// Entries' keys alias b.
func DecodeHints(b []byte, dataSize int64, maxKey int, fn func(HintEntry)) error {
	if len(b) < HintTrailerSize {
		return fmt.Errorf("hint file of %d bytes has no trailer: %w", len(b), ErrCorrupt)
	}
	body, tr := b[:len(b)-HintTrailerSize], b[len(b)-HintTrailerSize:]
	switch {
	case !bytes.Equal(tr[:8], HintMagic[:]):
		return fmt.Errorf("hint trailer magic %q: %w", tr[:8], ErrCorrupt)
	case crc32.ChecksumIEEE(tr[:28]) != binary.LittleEndian.Uint32(tr[28:]):
		return fmt.Errorf("hint trailer checksum: %w", ErrCorrupt)
	case int64(binary.LittleEndian.Uint64(tr[16:])) != dataSize:
		return fmt.Errorf("hint describes a data file of %d bytes, not %d: %w", binary.LittleEndian.Uint64(tr[16:]), dataSize, ErrCorrupt)
	case crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(tr[24:]):
		return fmt.Errorf("hint entries checksum: %w", ErrCorrupt)
	}
	want := binary.LittleEndian.Uint64(tr[8:])
	// Verify every entry before calling fn once: a hint is used whole or
	// not at all.
	n, err := walkHints(body, dataSize, maxKey, func(HintEntry) {})
	if err != nil {
		return err
	}
	if n != want {
		return fmt.Errorf("hint holds %d entries, trailer says %d: %w", n, want, ErrCorrupt)
	}
	_, err = walkHints(body, dataSize, maxKey, fn)
	return err
}

// walkHints decodes the entries of body in order and returns their count.
func walkHints(body []byte, dataSize int64, maxKey int, fn func(HintEntry)) (uint64, error) {
	var n uint64
	for off := 0; off < len(body); n++ {
		e, size, err := decodeHint(body[off:], dataSize, maxKey)
		if err != nil {
			return n, fmt.Errorf("hint entry at %d: %w", off, err)
		}
		fn(e)
		off += size
	}
	return n, nil
}

// VerifyHintEntry reports whether the entry at the start of b has the
// checksum it claims, and its size.
func VerifyHintEntry(b []byte) (size int, ok bool) {
	n := hintEntryEnd(b)
	if n < 0 || int64(len(b)) < n {
		return 0, false
	}
	return int(n), crc32.ChecksumIEEE(b[4:n]) == binary.LittleEndian.Uint32(b)
}

func decodeHint(b []byte, dataSize int64, maxKey int) (HintEntry, int, error) {
	if len(b) < HintEntrySize {
		return HintEntry{}, 0, fmt.Errorf("truncated entry: %w", ErrCorrupt)
	}
	ks := binary.LittleEndian.Uint32(b[12:])
	e := HintEntry{
		Timestamp: binary.LittleEndian.Uint64(b[4:]),
		ValueSize: binary.LittleEndian.Uint32(b[16:]),
		Offset:    int64(binary.LittleEndian.Uint64(b[20:])),
		Flag:      b[28],
	}
	switch {
	case ks == 0 || int64(ks) > int64(maxKey):
		return HintEntry{}, 0, fmt.Errorf("key size %d: %w", ks, ErrCorrupt)
	case int64(len(b)) < hintEntryEnd(b):
		return HintEntry{}, 0, fmt.Errorf("truncated entry: %w", ErrCorrupt)
	}
	k := HintEntrySize + int(ks)
	e.Key = b[HintEntrySize:k:k]
	n := int(hintEntryEnd(b))
	if HasDeadline(e.Flag) {
		e.Deadline = int64(binary.LittleEndian.Uint64(b[k:]))
	}
	switch {
	case e.Flag != FlagValue && e.Flag != FlagTombstone && e.Flag != FlagValueTTL:
		return HintEntry{}, 0, fmt.Errorf("unknown flag %d: %w", e.Flag, ErrCorrupt)
	case e.Flag == FlagTombstone && e.ValueSize != 0:
		return HintEntry{}, 0, fmt.Errorf("tombstone with a %d-byte value: %w", e.ValueSize, ErrCorrupt)
	case e.Flag == FlagValueTTL && e.ValueSize < DeadlineSize:
		return HintEntry{}, 0, fmt.Errorf("value with a deadline of %d bytes: %w", e.ValueSize, ErrCorrupt)
	case e.Offset < 0 || e.Offset > dataSize-e.RecordSize():
		return HintEntry{}, 0, fmt.Errorf("record at %d of %d bytes lies past the data file's end %d: %w", e.Offset, e.RecordSize(), dataSize, ErrCorrupt)
	}
	return e, n, nil
}

// HintEntries returns how many entries the trailer of hint file b claims,
// bounded by what b can hold, and the bytes of their keys: a size hint for
// the caller's tables, not a verified figure (DecodeHints verifies).
func HintEntries(b []byte) (n int, keyBytes int64) {
	if len(b) < HintTrailerSize {
		return 0, 0
	}
	body := len(b) - HintTrailerSize
	claimed := binary.LittleEndian.Uint64(b[body+8:])
	n = int(min(claimed, uint64(body/HintEntrySize)))
	return n, int64(body - n*HintEntrySize)
}
