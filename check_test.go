package aetherkv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustCheck(t *testing.T, dir string) *CheckReport {
	t.Helper()
	r, err := Check(dir, nil, nil)
	if err != nil {
		t.Fatalf("Check(%s) = %v", dir, err)
	}
	return r
}

func TestCheckClean(t *testing.T) {
	dir, _ := writeStore(t, 20)
	db := mustOpenDir(t, dir, nil)
	db.Delete([]byte("k003"))
	db.Close()
	r := mustCheck(t, dir)
	if r.Corrupt() || r.Records != 21 || r.LiveKeys != 19 || len(r.Files) != 1 || len(r.Files[0].Damage) != 0 || r.Files[0].Tombstones != 1 {
		t.Fatalf("Check of a clean store = %+v, want 21 records (1 tombstone), 19 live keys, no damage", r)
	}
}

func TestCheckLocked(t *testing.T) {
	db := mustOpen(t, nil)
	if _, err := Check(db.Dir(), nil, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("Check of an open store = %v, want ErrLocked", err)
	}
}

// damageCases damage records 5 and 12 of a 20-record store in different
// ways; after repair every other record must be back.
var damageCases = []struct {
	name   string
	damage func(b []byte, off int64)
}{
	{"value bit flip", func(b []byte, off int64) { b[off+25] ^= 1 }},
	{"size field runs past the end", func(b []byte, off int64) { binary.LittleEndian.PutUint32(b[off+16:], 1<<20) }},
	{"zeroed header", func(b []byte, off int64) { clear(b[off : off+21]) }},
}

func TestCheckAndRepairMidFile(t *testing.T) {
	for _, tt := range damageCases {
		t.Run(tt.name, func(t *testing.T) {
			dir, offsets := writeStore(t, 20)
			b, _ := os.ReadFile(activeLog(dir))
			tt.damage(b, offsets[5])
			tt.damage(b, offsets[12])
			os.WriteFile(activeLog(dir), b, 0o600)

			r := mustCheck(t, dir)
			d := r.Files[0].Damage
			if !r.Corrupt() || len(d) != 2 || d[0].Offset != offsets[5] || d[1].Offset != offsets[12] ||
				d[0].Length != offsets[6]-offsets[5] || r.Records != 18 {
				t.Fatalf("Check = %d records, damage %+v; want 18 records and damage at exactly records 5 (%d) and 12 (%d)",
					r.Records, d, offsets[5], offsets[12])
			}
			if _, err := Open(dir, nil); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open before repair = %v, want ErrCorrupt", err)
			}

			_, rep, err := Repair(dir, nil, nil)
			if err != nil {
				t.Fatalf("Repair = %v", err)
			}
			if len(rep.Files) != 1 || rep.Files[0].Kept != 18 || len(rep.Files[0].Dropped) != 2 {
				t.Fatalf("Repair report = %+v, want 18 kept and 2 regions dropped", rep)
			}
			kept, err := os.ReadFile(filepath.Join(rep.Backup, "active.log"))
			if err != nil || string(kept) != string(b) {
				t.Fatalf("backup of the original: %v (same bytes: %t)", err, string(kept) == string(b))
			}
			db := mustOpenDir(t, dir, nil)
			for i := range 20 {
				key := fmt.Sprintf("k%03d", i)
				if i == 5 || i == 12 {
					wantNotFound(t, db, key)
				} else {
					wantValue(t, db, key, strings.Repeat("v", i+1))
				}
			}
			db.Close()
			if r := mustCheck(t, dir); r.Corrupt() || len(r.Files[0].Damage) != 0 {
				t.Fatalf("Check after Repair = %+v, want clean", r)
			}
		})
	}
}

func TestCheckTornTailIsNotCorruption(t *testing.T) {
	dir, offsets := writeStore(t, 10)
	b, _ := os.ReadFile(activeLog(dir))
	os.WriteFile(activeLog(dir), b[:offsets[9]+10], 0o600)
	r := mustCheck(t, dir)
	d := r.Files[0].Damage
	if r.Corrupt() || len(d) != 1 || !d[0].Torn || d[0].Offset != offsets[9] {
		t.Fatalf("Check of a torn tail = %+v; want one torn region at %d, not corrupt", d, offsets[9])
	}
}

func TestCheckAndRepairHints(t *testing.T) {
	dir := t.TempDir()
	db := mustOpenDir(t, dir, smallFiles)
	model := churn(t, db, 7, 2000)
	if err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if r := mustCheck(t, dir); r.Corrupt() {
		t.Fatalf("Check after a merge = %+v, want clean (hints valid)", r)
	}
	hints, _ := filepath.Glob(filepath.Join(dir, "*.hint"))
	b, _ := os.ReadFile(hints[0])
	b[len(b)/2] ^= 1
	os.WriteFile(hints[0], b, 0o600)
	r := mustCheck(t, dir)
	bad := 0
	for _, f := range r.Files {
		if f.HintErr != nil {
			bad++
		}
	}
	if !r.Corrupt() || bad != 1 {
		t.Fatalf("Check with one damaged hint: corrupt %t, %d bad hints; want true, 1", r.Corrupt(), bad)
	}
	if _, rep, err := Repair(dir, nil, nil); err != nil || len(rep.Files) != 1 || !rep.Files[0].HintRemoved {
		t.Fatalf("Repair = %+v, %v; want the hint moved aside", rep, err)
	}
	if _, err := os.Stat(hints[0]); !os.IsNotExist(err) {
		t.Fatalf("damaged hint still in place after Repair: %v", err)
	}
	if r := mustCheck(t, dir); r.Corrupt() {
		t.Fatalf("Check after Repair = %+v, want clean", r)
	}
	wantModel(t, mustOpenDir(t, dir, smallFiles), model)
}
