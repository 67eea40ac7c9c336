package aetherkv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aether-kv/aether-kv/internal/storage"
)

// TestDamagedKeyIsCorrupt: Get finds a key by comparing it with the key
// in its record; a record whose key bytes were damaged at rest, in a file
// Open does not read (one with a hint file), must still be reported as
// ErrCorrupt, not hidden as ErrNotFound. In a file without a hint, Open
// finds the damage. (A snapshot of a cluster node skips keys that Get
// says are not found: hiding the damage would lose the key everywhere.)
func TestDamagedKeyIsCorrupt(t *testing.T) {
	for _, merged := range []bool{false, true} {
		t.Run(fmt.Sprintf("merged=%v", merged), func(t *testing.T) {
			dir := t.TempDir()
			db := mustOpenDir(t, dir, &Options{MergeRatio: -1})
			for _, k := range []string{"alpha", "bravo", "charlie"} {
				mustPut(t, db, k, strings.Repeat("v", 20))
			}
			if merged {
				if err := db.Merge(); err != nil {
					t.Fatal(err)
				}
			}
			db.mu.RLock()
			e, _ := db.mu.keys.Get([]byte("bravo"))
			path := db.mu.log.Path()
			db.mu.RUnlock()
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if merged { // loaded from the hint file, as after a crash
				os.Remove(filepath.Join(dir, storage.CheckpointName))
				path = filepath.Join(dir, storage.ClosedName(e.FileID))
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b[e.Offset+21] ^= 1 // the first byte of the key in its record
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if !merged { // Open checks the records of a file without a hint, checkpoint or not
				if _, err := Open(dir, &Options{MergeRatio: -1}); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Open = %v; want ErrCorrupt for the damaged record", err)
				}
				return
			}
			db = mustOpenDir(t, dir, &Options{MergeRatio: -1})
			if v, err := db.Get([]byte("bravo")); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Get(bravo) = %q, %v; want ErrCorrupt", v, err)
			}
			wantValue(t, db, "alpha", strings.Repeat("v", 20))
			wantValue(t, db, "charlie", strings.Repeat("v", 20))
		})
	}
}

// TestSmallerLimitsKeepValuesReadable: records written under a larger
// MaxValueSize and MaxKeySize stay readable after reopening with smaller
// ones (the limits bound what is written, not what was): before, a key
// longer than the new MaxKeySize made its record look damaged, and at the
// end of the log Open cut it as torn.
func TestSmallerLimitsKeepValuesReadable(t *testing.T) {
	dir := t.TempDir()
	db := mustOpenDir(t, dir, &Options{MaxValueSize: 8 << 20})
	big := strings.Repeat("x", 4<<20)
	mustPut(t, db, "big", big)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpenDir(t, dir, &Options{MaxValueSize: 1000, MaxKeySize: 2})
	if v, err := db.Get([]byte("big")); err != nil || string(v) != big {
		t.Fatalf("Get(big) after reopening with smaller limits = %d bytes, %v; want the value", len(v), err)
	}
}
