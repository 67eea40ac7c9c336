package keydir_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/aether-kv/aether-kv/internal/keydir"
)

// randomKeydir returns a Keydir after a random mix of puts, overwrites
// (with and without deadlines, so records move in the arena) and deletes
// (dead slots, garbage), and the model of what it holds.
func randomKeydir(seed uint64, ops int) (*keydir.Keydir, map[string]keydir.Entry) {
	r := rand.New(rand.NewPCG(seed, 7))
	k := keydir.New()
	model := map[string]keydir.Entry{}
	for i := range ops {
		key := fmt.Sprintf("k%d", r.IntN(ops/3+1))
		if r.IntN(4) == 0 {
			delete(model, key)
			k.Delete([]byte(key))
			continue
		}
		e := keydir.Entry{FileID: uint32(i), Size: uint32(r.IntN(1 << 20)), Offset: r.Int64()}
		if r.IntN(3) == 0 {
			e.Expire = r.Int64()
		}
		model[key] = e
		k.Put([]byte(key), e)
	}
	return k, model
}

func wantModel(t *testing.T, k *keydir.Keydir, model map[string]keydir.Entry) {
	t.Helper()
	if k.Len() != len(model) {
		t.Fatalf("Len() = %d, want %d", k.Len(), len(model))
	}
	for key, want := range model {
		if got, ok := k.Get([]byte(key)); !ok || got != want {
			t.Fatalf("Get(%q) = %+v, %t, want %+v", key, got, ok, want)
		}
	}
	seen := 0
	k.Range(func(key []byte, e keydir.Entry) bool {
		if want, ok := model[string(key)]; !ok || want != e {
			t.Fatalf("Range gave %q = %+v, want %+v (present %t)", key, e, want, ok)
		}
		seen++
		return true
	})
	if seen != len(model) {
		t.Fatalf("Range visited %d keys, want %d", seen, len(model))
	}
}

func TestSaveRoundTrip(t *testing.T) {
	for _, ops := range []int{0, 1, 100, 50_000} {
		t.Run(fmt.Sprintf("ops=%d", ops), func(t *testing.T) {
			k, model := randomKeydir(uint64(ops), ops)
			var buf bytes.Buffer
			n, err := k.WriteTo(&buf)
			if err != nil || n != int64(buf.Len()) {
				t.Fatalf("WriteTo = %d, %v; wrote %d bytes", n, err, buf.Len())
			}
			got, err := keydir.ReadFrom(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			if err != nil {
				t.Fatalf("ReadFrom = %v", err)
			}
			wantModel(t, got, model)
			// The copy takes writes as the original does: same hash seed.
			r := rand.New(rand.NewPCG(9, 9))
			for i := range 20_000 {
				key := fmt.Sprintf("k%d", r.IntN(ops/3+10_000))
				if r.IntN(4) == 0 {
					delete(model, key)
					got.Delete([]byte(key))
					continue
				}
				e := keydir.Entry{FileID: uint32(i), Size: 10, Offset: int64(i)}
				model[key] = e
				got.Put([]byte(key), e)
			}
			wantModel(t, got, model)
		})
	}
}

// TestSaveSameBytes: a Keydir read back is written out byte for byte as
// the original was: nothing is rebuilt on the way.
func TestSaveSameBytes(t *testing.T) {
	k, _ := randomKeydir(5, 20_000)
	var a, b bytes.Buffer
	k.WriteTo(&a)
	got, err := keydir.ReadFrom(bytes.NewReader(a.Bytes()), int64(a.Len()))
	if err != nil {
		t.Fatal(err)
	}
	got.WriteTo(&b)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("written again: %d bytes differ from the %d read", b.Len(), a.Len())
	}
}

// TestReadFromDamaged: short input, a limit below the size, and counts
// that cannot be are errors, never a panic nor a huge allocation.
func TestReadFromDamaged(t *testing.T) {
	k, _ := randomKeydir(6, 50_000) // shard 0 holds keys: P(empty) ~ e^-49
	var buf bytes.Buffer
	k.WriteTo(&buf)
	good := buf.Bytes()
	// The first shard's header follows the 8-byte seed: used, live,
	// garbage, slots, arena.
	patch := func(field int, v uint64) []byte {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint64(b[8+8*field:], v)
		return b
	}
	field := func(i int) uint64 { return binary.LittleEndian.Uint64(good[8+8*i:]) }
	pastArena := bytes.Clone(good) // a live slot of shard 0 points past its arena
	for i := range int(field(3)) {
		at := 8 + 40 + 16*i
		if s := binary.LittleEndian.Uint64(pastArena[at:]); s != 0 && s != ^uint64(0) {
			binary.LittleEndian.PutUint64(pastArena[at:], (field(4)+1)<<24|s&(1<<24-1))
			break
		}
	}
	tests := []struct {
		name  string
		in    []byte
		limit int64
	}{
		{"empty", nil, 0},
		{"truncated in a header", good[:20], 20},
		{"truncated in the slots", good[:100], 100},
		{"truncated at the end", good[:len(good)-1], int64(len(good)) - 1},
		{"limit below the size", good, int64(len(good)) - 1},
		{"huge slot count", patch(3, 1<<60), int64(len(good))},
		{"huge arena", patch(4, 1<<62), int64(len(good))},
		{"too few slots", patch(3, 3), int64(len(good))},
		{"used count off", patch(0, field(0)-1), int64(len(good))},
		{"live count off", patch(1, field(1)-1), int64(len(good))},
		{"live above used", patch(1, 1<<40), int64(len(good))},
		{"garbage above the arena", patch(2, 1<<40), int64(len(good))},
		{"slot past the arena", pastArena, int64(len(good))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := keydir.ReadFrom(bytes.NewReader(tt.in), tt.limit); err == nil {
				t.Fatalf("ReadFrom(%s) = nil error", tt.name)
			}
		})
	}
	if _, err := keydir.ReadFrom(bytes.NewReader(good[:10]), 10); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("ReadFrom(10 bytes) = %v, want io.ErrUnexpectedEOF", err)
	}
}

// BenchmarkReadFrom reads back 1M keys, as Open does from a checkpoint.
func BenchmarkReadFrom(b *testing.B) {
	k, _ := loaded(1_000_000)
	var buf bytes.Buffer
	k.WriteTo(&buf)
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		if _, err := keydir.ReadFrom(bytes.NewReader(buf.Bytes()), int64(buf.Len())); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLongKeysAcrossBlocks puts keys from 1 byte to several arena blocks
// long, overwrites (with entries of other lengths) and deletes some,
// saves and reads back, and goes on changing what was read back: every
// step must agree with a map.
func TestLongKeysAcrossBlocks(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	model := map[string]keydir.Entry{}
	change := func(k *keydir.Keydir, ops int) {
		for i := range ops {
			n := 1 + r.IntN(300)
			if r.IntN(20) == 0 {
				n = 1 + r.IntN(60<<10) // up to several 16 KiB blocks
			}
			key := fmt.Sprintf("%d-%s", r.IntN(2000), strings.Repeat("k", n))
			e := keydir.Entry{FileID: uint32(i), Size: uint32(1 + r.IntN(1<<20)), Offset: randomOffset(r)}
			if r.IntN(2) == 0 {
				e.Expire = r.Int64()
			}
			if r.IntN(5) == 0 {
				k.Delete([]byte(key))
				delete(model, key)
				continue
			}
			k.Put([]byte(key), e)
			model[key] = e
		}
	}
	k := keydir.New()
	change(k, 20_000)
	wantModel(t, k, model)
	for round := range 3 {
		var saved bytes.Buffer
		if _, err := k.WriteTo(&saved); err != nil {
			t.Fatal(err)
		}
		var err error
		if k, err = keydir.ReadFrom(bytes.NewReader(saved.Bytes()), int64(saved.Len())); err != nil {
			t.Fatalf("round %d: ReadFrom: %v", round, err)
		}
		wantModel(t, k, model)
		change(k, 5_000)
		wantModel(t, k, model)
	}
}
