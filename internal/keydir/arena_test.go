package keydir

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestArena adds records of many sizes, blocks and longer, and checks
// that each reads back at its offset, and that each() lays the arena out
// flat with every record at its offset, as a saved Keydir holds it.
func TestArena(t *testing.T) {
	for _, reserved := range []int{0, 3 * arenaBlock} {
		r := rand.New(rand.NewPCG(5, uint64(reserved)))
		var a arena
		a.reserve(reserved)
		type rec struct {
			off  int
			data []byte
		}
		var recs []rec
		for i := range 3000 {
			l := 1 + r.IntN(200)
			switch r.IntN(50) {
			case 0:
				l = arenaBlock + r.IntN(3*arenaBlock) // longer than a block
			case 1:
				l = arenaBlock // exactly a block
			}
			data := make([]byte, l)
			for j := range data {
				data[j] = byte(i + j*7 + 1)
			}
			off, b := a.add(l)
			if len(b) != l {
				t.Fatalf("add(%d) gave %d bytes", l, len(b))
			}
			copy(b, data)
			recs = append(recs, rec{off, data})
		}
		var flat []byte
		if err := a.each(func(b []byte) error { flat = append(flat, b...); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(flat) != a.n {
			t.Fatalf("each gave %d bytes, n = %d", len(flat), a.n)
		}
		for i, rc := range recs {
			if got := a.at(rc.off); len(got) < len(rc.data) || !bytes.Equal(got[:len(rc.data)], rc.data) {
				t.Fatalf("reserved %d: record %d at %d: at() does not hold it", reserved, i, rc.off)
			}
			if !bytes.Equal(flat[rc.off:rc.off+len(rc.data)], rc.data) {
				t.Fatalf("reserved %d: record %d at %d: not where each() puts it", reserved, i, rc.off)
			}
		}
		if len(a.blocks) == 0 {
			t.Fatalf("reserved %d: no blocks after %d bytes", reserved, a.n)
		}
	}
}
