package aetherkv

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aether-kv/aether-kv/internal/storage"
	"github.com/aether-kv/aether-kv/internal/vfs"
	"github.com/aether-kv/aether-kv/internal/vfs/errfs"
)

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
			out := copyDir(t, dir) // as a crash leaves it, everything synced: the zeros too
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

// TestLostSectorAfterPowerCut: in a preallocated active file the size is
// durable before the records are, so a power cut can leave the sector
// where the synced records end as it was (zeros after them) while a later
// one, never synced, reached the disk. Open cuts everything from the end of the
// synced records, keeping the bytes in a .torn file, rather than refusing
// the store: nothing after such a sector can have been acknowledged.
func TestLostSectorAfterPowerCut(t *testing.T) {
	dir := t.TempDir()
	opts := &Options{SyncMode: SyncModeAlways, MergeRatio: -1}
	db := mustOpenDir(t, dir, opts)
	mustPut(t, db, "acked", "1")
	db.mu.RLock()
	ackedEnd := db.mu.log.Size()
	db.mu.RUnlock()
	mustPut(t, db, "unsynced", strings.Repeat("L", 5000)) // runs into the next pages
	mustPut(t, db, "later", "3")
	image, err := os.ReadFile(filepath.Join(dir, storage.ActiveName))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	sectorEnd := (ackedEnd/storage.SectorSize + 1) * storage.SectorSize
	clear(image[ackedEnd:sectorEnd]) // that sector as the last fsync left it
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, storage.ActiveName), image, 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := Check(out, nil, nil)
	if err != nil || rep.Corrupt() {
		t.Fatalf("Check = corrupt %v, %v; want a torn write", rep != nil && rep.Corrupt(), err)
	}
	db = mustOpenDir(t, out, opts)
	wantValue(t, db, "acked", "1")
	wantNotFound(t, db, "unsynced")
	wantNotFound(t, db, "later")
	sides, _ := filepath.Glob(filepath.Join(out, "*.torn"))
	if len(sides) != 1 {
		t.Fatalf("torn files %v, want the cut bytes kept in one", sides)
	}
	mustPut(t, db, "after", "4") // and the store takes writes again
	wantValue(t, db, "after", "4")
}

// TestFailedFillIsCutAtSeal: when writing the zeros fails and taking
// them back fails too, the zeros may remain past the records; Seal must
// still cut them, or the closed file would end in zeros and the store
// would not open again.
func TestFailedFillIsCutAtSeal(t *testing.T) {
	dir := t.TempDir()
	fs := errfs.New(vfs.Default)
	opts := &Options{SyncMode: SyncModeAlways, MergeRatio: -1, MaxFileSize: 8 << 20, preallocate: 3 << 20}
	opts.fs = fs
	db := mustOpenDir(t, dir, opts)
	writes, truncates := 0, 0
	fs.InjectFunc(func(op errfs.Op, name string) error {
		if filepath.Base(name) != storage.ActiveName {
			return nil
		}
		switch op {
		case errfs.OpWrite:
			if writes++; writes == 2 { // the second MiB of zeros
				return syscall.EIO
			}
		case errfs.OpTruncate:
			if truncates++; truncates == 1 { // taking the first back
				return syscall.EIO
			}
		}
		return nil
	})
	mustPut(t, db, "a", "1")
	fs.Reset()
	mustPut(t, db, "big", strings.Repeat("v", 8<<20-30)) // rotates: the first file is sealed
	if writes < 2 || truncates != 1 {
		t.Fatalf("%d writes and %d truncates: the faults were not injected", writes, truncates)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpenDir(t, dir, &Options{SyncMode: SyncModeAlways, MergeRatio: -1, MaxFileSize: 8 << 20})
	wantValue(t, db, "a", "1")
	wantValue(t, db, "big", strings.Repeat("v", 8<<20-30))
}

// TestOnlyAlwaysModePreallocates: in the buffered modes the active file
// must end with its last record, even once synced. Zeros made durable by
// a periodic fsync, with records written over them that reach the disk
// in any order, could leave after a power cut a lost sector that Open
// cannot tell from damage (see defaultPreallocate).
func TestOnlyAlwaysModePreallocates(t *testing.T) {
	for _, mode := range []SyncMode{SyncModeInterval, SyncModeNever, SyncModeAlways} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			db := mustOpenDir(t, dir, &Options{SyncMode: mode, MergeRatio: -1})
			for i := range 200 {
				if err := db.Put(fmt.Appendf(nil, "k%d", i), bytes.Repeat([]byte("v"), 100)); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Sync(); err != nil {
				t.Fatal(err)
			}
			size, end := fileSize(t, activeLog(dir)), logEnd(db)
			if preallocated := size > end; preallocated != (mode == SyncModeAlways) {
				t.Fatalf("active file of %d bytes, records end at %d: preallocated %t, want %t", size, end, preallocated, mode == SyncModeAlways)
			}
		})
	}
}
