package format

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// On-disk format; do not change.
const (
	// HeaderSize is the size of a record header in bytes.
	HeaderSize = 21

	offCRC       = 0
	offTimestamp = 4
	offKeySize   = 12
	offValueSize = 16
	offFlag      = 20
)

// Flag values; on-disk format, do not change.
const (
	// FlagValue marks a record that sets a key to a value.
	FlagValue byte = 0
	// FlagTombstone marks a record that deletes a key.
	FlagTombstone byte = 1

	// FlagBatchValue and FlagBatchTombstone mark the records of an atomic
	// batch: they count only once the batch's commit record follows them.
	FlagBatchValue     byte = 2
	FlagBatchTombstone byte = 3
	// FlagBatchCommit ends a batch. Its key is the batch's sequence number
	// (8 bytes, little-endian) and its value the number of records in the
	// batch (4 bytes, little-endian), which immediately precede it in the
	// same file.
	FlagBatchCommit byte = 4

	// FlagValueTTL and FlagBatchValueTTL are FlagValue and FlagBatchValue
	// for a value with a deadline: the record's value is the deadline
	// (Unix nanoseconds, 8 bytes, little-endian) followed by the value.
	FlagValueTTL      byte = 5
	FlagBatchValueTTL byte = 6
)

// DeadlineSize is the size of the deadline before the value of a record
// with FlagValueTTL or FlagBatchValueTTL.
const DeadlineSize = 8

// HasDeadline reports whether flag marks a value with a deadline.
func HasDeadline(flag byte) bool { return flag == FlagValueTTL || flag == FlagBatchValueTTL }

// IsValue reports whether flag marks a record that sets a value.
func IsValue(flag byte) bool {
	return flag == FlagValue || flag == FlagBatchValue || HasDeadline(flag)
}

// AppendWithDeadline encodes a record of a value with a deadline (flag
// FlagValueTTL or FlagBatchValueTTL) onto dst.
func AppendWithDeadline(dst []byte, timestamp uint64, flag byte, key []byte, deadline int64, value []byte) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	dst = binary.LittleEndian.AppendUint64(dst, timestamp)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(key)))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(DeadlineSize+len(value)))
	dst = append(dst, flag)
	dst = append(dst, key...)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(deadline))
	dst = append(dst, value...)
	binary.LittleEndian.PutUint32(dst[start+offCRC:], crc32.ChecksumIEEE(dst[start+offTimestamp:]))
	return dst
}

// SplitDeadline returns the deadline and the value held in the value field
// of a record whose flag HasDeadline.
func SplitDeadline(field []byte) (deadline int64, value []byte) {
	return int64(binary.LittleEndian.Uint64(field)), field[DeadlineSize:]
}

// BatchCommitKeySize and BatchCommitValueSize are the key and value sizes
// of every batch commit record.
const (
	BatchCommitKeySize   = 8
	BatchCommitValueSize = 4
)

// IsTombstone reports whether flag marks a deletion.
func IsTombstone(flag byte) bool { return flag == FlagTombstone || flag == FlagBatchTombstone }

// IsBatchMember reports whether flag marks a record of a batch.
func IsBatchMember(flag byte) bool {
	return flag == FlagBatchValue || flag == FlagBatchTombstone || flag == FlagBatchValueTTL
}

// AppendBatchCommit encodes the commit record of a batch of n records.
func AppendBatchCommit(dst []byte, timestamp, seq uint64, n uint32) []byte {
	var key [BatchCommitKeySize]byte
	var value [BatchCommitValueSize]byte
	binary.LittleEndian.PutUint64(key[:], seq)
	binary.LittleEndian.PutUint32(value[:], n)
	return Append(dst, timestamp, FlagBatchCommit, key[:], value[:])
}

// BatchCount returns the number of records a commit record's value says
// its batch holds.
func BatchCount(value []byte) uint32 { return binary.LittleEndian.Uint32(value) }

// ErrCorrupt is returned when bytes do not form a valid record: a checksum
// mismatch, an unknown flag, or sizes that cannot be right.
var ErrCorrupt = errors.New("aetherkv: corrupt data")

// Header is the decoded fixed-size part of a record.
type Header struct {
	CRC       uint32
	Timestamp uint64
	KeySize   uint32
	ValueSize uint32
	Flag      byte
}

// RecordSize returns the total size in bytes of the record h describes.
func (h Header) RecordSize() int64 {
	return HeaderSize + int64(h.KeySize) + int64(h.ValueSize)
}

// Size returns the encoded size of a record with this key and value.
func Size(key, value []byte) int {
	return HeaderSize + len(key) + len(value)
}

// Append encodes a record onto dst and returns the extended slice. The
// caller has checked that key and value fit in 32-bit sizes.
func Append(dst []byte, timestamp uint64, flag byte, key, value []byte) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, 0) // CRC, filled in below
	dst = binary.LittleEndian.AppendUint64(dst, timestamp)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(key)))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(value)))
	dst = append(dst, flag)
	dst = append(dst, key...)
	dst = append(dst, value...)
	sum := crc32.ChecksumIEEE(dst[start+offTimestamp:])
	binary.LittleEndian.PutUint32(dst[start+offCRC:], sum)
	return dst
}

// DecodeHeader decodes the first HeaderSize bytes of b. It checks only the
// flag: sizes must be checked against their context by the caller, and the
// CRC by Verify or a running checksum.
func DecodeHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("header of %d bytes, want %d: %w", len(b), HeaderSize, ErrCorrupt)
	}
	h := Header{
		CRC:       binary.LittleEndian.Uint32(b[offCRC:]),
		Timestamp: binary.LittleEndian.Uint64(b[offTimestamp:]),
		KeySize:   binary.LittleEndian.Uint32(b[offKeySize:]),
		ValueSize: binary.LittleEndian.Uint32(b[offValueSize:]),
		Flag:      b[offFlag],
	}
	if err := h.check(); err != nil {
		return Header{}, err
	}
	return h, nil
}

// check rejects headers that no writer produces: unknown flags, empty keys,
// tombstones that carry a value, and commit records of the wrong shape.
func (h Header) check() error {
	switch {
	case h.Flag > FlagBatchValueTTL:
		return fmt.Errorf("unknown record flag %d: %w", h.Flag, ErrCorrupt)
	case h.KeySize == 0:
		return fmt.Errorf("record with an empty key: %w", ErrCorrupt)
	case IsTombstone(h.Flag) && h.ValueSize != 0:
		return fmt.Errorf("tombstone with a %d-byte value: %w", h.ValueSize, ErrCorrupt)
	case h.Flag == FlagBatchCommit && (h.KeySize != BatchCommitKeySize || h.ValueSize != BatchCommitValueSize):
		return fmt.Errorf("batch commit record of %d+%d bytes: %w", h.KeySize, h.ValueSize, ErrCorrupt)
	case HasDeadline(h.Flag) && h.ValueSize < DeadlineSize:
		return fmt.Errorf("value with a deadline of %d bytes, less than the deadline: %w", h.ValueSize, ErrCorrupt)
	}
	return nil
}

// Record is a decoded record. Key and Value alias the decoded buffer.
type Record struct {
	Header
	Key   []byte
	Value []byte
}

// Decode decodes and verifies the record at the start of b, which must
// hold at least the whole record. It never panics and never returns a
// record whose CRC does not match.
func Decode(b []byte) (Record, error) {
	h, err := DecodeHeader(b)
	if err != nil {
		return Record{}, err
	}
	n := h.RecordSize()
	if int64(len(b)) < n {
		return Record{}, fmt.Errorf("record of %d bytes in %d: %w", n, len(b), ErrCorrupt)
	}
	if sum := crc32.ChecksumIEEE(b[offTimestamp:n]); sum != h.CRC {
		return Record{}, fmt.Errorf("checksum %08x, want %08x: %w", sum, h.CRC, ErrCorrupt)
	}
	k := HeaderSize + int64(h.KeySize)
	return Record{Header: h, Key: b[HeaderSize:k:k], Value: b[k:n:n]}, nil
}

// KeyIs reports whether the record that starts rec holds key, by its key
// size and bytes alone: the checksum is not verified (Decode does that).
func KeyIs(rec, key []byte) bool {
	if len(rec) < HeaderSize {
		return false
	}
	n := binary.LittleEndian.Uint32(rec[offKeySize:])
	return int64(n) == int64(len(key)) && len(rec)-HeaderSize >= len(key) && string(rec[HeaderSize:HeaderSize+len(key)]) == string(key)
}

// ClaimedSize returns the size of the record whose header starts b, as
// its key and value sizes claim, without checking the header: a caller
// uses it to know how many bytes to read, and then verifies them with
// PlainValue or Decode. It is 0 if b is shorter than a header.
func ClaimedSize(b []byte) int64 {
	if len(b) < HeaderSize {
		return 0
	}
	return HeaderSize + int64(binary.LittleEndian.Uint32(b[offKeySize:])) + int64(binary.LittleEndian.Uint32(b[offValueSize:]))
}

// PlainValue returns the value of rec if rec is exactly one whole record
// setting key to a value without a deadline (FlagValue or FlagBatchValue)
// whose checksum matches. Otherwise it returns false, and the caller
// decodes rec with Decode to learn why (or to read its deadline).
//
// It is the read path's shortcut: one pass over the record, with no
// Header or Record built on the way.
func PlainValue(rec, key []byte) ([]byte, bool) {
	if len(rec) < HeaderSize || len(key) == 0 {
		return nil, false
	}
	flag := rec[offFlag]
	ks := int64(binary.LittleEndian.Uint32(rec[offKeySize:]))
	n := ClaimedSize(rec)
	switch {
	case flag != FlagValue && flag != FlagBatchValue,
		ks != int64(len(key)),
		int64(len(rec)) != n,
		string(rec[HeaderSize:HeaderSize+ks]) != string(key),
		Checksum(rec[offTimestamp:]) != binary.LittleEndian.Uint32(rec[offCRC:]):
		return nil, false
	}
	return rec[HeaderSize+ks : n : n], true
}

// Checksum returns the CRC that a record's header must hold, given the
// record's bytes from the timestamp to the end of the value.
func Checksum(b []byte) uint32 { return crc32.ChecksumIEEE(b) }

// UpdateChecksum extends a running record checksum with more bytes.
func UpdateChecksum(crc uint32, b []byte) uint32 { return crc32.Update(crc, crc32.IEEETable, b) }
