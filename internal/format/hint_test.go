package format_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"math/big"
	"reflect"
	"testing"

	"github.com/aether-kv/aether-kv/internal/format"
)

// handHint encodes a hint entry field by field from the documented layout.
func handHint(e format.HintEntry) []byte {
	b := make([]byte, 29+len(e.Key))
	binary.LittleEndian.PutUint64(b[4:12], e.Timestamp)
	binary.LittleEndian.PutUint32(b[12:16], uint32(len(e.Key)))
	binary.LittleEndian.PutUint32(b[16:20], e.ValueSize)
	binary.LittleEndian.PutUint64(b[20:28], uint64(e.Offset))
	b[28] = e.Flag
	copy(b[29:], e.Key)
	binary.LittleEndian.PutUint32(b[0:4], crc32.ChecksumIEEE(b[4:]))
	return b
}

// handTrailer encodes a hint trailer field by field.
func handTrailer(n uint64, dataSize int64, entriesCRC uint32) []byte {
	b := make([]byte, 32)
	copy(b[0:8], "AKVHINT1")
	binary.LittleEndian.PutUint64(b[8:16], n)
	binary.LittleEndian.PutUint64(b[16:24], uint64(dataSize))
	binary.LittleEndian.PutUint32(b[24:28], entriesCRC)
	binary.LittleEndian.PutUint32(b[28:32], crc32.ChecksumIEEE(b[:28]))
	return b
}

// hintFile encodes a whole hint file, by hand, of entries for a data file
// of dataSize bytes, with the trailer claiming n entries.
func hintFile(entries []format.HintEntry, n uint64, dataSize int64) []byte {
	var body []byte
	for _, e := range entries {
		body = append(body, handHint(e)...)
	}
	return append(body, handTrailer(n, dataSize, crc32.ChecksumIEEE(body))...)
}

// hintEntries describe records laid out one after another from offset 0.
var hintEntries = []format.HintEntry{
	{Timestamp: 1_700_000_000_000_000_000, ValueSize: 12, Offset: 0, Flag: format.FlagValue, Key: []byte("user:1")},
	{Timestamp: 1_700_000_000_000_000_001, ValueSize: 0, Offset: 39, Flag: format.FlagTombstone, Key: []byte("user:1")},
	{Timestamp: 1_700_000_000_000_000_002, ValueSize: 256, Offset: 66, Flag: format.FlagValue, Key: []byte{0, '\r', '\n', 0xFF}},
}

// hintDataSize is the size of the data file that hintEntries describe.
const hintDataSize = 66 + 21 + 4 + 256

// decodeAll returns the entries DecodeHints reports and its error.
func decodeAll(b []byte, dataSize int64, maxKey int) ([]format.HintEntry, error) {
	var got []format.HintEntry
	err := format.DecodeHints(b, dataSize, maxKey, func(e format.HintEntry) { got = append(got, e) })
	return got, err
}

func TestHintRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		entries []format.HintEntry
	}{
		{"none", nil},
		{"one", hintEntries[:1]},
		{"several", hintEntries},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			for _, e := range tt.entries {
				body = format.AppendHint(body, e)
			}
			b := format.AppendHintTrailer(body, uint64(len(tt.entries)), hintDataSize, crc32.ChecksumIEEE(body))
			if want := hintFile(tt.entries, uint64(len(tt.entries)), hintDataSize); !bytes.Equal(b, want) {
				t.Fatalf("AppendHint... = %x, want %x", b, want)
			}
			got, err := decodeAll(b, hintDataSize, 64)
			if err != nil || len(got) != len(tt.entries) || (len(got) > 0 && !reflect.DeepEqual(got, tt.entries)) {
				t.Fatalf("DecodeHints(%x) = %+v, %v, want %+v", b, got, err, tt.entries)
			}
		})
	}
}

func TestHintRecordSize(t *testing.T) {
	e := format.HintEntry{ValueSize: 10, Key: []byte("abc")}
	if got := e.RecordSize(); got != 21+3+10 {
		t.Errorf("RecordSize() = %d, want %d", got, 21+3+10)
	}
	if got := format.HintEntrySize; got != 29 {
		t.Errorf("HintEntrySize = %d, want 29", got)
	}
	if got := format.HintTrailerSize; got != 32 {
		t.Errorf("HintTrailerSize = %d, want 32", got)
	}
}

func TestHintGolden(t *testing.T) {
	const file = "hints.golden"
	var body []byte
	for _, e := range hintEntries {
		body = format.AppendHint(body, e)
	}
	got := format.AppendHintTrailer(body, uint64(len(hintEntries)), hintDataSize, crc32.ChecksumIEEE(body))
	if *update {
		// Written by the hand encoder, so that the codec is pinned to an
		// independent reading of the layout.
		writeGolden(t, file, hintFile(hintEntries, uint64(len(hintEntries)), hintDataSize))
	}
	want := readGolden(t, file)
	if !bytes.Equal(got, want) {
		t.Errorf("hint file = %x, want %x (testdata/%s); a format change must bump the version", got, want, file)
	}
	if entries, err := decodeAll(want, hintDataSize, 64); err != nil || !reflect.DeepEqual(entries, hintEntries) {
		t.Errorf("DecodeHints(testdata/%s) = %+v, %v, want %+v", file, entries, err, hintEntries)
	}
}

func TestDecodeHintsRejects(t *testing.T) {
	good := hintFile(hintEntries, 3, hintDataSize)
	withEntry := func(e format.HintEntry) []byte {
		return hintFile(append(append([]format.HintEntry(nil), hintEntries...), e), 4, hintDataSize)
	}
	badMagic := bytes.Clone(good)
	copy(badMagic[len(badMagic)-32:], "AKVHINT2")
	binary.LittleEndian.PutUint32(badMagic[len(badMagic)-4:], crc32.ChecksumIEEE(badMagic[len(badMagic)-32:len(badMagic)-4]))
	body := good[:len(good)-32]
	tests := []struct {
		name     string
		b        []byte
		dataSize int64
	}{
		{"nil", nil, hintDataSize},
		{"short", good[len(good)-31:], hintDataSize},
		{"trailer claims an entry", handTrailer(1, hintDataSize, crc32.ChecksumIEEE(nil)), hintDataSize},
		{"bad magic", badMagic, hintDataSize},
		{"trailer crc", withUint32(good, len(good)-4, 0), hintDataSize},
		{"other data size", good, hintDataSize + 1},
		{"smaller data size", good, hintDataSize - 1},
		{"entries crc", withUint32(good, 0, 0), hintDataSize},
		{"more entries claimed", hintFile(hintEntries, 4, hintDataSize), hintDataSize},
		{"fewer entries claimed", hintFile(hintEntries, 2, hintDataSize), hintDataSize},
		{"truncated entry", append(bytes.Clone(body[:20]), handTrailer(1, hintDataSize, crc32.ChecksumIEEE(body[:20]))...), hintDataSize},
		{"truncated key", append(bytes.Clone(body[:30]), handTrailer(1, hintDataSize, crc32.ChecksumIEEE(body[:30]))...), hintDataSize},
		{"empty key", withEntry(format.HintEntry{Offset: 0, Key: nil}), hintDataSize},
		{"key over maxKey", withEntry(format.HintEntry{Offset: 0, Key: bytes.Repeat([]byte("k"), 65)}), hintDataSize},
		{"unknown flag", withEntry(format.HintEntry{Flag: 2, Key: []byte("k")}), hintDataSize},
		{"negative offset", withEntry(format.HintEntry{Offset: -1, Key: []byte("k")}), hintDataSize},
		{"record past the end", withEntry(format.HintEntry{Offset: hintDataSize - 21, Key: []byte("k")}), hintDataSize},
		{"value past the end", withEntry(format.HintEntry{Offset: 0, ValueSize: math.MaxUint32, Key: []byte("k")}), hintDataSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := decodeAll(tt.b, tt.dataSize, 64); !errors.Is(err, format.ErrCorrupt) || len(got) != 0 {
				t.Errorf("DecodeHints(%x, %d) = %d entries reported, %v, want none and ErrCorrupt", tt.b, tt.dataSize, len(got), err)
			}
		})
	}
}

// TestDecodeHintsOffsetOverflow: an entry whose offset plus record size
// overflows int64 passes the "past the data file's end" check.
func TestDecodeHintsOffsetOverflow(t *testing.T) {
	e := format.HintEntry{Offset: math.MaxInt64 - 5, Key: []byte("k"), ValueSize: 100}
	b := hintFile([]format.HintEntry{e}, 1, hintDataSize)
	if got, err := decodeAll(b, hintDataSize, 64); !errors.Is(err, format.ErrCorrupt) {
		t.Errorf("DecodeHints(entry at offset %d) = %+v, %v, want ErrCorrupt", e.Offset, got, err)
	}
}

// TestDecodeHintsEveryBitFlip: a hint file is used whole or not at all.
func TestDecodeHintsEveryBitFlip(t *testing.T) {
	good := hintFile(hintEntries, 3, hintDataSize)
	for bit := range 8 * len(good) {
		c := bytes.Clone(good)
		c[bit/8] ^= 1 << (bit % 8)
		if got, err := decodeAll(c, hintDataSize, 64); !errors.Is(err, format.ErrCorrupt) || len(got) != 0 {
			t.Errorf("DecodeHints with bit %d flipped = %d entries, %v, want none and ErrCorrupt", bit, len(got), err)
		}
	}
}

func FuzzDecodeHints(f *testing.F) {
	f.Add(hintFile(hintEntries, 3, hintDataSize), int64(hintDataSize), 64)
	f.Add(hintFile(nil, 0, 0), int64(0), 64)
	f.Add(hintFile(hintEntries[:1], 1, 39), int64(39), 6)
	f.Add([]byte("AKVHINT1"), int64(0), 0)
	f.Fuzz(func(t *testing.T, b []byte, dataSize int64, maxKey int) {
		var got []format.HintEntry
		err := format.DecodeHints(b, dataSize, maxKey, func(e format.HintEntry) { got = append(got, e) })
		if err != nil {
			if !errors.Is(err, format.ErrCorrupt) || len(got) != 0 {
				t.Fatalf("DecodeHints = %d entries reported, %v, want none and ErrCorrupt", len(got), err)
			}
			return
		}
		for _, e := range got {
			end := new(big.Int).Add(big.NewInt(e.Offset), big.NewInt(e.RecordSize()))
			if len(e.Key) == 0 || len(e.Key) > maxKey || e.Flag > 1 || e.Offset < 0 || end.Cmp(big.NewInt(dataSize)) > 0 {
				t.Fatalf("DecodeHints accepted %+v for a data file of %d bytes, maxKey %d", e, dataSize, maxKey)
			}
		}
	})
}

func TestVerifyHintEntry(t *testing.T) {
	entry := format.AppendHint(nil, format.HintEntry{Timestamp: 7, ValueSize: 3, Offset: 42, Key: []byte("key")})
	if n, ok := format.VerifyHintEntry(entry); !ok || n != len(entry) {
		t.Fatalf("VerifyHintEntry(good) = %d, %t, want %d, true", n, ok, len(entry))
	}
	for i := range entry {
		bad := bytes.Clone(entry)
		bad[i] ^= 0x10
		if _, ok := format.VerifyHintEntry(bad); ok {
			t.Errorf("VerifyHintEntry accepted the entry with byte %d flipped", i)
		}
	}
	if _, ok := format.VerifyHintEntry(entry[:len(entry)-1]); ok {
		t.Error("VerifyHintEntry accepted a truncated entry")
	}
}
