package engine_test

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	aetherkv "github.com/aether-kv/aether-kv"
)

// open opens a store in dir with opts, closed when the test ends.
func open(t *testing.T, dir string, opts *aetherkv.Options) *aetherkv.DB {
	t.Helper()
	db, err := aetherkv.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// put puts key, failing the test on an error.
func put(t *testing.T, db *aetherkv.DB, key string, value []byte) {
	t.Helper()
	if err := db.Put([]byte(key), value); err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
}

// get returns the value of key, or "<not found>".
func get(t *testing.T, db *aetherkv.DB, key string) string {
	t.Helper()
	v, err := db.Get([]byte(key))
	if errors.Is(err, aetherkv.ErrNotFound) {
		return "<not found>"
	}
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	return string(v)
}

// TestSeedSessionRebuiltAtStartUp runs the seed's shell session through
// the API, then reopens the store from its log alone (the key-directory
// checkpoint removed), as the seed's start-up rebuild does.
func TestSeedSessionRebuiltAtStartUp(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir, nil)
	for _, kv := range [][2]string{{"name", "John Doe"}, {"age", "30"}, {"name", "Jane Doe"}} {
		put(t, db, kv[0], []byte(kv[1]))
	}
	if err := db.Delete([]byte("age")); err != nil {
		t.Fatal(err)
	}
	if got := get(t, db, "name"); got != "Jane Doe" {
		t.Fatalf("name = %q, want the newer value", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "KEYDIR")); err != nil {
		t.Fatal(err)
	}
	db = open(t, dir, nil)
	if got := get(t, db, "name"); got != "Jane Doe" {
		t.Errorf("after rebuild, name = %q, want Jane Doe", got)
	}
	if got := get(t, db, "age"); got != "<not found>" {
		t.Errorf("after rebuild, age = %q, want the tombstone to hold", got)
	}
}

// TestLogIsTheSeedFormat decodes the log the engine wrote with the seed's
// documented layout alone: CRC32 of bytes 4 on, timestamp, key size, value
// size, flag (0 value, 1 tombstone), key, value, little-endian.
func TestLogIsTheSeedFormat(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir, nil)
	put(t, db, "k1", []byte("v1"))
	put(t, db, "k2", []byte("value two"))
	if err := db.Delete([]byte("k1")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(filepath.Join(dir, "active.log"))
	if err != nil {
		t.Fatal(err)
	}
	type record struct {
		key, value string
		flag       byte
	}
	var got []record
	for len(log) > 0 {
		if len(log) < 21 {
			t.Fatalf("%d bytes left, less than a header", len(log))
		}
		ks, vs := binary.LittleEndian.Uint32(log[12:]), binary.LittleEndian.Uint32(log[16:])
		end := 21 + int(ks) + int(vs)
		if crc := crc32.ChecksumIEEE(log[4:end]); crc != binary.LittleEndian.Uint32(log) {
			t.Fatalf("record %d: CRC %08x, header says %08x", len(got), crc, binary.LittleEndian.Uint32(log))
		}
		if binary.LittleEndian.Uint64(log[4:]) == 0 {
			t.Errorf("record %d: no timestamp", len(got))
		}
		got = append(got, record{string(log[21 : 21+ks]), string(log[21+ks : end]), log[20]})
		log = log[end:]
	}
	want := []record{{"k1", "v1", 0}, {"k2", "value two", 0}, {"k1", "", 1}}
	if len(got) != len(want) {
		t.Fatalf("log holds %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestBufferedUntilBatchSize: writes stay in the process's buffer until it
// passes BATCH_SIZE, readable at once all the same; then they reach the
// file.
func TestBufferedUntilBatchSize(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir, &aetherkv.Options{BatchSize: 256})
	size := func() int64 {
		fi, err := os.Stat(filepath.Join(dir, "active.log"))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	put(t, db, "a", []byte("small"))
	if n := size(); n != 0 {
		t.Fatalf("after one small put the file holds %d bytes, want 0 (buffered)", n)
	}
	if got := get(t, db, "a"); got != "small" {
		t.Fatalf("a = %q, want it read from the buffer", got)
	}
	put(t, db, "b", make([]byte, 300))
	if n := size(); n == 0 {
		t.Fatalf("after passing BATCH_SIZE the file is still empty")
	}
}
