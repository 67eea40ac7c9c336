package aetherkv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aether-kv/aether-kv/internal/storage"
)

// writeStore creates a store in a new directory with n keys "k%03d" whose
// values grow with i, and returns the directory and each record's offset.
// The store is closed, without its key-directory checkpoint: the next Open
// reads the data file, as after a crash, and so finds any damage done to
// it.
func writeStore(t *testing.T, n int) (dir string, offsets []int64) {
	t.Helper()
	dir = t.TempDir()
	db, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		mustPut(t, db, fmt.Sprintf("k%03d", i), strings.Repeat("v", i+1))
	}
	db.mu.RLock()
	for i := range n {
		e, _ := db.mu.keys.Get([]byte(fmt.Sprintf("k%03d", i)))
		offsets = append(offsets, e.Offset)
	}
	db.mu.RUnlock()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	dropCheckpoint(t, dir)
	return dir, offsets
}

// dropCheckpoint removes the key-directory checkpoint of a closed store.
func dropCheckpoint(t *testing.T, dir string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, storage.CheckpointName)); err != nil {
		t.Fatal(err)
	}
}

func activeLog(dir string) string { return filepath.Join(dir, "active.log") }

// TestTornTailEveryOffset cuts the log inside its last record at every
// byte, as a crash mid-append would, and checks that Open cuts the torn
// record, keeps everything before it, and accepts new writes that survive.
func TestTornTailEveryOffset(t *testing.T) {
	const n = 20
	src, offsets := writeStore(t, n)
	full, err := os.ReadFile(activeLog(src))
	if err != nil {
		t.Fatal(err)
	}
	last := offsets[n-1]
	for cut := last; cut < int64(len(full)); cut++ {
		dir := t.TempDir()
		if err := os.WriteFile(activeLog(dir), full[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := Open(dir, nil)
		if err != nil {
			t.Fatalf("cut at %d: Open = %v", cut, err)
		}
		if got := fileSize(t, activeLog(dir)); got != last {
			t.Fatalf("cut at %d: log is %d bytes after Open, want %d (the last whole record's end)", cut, got, last)
		}
		for i := range n - 1 {
			wantValue(t, db, fmt.Sprintf("k%03d", i), strings.Repeat("v", i+1))
		}
		wantNotFound(t, db, fmt.Sprintf("k%03d", n-1))
		if cut > last {
			torn, _ := filepath.Glob(filepath.Join(dir, "*.torn"))
			if len(torn) != 1 {
				t.Fatalf("cut at %d: %d .torn side files, want 1", cut, len(torn))
			}
		}
		mustPut(t, db, "after", "crash")
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db = mustOpenDir(t, dir, nil)
		wantValue(t, db, "after", "crash")
		db.Close()
	}
}

// TestGarbageTail appends zeros or random bytes after the last record.
func TestGarbageTail(t *testing.T) {
	src, _ := writeStore(t, 10)
	full, _ := os.ReadFile(activeLog(src))
	for _, k := range []int{1, 20, 21, 64, 511, 512, 4096, 65536} {
		for _, kind := range []string{"zero", "random"} {
			t.Run(fmt.Sprintf("%s-%d", kind, k), func(t *testing.T) {
				tail := make([]byte, k)
				if kind == "random" {
					for i := range tail {
						tail[i] = byte(i*131 + 7) // deterministic noise
					}
				}
				dir := t.TempDir()
				os.WriteFile(activeLog(dir), append(append([]byte{}, full...), tail...), 0o600)
				db := mustOpenDir(t, dir, nil)
				if got := fileSize(t, activeLog(dir)); got != int64(len(full)) {
					t.Fatalf("log is %d bytes after Open, want %d", got, len(full))
				}
				wantValue(t, db, "k009", strings.Repeat("v", 10))
			})
		}
	}
}

// TestMidFileDamage damages one record in the middle of the log, in each
// field of it. Open must refuse with ErrCorrupt naming file and offset,
// and must not cut the valid records that follow.
func TestMidFileDamage(t *testing.T) {
	src, offsets := writeStore(t, 20)
	full, _ := os.ReadFile(activeLog(src))
	victim := offsets[10]
	tests := []struct {
		name string
		at   int64 // byte of the record to damage
		xor  byte
	}{
		{"crc", 0, 0x01},
		{"timestamp", 5, 0x80},
		{"key size grows past the end", 15, 0x7f},
		{"key size shrinks", 12, 0x01},
		{"value size grows past the end", 19, 0x40},
		{"flag", 20, 0x02},
		{"key", 22, 0x20},
		{"value", 25, 0x01},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			b := append([]byte{}, full...)
			b[victim+tt.at] ^= tt.xor
			os.WriteFile(activeLog(dir), b, 0o600)
			_, err := Open(dir, nil)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %v, want ErrCorrupt", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "active.log") || !strings.Contains(msg, fmt.Sprintf("offset %d", victim)) {
				t.Fatalf("Open = %q, want it to name active.log and offset %d", msg, victim)
			}
			if got := fileSize(t, activeLog(dir)); got != int64(len(full)) {
				t.Fatalf("refused Open changed the log to %d bytes, want %d untouched", got, len(full))
			}
		})
	}
}

// TestCorruptOnGet damages a flushed value while the store is open: Get
// must report ErrCorrupt with the file and offset, never the damaged
// bytes (Get reads it without the DB's lock: read.go).
func TestCorruptOnGet(t *testing.T) {
	db := mustOpen(t, nil)
	mustPut(t, db, "a", "apple")
	mustPut(t, db, "b", "banana")
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(activeLog(db.Dir()), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("X"), int64(21+1+2)) // inside "apple"
	f.Close()
	v, err := db.Get([]byte("a"))
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Get of a damaged value = %q, %v; want ErrCorrupt", v, err)
	}
	if !strings.Contains(err.Error(), "active.log") || !strings.Contains(err.Error(), "at offset 0") {
		t.Fatalf("Get's ErrCorrupt does not name the file and offset: %v", err)
	}
	wantValue(t, db, "b", "banana")
}

// TestForeignLog opens a directory holding only an active.log written by
// an independent encoder of the seed's format.
func TestForeignLog(t *testing.T) {
	var log []byte
	add := func(ts uint64, flag byte, key, value string) {
		rec := make([]byte, 21, 21+len(key)+len(value))
		binary.LittleEndian.PutUint64(rec[4:], ts)
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(key)))
		binary.LittleEndian.PutUint32(rec[16:], uint32(len(value)))
		rec[20] = flag
		rec = append(append(rec, key...), value...)
		binary.LittleEndian.PutUint32(rec[0:], crc32.ChecksumIEEE(rec[4:]))
		log = append(log, rec...)
	}
	add(1700000000000000000, 0, "user:1", "John Doe")
	add(1700000000000000001, 0, "user:2", "Jane")
	add(1700000000000000002, 1, "user:2", "")
	add(1600000000000000000, 0, "user:3", "older timestamp, later in the log")
	add(1600000000000000000, 0, "user:3", "last in the log wins")
	dir := t.TempDir()
	os.WriteFile(activeLog(dir), log, 0o600)
	db := mustOpenDir(t, dir, nil)
	wantValue(t, db, "user:1", "John Doe")
	wantNotFound(t, db, "user:2")
	wantValue(t, db, "user:3", "last in the log wins")
	mustPut(t, db, "user:4", "new")
	db.Close()

	// What we appended must read back with the same independent decoder.
	b, _ := os.ReadFile(activeLog(dir))
	rest := b[len(log):]
	if got := crc32.ChecksumIEEE(rest[4:]); got != binary.LittleEndian.Uint32(rest) {
		t.Fatalf("appended record CRC %08x, header says %08x", got, binary.LittleEndian.Uint32(rest))
	}
	ks, vs := binary.LittleEndian.Uint32(rest[12:]), binary.LittleEndian.Uint32(rest[16:])
	if k, v := string(rest[21:21+ks]), string(rest[21+ks:21+ks+vs]); k != "user:4" || v != "new" || rest[20] != 0 {
		t.Fatalf("appended record = %q=%q flag %d, want user:4=new flag 0", k, v, rest[20])
	}
}

// TestHostileSizes checks that absurd size fields are refused without
// allocating what they claim, at the tail (torn) and in the middle.
func TestHostileSizes(t *testing.T) {
	src, offsets := writeStore(t, 5)
	full, _ := os.ReadFile(activeLog(src))
	for _, size := range []uint32{0xFFFFFFFF, 1 << 30, 0} {
		t.Run(fmt.Sprintf("keysize=%#x", size), func(t *testing.T) {
			dir := t.TempDir()
			b := append([]byte{}, full...)
			binary.LittleEndian.PutUint32(b[offsets[2]+12:], size)
			os.WriteFile(activeLog(dir), b, 0o600)
			if _, err := Open(dir, nil); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %v, want ErrCorrupt", err)
			}
		})
	}
}
