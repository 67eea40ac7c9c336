package format_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/aether-kv/aether-kv/internal/format"
)

// independentVerdict decides, without package format, whether b starts with
// a valid record, and returns its size if so.
func independentVerdict(b []byte) (size int64, ok bool) {
	if len(b) < 21 {
		return 0, false
	}
	ks := int64(binary.LittleEndian.Uint32(b[12:16]))
	vs := int64(binary.LittleEndian.Uint32(b[16:20]))
	flag := b[20]
	size = 21 + ks + vs
	if !validShape(flag, ks, vs) || int64(len(b)) < size {
		return 0, false
	}
	return size, crc32.ChecksumIEEE(b[4:size]) == binary.LittleEndian.Uint32(b[0:4])
}

// validShape is the format's rule, written out independently: flags 0 to
// 6, a non-empty key, no value on a tombstone (1, 3), a commit record (4) of
// an 8-byte key and a 4-byte value, and room for the 8-byte deadline in a
// value that has one (5, 6).
func validShape(flag byte, ks, vs int64) bool {
	switch {
	case flag > 6, ks == 0, (flag == 1 || flag == 3) && vs != 0, flag == 4 && (ks != 8 || vs != 4),
		(flag == 5 || flag == 6) && vs < 8:
		return false
	}
	return true
}

func FuzzDecode(f *testing.F) {
	for _, r := range validRecords[:5] {
		b := format.Append(nil, r.timestamp, r.flag, r.key, r.value)
		f.Add(b)
		f.Add(append(bytes.Clone(b), "trailing"...))
		f.Add(b[:len(b)-1])
		c := bytes.Clone(b)
		c[len(c)/2] ^= 0x10
		f.Add(c)
	}
	f.Add([]byte{})
	f.Add(make([]byte, 21))
	f.Add(make([]byte, 100))
	f.Add(bytes.Repeat([]byte{0xFF}, 64))
	f.Add([]byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"))
	f.Add(withUint32(handEncode(1, 0, []byte("k"), []byte("v")), 16, 0xFFFFFFFF))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := format.Decode(b)
		size, ok := independentVerdict(b)
		checkPlainValue(t, b, size, ok)
		if !ok {
			if !errors.Is(err, format.ErrCorrupt) {
				t.Fatalf("Decode(%x) = %+v, %v, want ErrCorrupt", b, rec.Header, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Decode(%x) = %v, want the valid record of %d bytes", b, err, size)
		}
		ks := binary.LittleEndian.Uint32(b[12:16])
		want := format.Header{
			CRC:       binary.LittleEndian.Uint32(b[0:4]),
			Timestamp: binary.LittleEndian.Uint64(b[4:12]),
			KeySize:   ks,
			ValueSize: binary.LittleEndian.Uint32(b[16:20]),
			Flag:      b[20],
		}
		if rec.Header != want || rec.RecordSize() != size ||
			!bytes.Equal(rec.Key, b[21:21+ks]) || !bytes.Equal(rec.Value, b[21+ks:size]) {
			t.Fatalf("Decode(%x) = %+v key %x value %x, want %+v key %x value %x",
				b, rec.Header, rec.Key, rec.Value, want, b[21:21+ks], b[21+ks:size])
		}
	})
}

// checkPlainValue checks PlainValue and ClaimedSize on b against the
// independent verdict (size, ok) on the record b starts with.
func checkPlainValue(t *testing.T, b []byte, size int64, ok bool) {
	if len(b) < 21 {
		if n := format.ClaimedSize(b); n != 0 {
			t.Fatalf("ClaimedSize(%x) = %d, want 0", b, n)
		}
		if _, got := format.PlainValue(b, []byte("k")); got {
			t.Fatalf("PlainValue(%x) found a value in less than a header", b)
		}
		return
	}
	ks := int64(binary.LittleEndian.Uint32(b[12:16]))
	claimed := 21 + ks + int64(binary.LittleEndian.Uint32(b[16:20]))
	if n := format.ClaimedSize(b); n != claimed {
		t.Fatalf("ClaimedSize(%x) = %d, want %d", b, n, claimed)
	}
	if int64(len(b)) < 21+ks {
		return // no key in b to ask for
	}
	key := bytes.Clone(b[21 : 21+ks])
	plain := ok && size == int64(len(b)) && (b[20] == 0 || b[20] == 2)
	v, got := format.PlainValue(b, key)
	if got != plain {
		t.Fatalf("PlainValue(%x, %x) found = %v, want %v", b, key, got, plain)
	}
	if got && !bytes.Equal(v, b[21+ks:]) {
		t.Fatalf("PlainValue(%x, %x) = %x, want %x", b, key, v, b[21+ks:])
	}
	if len(key) > 0 {
		key[len(key)-1] ^= 1
		if _, got := format.PlainValue(b, key); got {
			t.Fatalf("PlainValue(%x, %x) found the value of another key", b, key)
		}
	}
}

func FuzzRoundTrip(f *testing.F) {
	for _, r := range validRecords[:5] {
		f.Add(r.timestamp, r.flag, r.key, r.value)
	}
	f.Add(uint64(0), byte(2), []byte("k"), []byte("v"))
	f.Add(uint64(0), byte(0), []byte{}, []byte("v"))
	f.Add(uint64(0), byte(1), []byte("k"), []byte("v"))
	f.Fuzz(func(t *testing.T, ts uint64, flag byte, key, value []byte) {
		b := format.Append(nil, ts, flag, key, value)
		if want := handEncode(ts, flag, key, value); !bytes.Equal(b, want) {
			t.Fatalf("Append(%d, %d, %x, %x) = %x, want %x", ts, flag, key, value, b, want)
		}
		rec, err := format.Decode(b)
		valid := validShape(flag, int64(len(key)), int64(len(value)))
		if !valid {
			if !errors.Is(err, format.ErrCorrupt) {
				t.Fatalf("Decode(%x) = %+v, %v, want ErrCorrupt", b, rec.Header, err)
			}
			return
		}
		if err != nil || rec.Timestamp != ts || rec.Flag != flag || !bytes.Equal(rec.Key, key) || !bytes.Equal(rec.Value, value) {
			t.Fatalf("Decode(Append(%d, %d, %x, %x)) = %+v %x %x, %v, want the same record",
				ts, flag, key, value, rec.Header, rec.Key, rec.Value, err)
		}
	})
}
