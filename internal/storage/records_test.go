package storage_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/aether-kv/aether-kv/internal/format"
)

// rec is a record to write.
type rec struct {
	ts    uint64
	flag  byte
	key   []byte
	value []byte
}

func (r rec) encode() []byte { return format.Append(nil, r.ts, r.flag, r.key, r.value) }

// build encodes recs one after another and returns the bytes and the
// offset of each record; offs has a last entry for the end.
func build(recs []rec) (data []byte, offs []int64) {
	for _, r := range recs {
		offs = append(offs, int64(len(data)))
		data = format.Append(data, r.ts, r.flag, r.key, r.value)
	}
	return data, append(offs, int64(len(data)))
}

// genRecords returns n records with distinct keys, values of 0 to 200
// bytes and some tombstones, the same for the same seed.
func genRecords(n int, seed uint64) []rec {
	rng := rand.New(rand.NewPCG(seed, seed))
	recs := make([]rec, n)
	for i := range recs {
		r := rec{ts: uint64(1_700_000_000_000_000_000 + i), key: fmt.Appendf(nil, "key-%06d", i)}
		if rng.IntN(10) == 0 {
			r.flag = format.FlagTombstone
		} else {
			r.value = make([]byte, rng.IntN(201))
			for j := range r.value {
				r.value[j] = byte(rng.Uint32())
			}
		}
		recs[i] = r
	}
	return recs
}

// randomBytes returns n random bytes, the same for the same seed.
func randomBytes(n int, seed uint64) []byte {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	b := make([]byte, n)
	rand.NewChaCha8(s).Read(b)
	return b
}

// writeFile writes data to a new file in a temporary directory and returns
// its path.
func writeFile(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "active.log")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// readFile returns the contents of path.
func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// concat returns the concatenation of bs.
func concat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
