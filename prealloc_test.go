package aetherkv

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aether-kv/aether-kv/internal/storage"
)

// copyFiles copies the files of dir into a new directory, as a crash would
// leave them with everything synced: the zeros past the last record too.
func copyFiles(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "LOCK" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestPreallocatedCrash opens a copy of a SyncModeAlways store taken while
// it was open, so its active file ends in preallocated zeros: every key is
// there, the zeros are cut off quietly (no .torn file), and a torn record
// written over them is saved without the zeros.
func TestPreallocatedCrash(t *testing.T) {
	dir := t.TempDir()
	db := mustOpenDir(t, dir, &Options{SyncMode: SyncModeAlways, MaxFileSize: 64 << 10, preallocate: 16 << 10, MergeRatio: -1})
	want := map[string]string{}
	for i := range 1000 {
		k, v := fmt.Sprintf("key-%04d", i), fmt.Sprintf("value-%d", i)
		if err := db.Put([]byte(k), []byte(v)); err != nil {
			t.Fatal(err)
		}
		want[k] = v
	}
	active := filepath.Join(dir, storage.ActiveName)
	fi, err := os.Stat(active)
	if err != nil {
		t.Fatal(err)
	}
	records := db.mu.log.Size()
	if fi.Size() <= records {
		t.Fatalf("active file of %d bytes with %d bytes of records: not preallocated", fi.Size(), records)
	}

	for _, torn := range []bool{false, true} {
		t.Run(fmt.Sprintf("torn=%v", torn), func(t *testing.T) {
			out := copyFiles(t, dir)
			garbage := []byte("\x01\x02\x03torn-record")
			if torn {
				f, err := os.OpenFile(filepath.Join(out, storage.ActiveName), os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.WriteAt(garbage, records); err != nil {
					t.Fatal(err)
				}
				f.Close()
			}
			rep, err := Check(out, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			last := rep.Files[len(rep.Files)-1]
			if rep.Corrupt() || (!torn && (last.Preallocated == 0 || len(last.Damage) != 0)) {
				t.Fatalf("Check: corrupt %v, last file %+v; want preallocated space and no damage", rep.Corrupt(), last)
			}
			reopened := mustOpenDir(t, out, &Options{SyncMode: SyncModeAlways, MergeRatio: -1})
			for k, v := range want {
				if got, err := reopened.Get([]byte(k)); err != nil || string(got) != v {
					t.Fatalf("Get(%s) = %q, %v, want %q", k, got, err, v)
				}
			}
			if fi, _ := os.Stat(filepath.Join(out, storage.ActiveName)); fi.Size() != records {
				t.Errorf("active file of %d bytes after reopening, want its %d bytes of records", fi.Size(), records)
			}
			sides, _ := filepath.Glob(filepath.Join(out, "*.torn"))
			switch {
			case !torn && len(sides) != 0:
				t.Errorf("torn files %v for preallocated zeros alone", sides)
			case torn && len(sides) != 1:
				t.Errorf("torn files %v, want one", sides)
			case torn:
				b, _ := os.ReadFile(sides[0])
				if !bytes.Equal(b, garbage) || !strings.Contains(sides[0], fmt.Sprint(records)) {
					t.Errorf("torn file %s holds %q, want %q", sides[0], b, garbage)
				}
			}
		})
	}
}
