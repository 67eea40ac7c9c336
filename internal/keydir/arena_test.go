package keydir

import (
	"bytes"
	"fmt"
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

// TestBlockEndsAreGarbage: the unused end of a block that a long record
// skipped counts as garbage, so that deleting most keys compacts the
// arena, as it did when the arena was one slice.
func TestBlockEndsAreGarbage(t *testing.T) {
	for _, keyLen := range []int{8200, 16380} {
		k := New()
		var keys [][]byte
		for i := 0; len(keys) < 200; i++ {
			key := bytes.Repeat([]byte{'k'}, keyLen)
			copy(key, fmt.Sprint(i))
			if shardOf(k.hash(key)) == 0 {
				keys = append(keys, key)
				k.Put(key, Entry{FileID: 1, Size: 100, Offset: int64(i)})
			}
		}
		for _, key := range keys[10:] {
			k.Delete(key)
		}
		sh := &k.shards[0]
		if limit := 4 * 10 * (keyLen + 64); sh.arena.n > limit {
			t.Errorf("keys of %d bytes: 10 left, the arena still spans %d bytes (garbage %d), want at most %d", keyLen, sh.arena.n, sh.garbage, limit)
		}
		for _, key := range keys[:10] {
			if _, ok := k.Get(key); !ok {
				t.Fatalf("keys of %d bytes: a key left is gone", keyLen)
			}
		}
	}
}
