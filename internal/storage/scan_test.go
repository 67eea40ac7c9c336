package storage_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/aether-kv/aether-kv/internal/format"
	"github.com/aether-kv/aether-kv/internal/storage"
	"github.com/aether-kv/aether-kv/internal/vfs"
)

const maxKey = 1024

// scanned is what a scan returned: the records and the error.
type scanned struct {
	offs []int64
	keys []string
	hdrs []format.Header
	end  int64 // Scanner.Offset() at the end
	err  error
}

func scan(data []byte, maxKey int) scanned {
	s := storage.NewScanner(bytes.NewReader(data), "active.log", int64(len(data)), maxKey)
	var got scanned
	for s.Next() {
		r := s.Record()
		got.offs = append(got.offs, r.Offset)
		got.keys = append(got.keys, string(r.Key))
		got.hdrs = append(got.hdrs, r.Header)
	}
	got.end, got.err = s.Offset(), s.Err()
	return got
}

// checkScan checks that the scan read recs[:n] at offs and ended at
// offs[n], with an error wrapping format.ErrCorrupt if wantCorrupt.
func checkScan(t *testing.T, got scanned, recs []rec, offs []int64, n int, wantCorrupt bool) {
	t.Helper()
	if len(got.keys) != n {
		t.Fatalf("scan read %d records, want %d (err %v)", len(got.keys), n, got.err)
	}
	for i := range n {
		r := recs[i]
		want := format.Header{
			CRC:       binary.LittleEndian.Uint32(r.encode()),
			Timestamp: r.ts,
			KeySize:   uint32(len(r.key)),
			ValueSize: uint32(len(r.value)),
			Flag:      r.flag,
		}
		if got.offs[i] != offs[i] || got.keys[i] != string(r.key) || got.hdrs[i] != want {
			t.Fatalf("record %d = offset %d key %q %+v, want offset %d key %q %+v",
				i, got.offs[i], got.keys[i], got.hdrs[i], offs[i], r.key, want)
		}
	}
	if got.end != offs[n] {
		t.Errorf("Offset() = %d, want %d", got.end, offs[n])
	}
	if !wantCorrupt {
		if got.err != nil {
			t.Errorf("Err() = %v, want nil", got.err)
		}
		return
	}
	var re *storage.RecordError
	if !errors.As(got.err, &re) || !errors.Is(got.err, format.ErrCorrupt) || re.Offset != offs[n] || re.File != "active.log" {
		t.Fatalf("Err() = %v, want a *RecordError in active.log at offset %d wrapping ErrCorrupt", got.err, offs[n])
	}
	if msg := got.err.Error(); !strings.Contains(msg, fmt.Sprintf("active.log at offset %d: ", offs[n])) {
		t.Errorf("Err() = %q, want it to name the file and offset %d", msg, offs[n])
	}
}

func TestScannerReadsAll(t *testing.T) {
	recs := genRecords(2000, 20)
	// Values past the scanner's 256 KiB buffer are checksummed in pieces.
	recs = append(recs,
		rec{ts: 1, key: []byte("big"), value: bytes.Repeat([]byte("x"), 600<<10)},
		rec{ts: 2, key: []byte("after big"), value: []byte("v")},
		rec{ts: 3, key: bytes.Repeat([]byte("k"), maxKey), value: bytes.Repeat([]byte("y"), 256<<10)},
		rec{ts: 4, flag: format.FlagTombstone, key: []byte("last")},
	)
	data, offs := build(recs)
	tests := []struct {
		name string
		recs []rec
	}{
		{"many", recs},
		{"one", recs[:1]},
		{"empty", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := len(tt.recs)
			checkScan(t, scan(data[:offs[n]], maxKey), recs, offs, n, false)
		})
	}
}

func TestScannerFile(t *testing.T) {
	recs := genRecords(100, 21)
	data, offs := build(recs)
	path := writeFile(t, data)
	f, err := vfs.Default.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := storage.NewScanner(f, path, int64(len(data)), maxKey)
	var got scanned
	for s.Next() {
		got.offs = append(got.offs, s.Record().Offset)
		got.keys = append(got.keys, string(s.Record().Key))
		got.hdrs = append(got.hdrs, s.Record().Header)
	}
	got.end, got.err = s.Offset(), s.Err()
	checkScan(t, got, recs, offs, len(recs), false)
	if s.Next() {
		t.Errorf("Next() after the end = true, want false")
	}
}

// TestScannerSizeLimitsScan: the scanner reads only the first size bytes.
func TestScannerSizeLimitsScan(t *testing.T) {
	recs := genRecords(10, 22)
	data, offs := build(recs)
	s := storage.NewScanner(bytes.NewReader(data), "f", offs[4], maxKey)
	n := 0
	for s.Next() {
		n++
	}
	if n != 4 || s.Err() != nil || s.Offset() != offs[4] {
		t.Errorf("scan of the first %d bytes: %d records, Offset %d, Err %v, want 4, %d, nil", offs[4], n, s.Offset(), s.Err(), offs[4])
	}
}

// damage returns a copy of data with the uint32 at off set to v.
func setUint32(data []byte, off int64, v uint32) []byte {
	c := bytes.Clone(data)
	binary.LittleEndian.PutUint32(c[off:], v)
	return c
}

func flipBit(data []byte, bit int64) []byte {
	c := bytes.Clone(data)
	c[bit/8] ^= 1 << (bit % 8)
	return c
}

func TestScannerStopsAtDamage(t *testing.T) {
	recs := genRecords(20, 23)
	data, offs := build(recs)
	mid := offs[10] // record 10 is damaged in the middle cases
	last := offs[19]
	tests := []struct {
		name string
		data []byte
		good int // records read before the bad one
	}{
		{"truncated header 1 byte", data[:last+1], 19},
		{"truncated header 20 bytes", data[:last+20], 19},
		{"truncated after header", data[:last+21], 19},
		{"truncated record", data[:offs[20]-1], 19},
		{"bit flip in crc", flipBit(data, mid*8+3), 10},
		{"bit flip in timestamp", flipBit(data, (mid+4)*8), 10},
		{"bit flip in flag", flipBit(data, (mid+20)*8+1), 10},
		{"bit flip in key", flipBit(data, (mid+22)*8+5), 10},
		{"bit flip in last byte", flipBit(data, offs[11]*8-1), 10},
		{"value size past the end", setUint32(data, mid+16, uint32(int64(len(data))-mid)), 10},
		{"value size 0xFFFFFFFF", setUint32(data, mid+16, 0xFFFFFFFF), 10},
		{"key size 0xFFFFFFFF", setUint32(data, mid+12, 0xFFFFFFFF), 10},
		{"key size over maxKey", setUint32(data, mid+12, maxKey+1), 10},
		{"key size 0", setUint32(data, mid+12, 0), 10},
		{"tail value size past the end", setUint32(data, last+16, 0xFFFFFF), 19},
		{"zero tail", concat(data, make([]byte, 100)), 20},
		{"short zero tail", concat(data, make([]byte, 3)), 20},
		{"garbage tail", concat(data, randomBytes(100, 1)), 20},
		{"zeroed record", concat(data[:mid], make([]byte, offs[11]-mid), data[offs[11]:]), 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkScan(t, scan(tt.data, maxKey), recs, offs, tt.good, true)
		})
	}
}

// TestScannerEveryBitFlip flips every bit of a record in the middle of a
// file: the scan stops there with ErrCorrupt, after all earlier records.
func TestScannerEveryBitFlip(t *testing.T) {
	recs := genRecords(5, 24)
	recs[2] = rec{ts: 77, key: []byte("flip"), value: []byte("me, please")}
	data, offs := build(recs)
	for bit := offs[2] * 8; bit < offs[3]*8; bit++ {
		got := scan(flipBit(data, bit), maxKey)
		var re *storage.RecordError
		if len(got.keys) != 2 || !errors.As(got.err, &re) || re.Offset != offs[2] || !errors.Is(got.err, format.ErrCorrupt) {
			t.Errorf("bit %d of record 2 flipped: scan read %d records, Err %v, want 2, ErrCorrupt at %d",
				bit-offs[2]*8, len(got.keys), got.err, offs[2])
		}
	}
}

// TestScannerEveryTruncation cuts the last record at every byte of its
// first 64 and at a spread of later ones (D5): the scan keeps every earlier
// record and stops at its start, and NextValid finds nothing after it, so
// the tail is torn. (Every byte of the large records would take minutes:
// NextValid costs about 240 ns a byte, see BenchmarkNextValidZeroTail.)
func TestScannerEveryTruncation(t *testing.T) {
	tests := []struct {
		name   string
		last   rec
		stride int64 // after the first 64 bytes
	}{
		{"40 B", rec{ts: 1, key: []byte("key"), value: bytes.Repeat([]byte("v"), 16)}, 1},
		{"4 KiB", rec{ts: 2, key: []byte("key"), value: randomBytes(4<<10, 2)}, 127},
		{"64 KiB", rec{ts: 3, key: []byte("key"), value: randomBytes(64<<10, 3)}, 8191},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := append(genRecords(10, 25), tt.last)
			data, offs := build(recs)
			start, end := offs[10], offs[11]
			var cuts []int64
			for cut := start + 1; cut < end; cut += max(1, min(tt.stride, cut-start-63)) {
				cuts = append(cuts, cut)
			}
			cuts = append(cuts, end-1)
			for _, cut := range cuts {
				got := scan(data[:cut], maxKey)
				var re *storage.RecordError
				if len(got.keys) != 10 || !errors.As(got.err, &re) || re.Offset != start || !errors.Is(got.err, format.ErrCorrupt) || got.end != start {
					t.Fatalf("cut at %d: scan read %d records, ended at %d, Err %v, want 10, %d, ErrCorrupt", cut, len(got.keys), got.end, got.err, start)
				}
				if next, err := storage.NextValid(bytes.NewReader(data[:cut]), start, cut, maxKey); next != -1 || err != nil {
					t.Fatalf("cut at %d: NextValid(%d) = %d, %v, want -1, nil", cut, start, next, err)
				}
			}
			checkScan(t, scan(data[:start], maxKey), recs, offs, 10, false)
		})
	}
}

func TestScannerMaxKey(t *testing.T) {
	tests := []struct {
		name    string
		keySize int
		corrupt bool
	}{
		{"one byte", 1, false},
		{"maxKey", maxKey, false},
		{"maxKey+1", maxKey + 1, true},
		{"twice maxKey", 2 * maxKey, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := []rec{{ts: 1, key: []byte("a")}, {ts: 2, key: bytes.Repeat([]byte("k"), tt.keySize), value: []byte("v")}}
			data, offs := build(recs)
			good := map[bool]int{false: 2, true: 1}[tt.corrupt]
			checkScan(t, scan(data, maxKey), recs, offs, good, tt.corrupt)
		})
	}
}

// TestScannerHostileSizesDoNotAllocate (D8): a size field claiming up to
// 4 GiB must be rejected before anything of that size is allocated.
func TestScannerHostileSizesDoNotAllocate(t *testing.T) {
	recs := genRecords(20, 26)
	data, offs := build(recs)
	mid, last := offs[10], offs[19]
	tests := []struct {
		name   string
		data   []byte
		maxKey int
	}{
		{"key size 0xFFFFFFFF", setUint32(data, mid+12, 0xFFFFFFFF), maxKey},
		{"key size 0xFFFFFFFF, no maxKey", setUint32(data, mid+12, 0xFFFFFFFF), 1<<32 - 1},
		{"key size 1 GiB, no maxKey", setUint32(data, mid+12, 1<<30), 1<<32 - 1},
		{"value size 0xFFFFFFFF", setUint32(data, mid+16, 0xFFFFFFFF), maxKey},
		{"tail key size 0xFFFFFFFF", setUint32(data, last+12, 0xFFFFFFFF), 1<<32 - 1},
		{"tail value size 0xFFFFFFFF", setUint32(data, last+16, 0xFFFFFFFF), maxKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			got := scan(tt.data, tt.maxKey)
			next, nerr := storage.NextValid(bytes.NewReader(tt.data), got.end, int64(len(tt.data)), tt.maxKey)
			runtime.ReadMemStats(&after)
			if !errors.Is(got.err, format.ErrCorrupt) || nerr != nil {
				t.Fatalf("scan Err() = %v, NextValid = %d, %v, want ErrCorrupt and no NextValid error", got.err, next, nerr)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
				t.Errorf("scan and NextValid allocated %d bytes, want at most 4 MiB", grew)
			}
		})
	}
}

// TestNextValidFindsNextRecord damages a record in the middle: NextValid
// from it finds the record after it, which tells damage from a torn tail.
func TestNextValidFindsNextRecord(t *testing.T) {
	recs := genRecords(30, 27)
	data, offs := build(recs)
	mid := offs[15]
	tests := []struct {
		name string
		data []byte
		want int64
	}{
		{"bit flip in value", flipBit(data, offs[16]*8-3), offs[16]},
		{"bit flip in crc", flipBit(data, mid*8), offs[16]},
		{"key size 0xFFFFFFFF", setUint32(data, mid+12, 0xFFFFFFFF), offs[16]},
		{"value size 0xFFFFFFFF", setUint32(data, mid+16, 0xFFFFFFFF), offs[16]},
		{"value size past the end", setUint32(data, mid+16, uint32(int64(len(data))-mid)), offs[16]},
		{"key size 0", setUint32(data, mid+12, 0), offs[16]},
		{"unknown flag", concat(data[:mid+20], []byte{7}, data[mid+21:]), offs[16]},
		{"zeroed header", concat(data[:mid], make([]byte, format.HeaderSize), data[mid+format.HeaderSize:]), offs[16]},
		{"garbage over the record", concat(data[:mid], randomBytes(int(offs[16]-mid), 4), data[offs[16]:]), offs[16]},
		{"garbage before the record", concat(data[:mid], randomBytes(5000, 5), data[mid:]), mid + 5000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scan(tt.data, maxKey)
			if !errors.Is(got.err, format.ErrCorrupt) || got.end != mid {
				t.Fatalf("scan ended at %d with %v, want ErrCorrupt at %d", got.end, got.err, mid)
			}
			if next, err := storage.NextValid(bytes.NewReader(tt.data), mid, int64(len(tt.data)), maxKey); next != tt.want || err != nil {
				t.Errorf("NextValid(%d) = %d, %v, want %d, nil", mid, next, err, tt.want)
			}
		})
	}
}

// TestNextValidRandomBitFlips (D7-lite): a random bit flipped in a random
// record stops the scan at that record, and NextValid finds the next one
// (or -1 after the last).
func TestNextValidRandomBitFlips(t *testing.T) {
	recs := genRecords(2000, 28)
	data, offs := build(recs)
	picks := randomBytes(8*300, 6)
	for trial := range 300 {
		i := int(binary.LittleEndian.Uint32(picks[8*trial:]) % uint32(len(recs)))
		size := offs[i+1] - offs[i]
		bit := offs[i]*8 + int64(binary.LittleEndian.Uint32(picks[8*trial+4:]))%(size*8)
		bad := flipBit(data, bit)
		got := scan(bad, maxKey)
		if len(got.keys) != i || got.end != offs[i] || !errors.Is(got.err, format.ErrCorrupt) {
			t.Fatalf("bit %d of record %d flipped: scan read %d records, ended at %d, %v, want %d, %d, ErrCorrupt",
				bit-offs[i]*8, i, len(got.keys), got.end, got.err, i, offs[i])
		}
		want := offs[i+1]
		if i == len(recs)-1 {
			want = -1
		}
		if next, err := storage.NextValid(bytes.NewReader(bad), offs[i], int64(len(bad)), maxKey); next != want || err != nil {
			t.Fatalf("bit %d of record %d flipped: NextValid(%d) = %d, %v, want %d, nil", bit-offs[i]*8, i, offs[i], next, err, want)
		}
	}
}

func TestNextValidFromValidRecord(t *testing.T) {
	recs := genRecords(5, 29)
	data, offs := build(recs)
	tests := []struct {
		name string
		from int64
		want int64
	}{
		{"before the file", -1, 0},
		{"first record", 0, offs[1]},
		{"inside a record", offs[2] + 3, offs[3]},
		{"last record", offs[4], -1},
		{"end of file", offs[5], -1},
		{"past the end", offs[5] + 100, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if next, err := storage.NextValid(bytes.NewReader(data), tt.from, int64(len(data)), maxKey); next != tt.want || err != nil {
				t.Errorf("NextValid(%d) = %d, %v, want %d, nil", tt.from, next, err, tt.want)
			}
		})
	}
}

// tailSizes are the sizes of bad tails of test D6.
func tailSizes() []int {
	var sizes []int
	for k := 1; k <= 64; k++ {
		sizes = append(sizes, k)
	}
	return append(sizes, 511, 512, 4096, 65536, 65536+format.HeaderSize+1)
}

// TestNextValidBadTail (D6): after the last record, zeros, garbage or a
// torn record hold no valid record, so the tail is torn.
func TestNextValidBadTail(t *testing.T) {
	recs := genRecords(50, 30)
	data, offs := build(recs)
	torn := rec{ts: 9, key: []byte("torn"), value: randomBytes(70000, 7)}.encode()
	tests := []struct {
		name string
		tail func(k int) []byte
	}{
		{"zeros", func(k int) []byte { return make([]byte, k) }},
		{"ones", func(k int) []byte { return bytes.Repeat([]byte{0xFF}, k) }},
		{"garbage", func(k int) []byte { return randomBytes(k, uint64(k)) }},
		{"torn record", func(k int) []byte { return torn[:k] }},
		{"torn record then zeros", func(k int) []byte { return concat(torn[:k/2], make([]byte, k-k/2)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range tailSizes() {
				bad := concat(data, tt.tail(k))
				got := scan(bad, maxKey)
				if len(got.keys) != len(recs) || got.end != offs[len(recs)] || !errors.Is(got.err, format.ErrCorrupt) {
					t.Fatalf("%d-byte tail: scan read %d records, ended at %d, %v, want %d, %d, ErrCorrupt",
						k, len(got.keys), got.end, got.err, len(recs), offs[len(recs)])
				}
				if next, err := storage.NextValid(bytes.NewReader(bad), got.end, int64(len(bad)), maxKey); next != -1 || err != nil {
					t.Fatalf("%d-byte tail: NextValid(%d) = %d, %v, want -1, nil", k, got.end, next, err)
				}
			}
		})
	}
}

// TestNextValidWindowEdges puts a record after a zero gap of sizes around
// NextValid's 64 KiB read window, so that its header starts just before,
// at, or just after a window's edge.
func TestNextValidWindowEdges(t *testing.T) {
	const window = 64 << 10
	first := rec{ts: 1, key: []byte("first"), value: []byte("v")}.encode()
	next := rec{ts: 2, key: []byte("next"), value: randomBytes(100, 8)}.encode()
	gaps := []int{1, 2, 20, 21, 22, 23}
	for _, d := range []int{-format.HeaderSize - 1, -format.HeaderSize, -format.HeaderSize + 1, -1, 0, 1, 2} {
		gaps = append(gaps, window+d)
	}
	gaps = append(gaps, 2*window-format.HeaderSize, 2*window+1)
	for _, gap := range gaps {
		data := concat(first, make([]byte, gap), next)
		from := int64(len(first))
		want := from + int64(gap)
		if got, err := storage.NextValid(bytes.NewReader(data), from, int64(len(data)), maxKey); got != want || err != nil {
			t.Errorf("gap of %d zeros: NextValid(%d) = %d, %v, want %d, nil", gap, from, got, err, want)
		}
	}
}

// BenchmarkNextValidZeroTail measures the search for a valid record
// through a zero-filled tail, as left by a crash on some file systems.
func BenchmarkNextValidZeroTail(b *testing.B) {
	data := make([]byte, 1<<20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if next, err := storage.NextValid(bytes.NewReader(data), 0, int64(len(data)), maxKey); next != -1 || err != nil {
			b.Fatalf("NextValid = %d, %v, want -1, nil", next, err)
		}
	}
}

// TestScannerKeepValues: with KeepValues the scanner hands back each
// value, however large, and still stops at damage.
func TestScannerKeepValues(t *testing.T) {
	recs := append(genRecords(100, 31),
		rec{ts: 1, key: []byte("big"), value: randomBytes(600<<10, 9)},
		rec{ts: 2, flag: format.FlagTombstone, key: []byte("gone")},
		rec{ts: 3, key: []byte("empty"), value: []byte{}},
	)
	data, offs := build(recs)
	tests := []struct {
		name string
		data []byte
		good int
		err  bool
	}{
		{"clean", data, len(recs), false},
		{"flip in the big value", flipBit(data, offs[101]*8-7), 100, true},
		{"torn big value", data[:offs[101]-1], 100, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := storage.NewScanner(bytes.NewReader(tt.data), "f", int64(len(tt.data)), maxKey)
			s.KeepValues()
			n := 0
			for ; s.Next(); n++ {
				r := s.Record()
				if r.Offset != offs[n] || string(r.Key) != string(recs[n].key) || !bytes.Equal(r.Value, recs[n].value) {
					t.Fatalf("record %d = offset %d key %q value of %d bytes, want offset %d key %q value of %d bytes",
						n, r.Offset, r.Key, len(r.Value), offs[n], recs[n].key, len(recs[n].value))
				}
			}
			if n != tt.good || (s.Err() != nil) != tt.err || (tt.err && !errors.Is(s.Err(), format.ErrCorrupt)) {
				t.Fatalf("scan read %d records, Err %v, want %d, error %t (ErrCorrupt)", n, s.Err(), tt.good, tt.err)
			}
		})
	}
}

// TestScannerValueNilWithoutKeepValues: by default values are only
// checksummed, never handed back.
func TestScannerValueNilWithoutKeepValues(t *testing.T) {
	data, _ := build(genRecords(10, 32))
	s := storage.NewScanner(bytes.NewReader(data), "f", int64(len(data)), maxKey)
	for s.Next() {
		if v := s.Record().Value; len(v) != 0 {
			t.Fatalf("Record().Value = %d bytes without KeepValues, want none", len(v))
		}
	}
}

// TestScannerDeadline: the deadline of a value that has one is reported
// whether or not the scanner keeps values, and is 0 for other records.
func TestScannerDeadline(t *testing.T) {
	var b []byte
	b = format.AppendWithDeadline(b, 1, format.FlagValueTTL, []byte("a"), 111, []byte("x"))
	b = format.Append(b, 2, format.FlagValue, []byte("b"), []byte("y"))
	b = format.AppendWithDeadline(b, 3, format.FlagBatchValueTTL, []byte("c"), 333, nil)
	for _, keep := range []bool{false, true} {
		s := storage.NewScanner(bytes.NewReader(b), "mem", int64(len(b)), 64)
		if keep {
			s.KeepValues()
		}
		var got []int64
		for s.Next() {
			got = append(got, s.Record().Deadline)
		}
		if s.Err() != nil || fmt.Sprint(got) != "[111 0 333]" {
			t.Errorf("keep values %t: deadlines %v, err %v; want [111 0 333]", keep, got, s.Err())
		}
	}
}
