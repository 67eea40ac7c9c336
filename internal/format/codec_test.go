package format_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/aether-kv/aether-kv/internal/format"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// handEncode is an encoder written from the format's documentation alone,
// field by field, sharing no code with package format: it stands for "any
// other correct implementation".
func handEncode(timestamp uint64, flag byte, key, value []byte) []byte {
	b := make([]byte, 21+len(key)+len(value))
	binary.LittleEndian.PutUint64(b[4:12], timestamp)
	binary.LittleEndian.PutUint32(b[12:16], uint32(len(key)))
	binary.LittleEndian.PutUint32(b[16:20], uint32(len(value)))
	b[20] = flag
	copy(b[21:], key)
	copy(b[21+len(key):], value)
	binary.LittleEndian.PutUint32(b[0:4], crc32.ChecksumIEEE(b[4:]))
	return b
}

// allBytes returns the 256 byte values in order.
func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// record is a record to encode.
type record struct {
	name      string
	timestamp uint64
	flag      byte
	key       []byte
	value     []byte
}

// validRecords are records that every writer may produce.
var validRecords = []record{
	{"value", 1_700_000_000_123_456_789, format.FlagValue, []byte("user:42"), []byte("hello, world")},
	{"tombstone", 1_700_000_000_987_654_321, format.FlagTombstone, []byte("user:42"), nil},
	{"empty value", 1, format.FlagValue, []byte("k"), []byte{}},
	{"binary", 0xFFFF_FFFF_FFFF_FFFF, format.FlagValue, []byte{0, 0xFF, '\r', '\n', 0}, allBytes()},
	{"one byte key", 0, format.FlagValue, []byte{0}, []byte{0}},
	{"large value", 42, format.FlagValue, []byte("big"), bytes.Repeat([]byte("0123456789abcdef"), 64<<10)},
	{"large key", 43, format.FlagTombstone, bytes.Repeat([]byte{0xA5}, 64<<10), nil},
}

func TestRoundTrip(t *testing.T) {
	for _, tt := range validRecords {
		t.Run(tt.name, func(t *testing.T) {
			b := format.Append(nil, tt.timestamp, tt.flag, tt.key, tt.value)
			if len(b) != format.Size(tt.key, tt.value) {
				t.Fatalf("len(Append) = %d, want Size = %d", len(b), format.Size(tt.key, tt.value))
			}
			rec, err := format.Decode(b)
			if err != nil {
				t.Fatalf("Decode(%x) = %v, want nil", head(b), err)
			}
			want := format.Header{
				CRC:       crc32.ChecksumIEEE(b[4:]),
				Timestamp: tt.timestamp,
				KeySize:   uint32(len(tt.key)),
				ValueSize: uint32(len(tt.value)),
				Flag:      tt.flag,
			}
			if rec.Header != want {
				t.Errorf("Decode(%x).Header = %+v, want %+v", head(b), rec.Header, want)
			}
			if !bytes.Equal(rec.Key, tt.key) || !bytes.Equal(rec.Value, tt.value) {
				t.Errorf("Decode(%x) = key %x value %x, want key %x value %x",
					head(b), head(rec.Key), head(rec.Value), head(tt.key), head(tt.value))
			}
			if got := rec.RecordSize(); got != int64(len(b)) {
				t.Errorf("RecordSize() = %d, want %d", got, len(b))
			}
		})
	}
}

// head shortens b for failure messages.
func head(b []byte) []byte {
	return b[:min(len(b), 48)]
}

func TestAppendMatchesHandEncoder(t *testing.T) {
	for _, tt := range validRecords {
		t.Run(tt.name, func(t *testing.T) {
			got := format.Append(nil, tt.timestamp, tt.flag, tt.key, tt.value)
			want := handEncode(tt.timestamp, tt.flag, tt.key, tt.value)
			if !bytes.Equal(got, want) {
				t.Errorf("Append(%d, %d, %x, %x) = %x, want %x",
					tt.timestamp, tt.flag, head(tt.key), head(tt.value), head(got), head(want))
			}
		})
	}
}

// TestAppendToNonEmpty checks that Append keeps what dst holds and
// checksums only its own record.
func TestAppendToNonEmpty(t *testing.T) {
	prefix := []byte("previous bytes")
	dst := append([]byte(nil), prefix...)
	dst = format.Append(dst, 7, format.FlagValue, []byte("k1"), []byte("v1"))
	dst = format.Append(dst, 8, format.FlagTombstone, []byte("k2"), nil)
	want := append(append(append([]byte(nil), prefix...),
		handEncode(7, format.FlagValue, []byte("k1"), []byte("v1"))...),
		handEncode(8, format.FlagTombstone, []byte("k2"), nil)...)
	if !bytes.Equal(dst, want) {
		t.Fatalf("Append twice onto %q = %x, want %x", prefix, dst, want)
	}
}

// TestLayout pins each header field at its exact offset.
func TestLayout(t *testing.T) {
	key, value := []byte("KEY"), []byte("VALUE!")
	const ts = 0x1122334455667788
	b := format.Append(nil, ts, format.FlagValue, key, value)
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"len", len(b), 21 + 3 + 6},
		{"crc [0:4]", binary.LittleEndian.Uint32(b[0:4]), crc32.ChecksumIEEE(b[4:])},
		{"timestamp [4:12]", hex.EncodeToString(b[4:12]), "8877665544332211"},
		{"key size [12:16]", hex.EncodeToString(b[12:16]), "03000000"},
		{"value size [16:20]", hex.EncodeToString(b[16:20]), "06000000"},
		{"flag [20]", b[20], format.FlagValue},
		{"key [21:24]", string(b[21:24]), "KEY"},
		{"value [24:]", string(b[24:]), "VALUE!"},
		{"HeaderSize", format.HeaderSize, 21},
		{"FlagValue", format.FlagValue, byte(0)},
		{"FlagTombstone", format.FlagTombstone, byte(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("Append(%#x, 0, %q, %q): %s = %v, want %v", ts, key, value, tt.name, tt.got, tt.want)
			}
		})
	}
}

// TestLiteralRecords compares against bytes whose checksum was computed by
// another CRC-32 implementation (Python's zlib.crc32).
func TestLiteralRecords(t *testing.T) {
	tests := []struct {
		name      string
		timestamp uint64
		flag      byte
		key       string
		value     string
		want      string
	}{
		{"value", 1, format.FlagValue, "a", "b", "d1c749b5" + "0100000000000000" + "01000000" + "01000000" + "00" + "61" + "62"},
		{"tombstone", 0x0102030405060708, format.FlagTombstone, "key", "", "856aa561" + "0807060504030201" + "03000000" + "00000000" + "01" + "6b6579"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hex.EncodeToString(format.Append(nil, tt.timestamp, tt.flag, []byte(tt.key), []byte(tt.value)))
			if got != tt.want {
				t.Errorf("Append(%d, %d, %q, %q) = %s, want %s", tt.timestamp, tt.flag, tt.key, tt.value, got, tt.want)
			}
		})
	}
}

// TestDecodeAliases checks that Key and Value alias the buffer and that
// appending to Key cannot overwrite Value.
func TestDecodeAliases(t *testing.T) {
	b := format.Append(nil, 1, format.FlagValue, []byte("key"), []byte("value"))
	rec, err := format.Decode(b)
	if err != nil {
		t.Fatalf("Decode(%x) = %v", b, err)
	}
	if &rec.Key[0] != &b[21] || &rec.Value[0] != &b[24] {
		t.Errorf("Decode(%x): Key and Value do not alias the buffer at [21] and [24]", b)
	}
	_ = append(rec.Key, 'X')
	if string(rec.Value) != "value" {
		t.Errorf("after append(Key, 'X'), Value = %q, want %q", rec.Value, "value")
	}
	_ = append(rec.Value, 'X')
	if cap(rec.Value) != len(rec.Value) {
		t.Errorf("cap(Value) = %d, want %d", cap(rec.Value), len(rec.Value))
	}
}

// TestDecodeTrailingBytes checks that Decode reads one record from a longer
// buffer, as when records follow each other.
func TestDecodeTrailingBytes(t *testing.T) {
	one := format.Append(nil, 5, format.FlagValue, []byte("k"), []byte("v"))
	b := format.Append(append([]byte(nil), one...), 6, format.FlagValue, []byte("k2"), []byte("v2"))
	rec, err := format.Decode(b)
	if err != nil || string(rec.Key) != "k" || string(rec.Value) != "v" || rec.RecordSize() != int64(len(one)) {
		t.Fatalf("Decode(%x) = %q, %q, size %d, %v, want %q, %q, size %d, nil",
			b, rec.Key, rec.Value, rec.RecordSize(), err, "k", "v", len(one))
	}
}

func TestChecksum(t *testing.T) {
	a, b := []byte("timestamp and sizes"), []byte("key and value")
	whole := append(append([]byte(nil), a...), b...)
	if got, want := format.Checksum(whole), crc32.ChecksumIEEE(whole); got != want {
		t.Errorf("Checksum(%q) = %08x, want %08x", whole, got, want)
	}
	if got, want := format.UpdateChecksum(format.Checksum(a), b), crc32.ChecksumIEEE(whole); got != want {
		t.Errorf("UpdateChecksum(Checksum(%q), %q) = %08x, want %08x", a, b, got, want)
	}
	if got, want := format.UpdateChecksum(0, whole), crc32.ChecksumIEEE(whole); got != want {
		t.Errorf("UpdateChecksum(0, %q) = %08x, want %08x", whole, got, want)
	}
}

func TestDecodeRejects(t *testing.T) {
	valid := handEncode(9, format.FlagValue, []byte("key"), []byte("value"))
	tests := []struct {
		name string
		b    []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"one byte", []byte{0}},
		{"header minus one", valid[:20]},
		{"header only", valid[:21]},
		{"missing last byte", valid[:len(valid)-1]},
		{"missing value", valid[:24]},
		{"empty key", handEncode(9, format.FlagValue, nil, []byte("value"))},
		{"empty key and value", handEncode(9, format.FlagValue, nil, nil)},
		{"empty key tombstone", handEncode(9, format.FlagTombstone, nil, nil)},
		{"tombstone with value", handEncode(9, format.FlagTombstone, []byte("key"), []byte("v"))},
		{"zeros", make([]byte, 64)},
		{"key size 0xFFFFFFFF", withUint32(valid, 12, 0xFFFFFFFF)},
		{"value size 0xFFFFFFFF", withUint32(valid, 16, 0xFFFFFFFF)},
		{"both sizes 0xFFFFFFFF", withUint32(withUint32(valid, 12, 0xFFFFFFFF), 16, 0xFFFFFFFF)},
		{"value size one more", withUint32(valid, 16, 6)},
		{"value size one less", withUint32(valid, 16, 4)},
		{"wrong crc", withUint32(valid, 0, crc32.ChecksumIEEE(valid[4:])+1)},
		{"crc of the whole record", withUint32(valid, 0, crc32.ChecksumIEEE(valid))},
		{"crc big-endian", bigEndianCRC(valid)},
		{"ff", bytes.Repeat([]byte{0xFF}, 64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if rec, err := format.Decode(tt.b); !errors.Is(err, format.ErrCorrupt) {
				t.Errorf("Decode(%x) = %+v, %v, want ErrCorrupt", tt.b, rec, err)
			}
		})
	}
}

// withUint32 returns a copy of b with v written little-endian at off.
func withUint32(b []byte, off int, v uint32) []byte {
	c := bytes.Clone(b)
	binary.LittleEndian.PutUint32(c[off:], v)
	return c
}

func bigEndianCRC(b []byte) []byte {
	c := bytes.Clone(b)
	binary.BigEndian.PutUint32(c, crc32.ChecksumIEEE(b[4:]))
	return c
}

// TestDecodeRejectsUnknownFlags uses records with a correct checksum, so
// that only the flag check can reject them.
func TestBatchRecords(t *testing.T) {
	commit := format.AppendBatchCommit(nil, 9, 77, 3)
	rec, err := format.Decode(commit)
	if err != nil || rec.Flag != format.FlagBatchCommit || format.BatchCount(rec.Value) != 3 ||
		binary.LittleEndian.Uint64(rec.Key) != 77 {
		t.Fatalf("Decode(AppendBatchCommit(seq 77, 3 records)) = %+v, %v", rec, err)
	}
	tests := []struct {
		name       string
		flag       byte
		key, value []byte
	}{
		{"batch tombstone with a value", format.FlagBatchTombstone, []byte("k"), []byte("v")},
		{"commit with a short key", format.FlagBatchCommit, []byte("k"), []byte("\x03\x00\x00\x00")},
		{"commit with a long value", format.FlagBatchCommit, make([]byte, 8), make([]byte, 5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := handEncode(1, tt.flag, tt.key, tt.value)
			if rec, err := format.Decode(b); !errors.Is(err, format.ErrCorrupt) {
				t.Errorf("Decode(%x) = %+v, %v, want ErrCorrupt", b, rec, err)
			}
		})
	}
	for _, flag := range []byte{format.FlagBatchValue, format.FlagBatchTombstone} {
		b := handEncode(1, flag, []byte("k"), nil)
		if rec, err := format.Decode(b); err != nil || rec.Flag != flag {
			t.Errorf("Decode(batch record with flag %d) = %+v, %v", flag, rec, err)
		}
	}
}

func TestDecodeRejectsUnknownFlags(t *testing.T) {
	for f := 7; f <= 255; f++ {
		t.Run(fmt.Sprintf("flag=%d", f), func(t *testing.T) {
			for _, value := range [][]byte{nil, []byte("v")} {
				b := handEncode(1, byte(f), []byte("key"), value)
				if rec, err := format.Decode(b); !errors.Is(err, format.ErrCorrupt) {
					t.Errorf("Decode(%x) = %+v, %v, want ErrCorrupt", b, rec, err)
				}
				if h, err := format.DecodeHeader(b); !errors.Is(err, format.ErrCorrupt) {
					t.Errorf("DecodeHeader(%x) = %+v, %v, want ErrCorrupt", b[:21], h, err)
				}
			}
		})
	}
}

func TestDecodeHeader(t *testing.T) {
	valid := handEncode(0xABCDEF, format.FlagTombstone, []byte("key"), nil)
	tests := []struct {
		name    string
		b       []byte
		want    format.Header
		wantErr bool
	}{
		{"valid", valid, format.Header{CRC: binary.LittleEndian.Uint32(valid), Timestamp: 0xABCDEF, KeySize: 3, Flag: 1}, false},
		{"header only", valid[:21], format.Header{CRC: binary.LittleEndian.Uint32(valid), Timestamp: 0xABCDEF, KeySize: 3, Flag: 1}, false},
		{"bad crc passes", withUint32(valid, 0, 7), format.Header{CRC: 7, Timestamp: 0xABCDEF, KeySize: 3, Flag: 1}, false},
		{"huge sizes pass", withUint32(withUint32(valid[:21], 12, 0xFFFFFFFF), 16, 0), format.Header{CRC: binary.LittleEndian.Uint32(valid), Timestamp: 0xABCDEF, KeySize: 0xFFFFFFFF, Flag: 1}, false},
		{"short", valid[:20], format.Header{}, true},
		{"nil", nil, format.Header{}, true},
		{"empty key", handEncode(1, format.FlagValue, nil, nil), format.Header{}, true},
		{"tombstone with value", handEncode(1, format.FlagTombstone, []byte("k"), []byte("v")), format.Header{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := format.DecodeHeader(tt.b)
			if h != tt.want || (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, format.ErrCorrupt)) {
				t.Errorf("DecodeHeader(%x) = %+v, %v, want %+v, error %t (ErrCorrupt)", tt.b, h, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestDecodeRejectsEveryBitFlip flips each bit of each small valid record
// in turn.
func TestDecodeRejectsEveryBitFlip(t *testing.T) {
	for _, tt := range validRecords {
		if len(tt.key)+len(tt.value) > 1024 {
			continue // 8 flips a byte; the small records cover every field
		}
		t.Run(tt.name, func(t *testing.T) {
			b := format.Append(nil, tt.timestamp, tt.flag, tt.key, tt.value)
			for bit := range 8 * len(b) {
				c := bytes.Clone(b)
				c[bit/8] ^= 1 << (bit % 8)
				if rec, err := format.Decode(c); !errors.Is(err, format.ErrCorrupt) {
					t.Errorf("Decode(%x) with bit %d flipped = %+v, %v, want ErrCorrupt", c, bit, rec.Header, err)
				}
			}
		})
	}
}

// goldens are the records pinned byte for byte in testdata. A changed
// golden file is a change of the on-disk format.
var goldens = []struct {
	file string
	rec  record
}{
	{"value.golden", record{timestamp: 1_700_000_000_000_000_000, flag: format.FlagValue, key: []byte("user:1"), value: []byte("Ada Lovelace")}},
	{"tombstone.golden", record{timestamp: 1_700_000_000_000_000_001, flag: format.FlagTombstone, key: []byte("user:1")}},
	{"empty_value.golden", record{timestamp: 1_700_000_000_000_000_002, flag: format.FlagValue, key: []byte("empty"), value: []byte{}}},
	{"binary.golden", record{timestamp: 1_700_000_000_000_000_003, flag: format.FlagValue, key: []byte{0, '\r', '\n', 0xFF}, value: allBytes()}},
}

func goldenPath(name string) string { return filepath.Join("testdata", name) }

func readGolden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(goldenPath(name))
	if err != nil {
		t.Fatalf("%v (run go test ./internal/format -update to create it)", err)
	}
	return b
}

func writeGolden(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goldenPath(name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestGolden(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.file, func(t *testing.T) {
			r := g.rec
			got := format.Append(nil, r.timestamp, r.flag, r.key, r.value)
			if *update {
				writeGolden(t, g.file, got)
			}
			want := readGolden(t, g.file)
			if !bytes.Equal(got, want) {
				t.Errorf("Append(%d, %d, %q, %x) = %x, want %x (testdata/%s); a format change must bump the version",
					r.timestamp, r.flag, r.key, head(r.value), head(got), head(want), g.file)
			}
			rec, err := format.Decode(want)
			if err != nil || rec.Timestamp != r.timestamp || rec.Flag != r.flag ||
				!bytes.Equal(rec.Key, r.key) || !bytes.Equal(rec.Value, r.value) {
				t.Errorf("Decode(testdata/%s) = %+v, %v, want the record it was made from", g.file, rec, err)
			}
		})
	}
}

// TestGoldenHandEncoded pins a record written by handEncode, not by package
// format: -update rewrites it from handEncode, so the codec must read and
// produce the bytes of an independent implementation.
func TestGoldenHandEncoded(t *testing.T) {
	const file = "hand_encoded.golden"
	key, value := []byte("aether"), []byte("written field by field")
	const ts = 1_234_567_890_123_456_789
	hand := handEncode(ts, format.FlagValue, key, value)
	if *update {
		writeGolden(t, file, hand)
	}
	want := readGolden(t, file)
	if !bytes.Equal(hand, want) {
		t.Fatalf("handEncode = %x, want %x (testdata/%s)", hand, want, file)
	}
	if got := format.Append(nil, ts, format.FlagValue, key, value); !bytes.Equal(got, want) {
		t.Errorf("Append(%d, 0, %q, %q) = %x, want %x (testdata/%s)", uint64(ts), key, value, got, want, file)
	}
	rec, err := format.Decode(want)
	if err != nil || rec.Timestamp != ts || rec.Flag != format.FlagValue || string(rec.Key) != string(key) || string(rec.Value) != string(value) {
		t.Errorf("Decode(%x) = %+v, %q, %q, %v, want ts %d, key %q, value %q", want, rec.Header, rec.Key, rec.Value, err, uint64(ts), key, value)
	}
}

func TestAppendWithDeadline(t *testing.T) {
	b := format.AppendWithDeadline(nil, 5, format.FlagValueTTL, []byte("key"), 1234567890, []byte("value"))
	if want := handEncode(5, format.FlagValueTTL, []byte("key"), append(binary.LittleEndian.AppendUint64(nil, 1234567890), "value"...)); !bytes.Equal(b, want) {
		t.Fatalf("AppendWithDeadline = %x, want %x", b, want)
	}
	rec, err := format.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	deadline, value := format.SplitDeadline(rec.Value)
	if deadline != 1234567890 || string(value) != "value" {
		t.Fatalf("SplitDeadline = %d, %q", deadline, value)
	}
	if _, err := format.Decode(handEncode(5, format.FlagValueTTL, []byte("k"), []byte("short"))); !errors.Is(err, format.ErrCorrupt) {
		t.Fatalf("Decode(deadline value of 5 bytes) = %v, want ErrCorrupt", err)
	}
}

func TestKeyIs(t *testing.T) {
	rec := format.Append(nil, 1, format.FlagValue, []byte("key"), []byte("value"))
	for _, tt := range []struct {
		rec  []byte
		key  string
		want bool
	}{
		{rec, "key", true},
		{rec, "kex", false},
		{rec, "ke", false},
		{rec, "keyv", false},
		{rec[:format.HeaderSize+2], "key", false},
		{rec[:format.HeaderSize-1], "key", false},
	} {
		if got := format.KeyIs(tt.rec, []byte(tt.key)); got != tt.want {
			t.Errorf("KeyIs(%d bytes of a record of key, %q) = %v, want %v", len(tt.rec), tt.key, got, tt.want)
		}
	}
}

func TestPlainValue(t *testing.T) {
	key, value := []byte("user:42"), []byte("hello, world")
	plain := format.Append(nil, 7, format.FlagValue, key, value)
	flipped := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		return c
	}
	for _, tt := range []struct {
		name string
		rec  []byte
		key  []byte
		want []byte // nil: not found
	}{
		{"plain value", plain, key, value},
		{"batch value", format.Append(nil, 7, format.FlagBatchValue, key, value), key, value},
		{"empty value", format.Append(nil, 7, format.FlagValue, key, nil), key, []byte{}},
		{"tombstone", format.Append(nil, 7, format.FlagTombstone, key, nil), key, nil},
		{"value with a deadline", format.AppendWithDeadline(nil, 7, format.FlagValueTTL, key, 99, value), key, nil},
		{"another key of the same size", plain, []byte("user:43"), nil},
		{"a longer key", plain, []byte("user:420"), nil},
		{"empty key", format.Append(nil, 7, format.FlagValue, nil, value), []byte{}, nil},
		{"trailing bytes", append(bytes.Clone(plain), 0), key, nil},
		{"cut short", plain[:len(plain)-1], key, nil},
		{"header only", plain[:format.HeaderSize], key, nil},
		{"damaged value", flipped(plain, len(plain)-1), key, nil},
		{"damaged timestamp", flipped(plain, 5), key, nil},
		{"damaged checksum", flipped(plain, 0), key, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := format.PlainValue(tt.rec, tt.key)
			if ok != (tt.want != nil) || !bytes.Equal(got, tt.want) {
				t.Fatalf("PlainValue = %q, %v; want %q, %v", got, ok, tt.want, tt.want != nil)
			}
			if n := format.ClaimedSize(tt.rec); len(tt.rec) >= format.HeaderSize && n != format.HeaderSize+int64(binary.LittleEndian.Uint32(tt.rec[12:]))+int64(binary.LittleEndian.Uint32(tt.rec[16:])) {
				t.Fatalf("ClaimedSize = %d, not what the header says", n)
			}
		})
	}
}
