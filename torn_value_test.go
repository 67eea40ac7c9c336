package aetherkv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aether-kv/aether-kv/internal/format"
)

// embedded returns an encoded record of key, as a value may hold one (a
// copy of another store's file, a record being forwarded).
func embedded(key, value string) []byte {
	return format.Append(nil, 1700000000000000000, format.FlagValue, []byte(key), []byte(value))
}

// writeOuter writes "before" and then "outer" with the given value to a
// new store, closes it without its checkpoint, and returns the directory,
// the log's bytes and the offset of outer's record.
func writeOuter(t *testing.T, value []byte) (dir string, log []byte, outer int64) {
	t.Helper()
	dir = t.TempDir()
	db := mustOpenDir(t, dir, nil)
	mustPut(t, db, "before", "kept")
	if err := db.Put([]byte("outer"), value); err != nil {
		t.Fatal(err)
	}
	db.mu.RLock()
	e, _ := db.mu.keys.Get([]byte("outer"))
	db.mu.RUnlock()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	dropCheckpoint(t, dir)
	log, err := os.ReadFile(activeLog(dir))
	if err != nil {
		t.Fatal(err)
	}
	return dir, log, e.Offset
}

// TestTornValueHoldingRecords tears the write of a value that holds
// encoded records, at many places, as a crash would. The records found
// inside the torn value must not be taken for records written after it:
// Open cuts the torn record as any other, Check calls it torn, and none
// of the embedded keys ever appears. The one place where this cannot work
// is a tear less than a header after the end of an embedded record, or
// inside one that follows a whole one: the value's records then run to
// the end of the file, as records written after damage would. There Open
// refuses, and still invents nothing.
func TestTornValueHoldingRecords(t *testing.T) {
	a, b := embedded("inner-a", "value a"), embedded("inner-b", "value b")
	padding := bytes.Repeat([]byte("p"), 6000)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	h := format.HeaderSize
	tests := []struct {
		name      string
		value     []byte
		ambiguous [2]int // tears at offsets from..to-1 of the value are ambiguous
	}{
		{"record then text", cat(a, padding), [2]int{len(a), len(a) + h}},
		{"text, record, text", cat([]byte("header:"), a, padding), [2]int{7 + len(a), 7 + len(a) + h}},
		{"two records then text", cat(a, b, padding), [2]int{len(a), len(a) + len(b) + h}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, log, outer := writeOuter(t, tt.value)
			valueAt := outer + int64(h+len("outer"))
			from, to := valueAt+int64(tt.ambiguous[0]), valueAt+int64(tt.ambiguous[1])
			cuts := []int64{from - 1, from, to - 1, to}
			for cut := outer + 1; cut < int64(len(log)); cut += 1 + (cut-outer)%97 {
				cuts = append(cuts, cut)
			}
			for _, cut := range cuts {
				checkTornValue(t, src, log[:cut], outer, cut >= from && cut < to)
			}
		})
	}
}

// checkTornValue opens a copy of the store whose log is torn to log, and
// checks what TestTornValueHoldingRecords expects of it.
func checkTornValue(t *testing.T, src string, log []byte, outer int64, ambiguous bool) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(activeLog(dir), log, 0o600); err != nil {
		t.Fatal(err)
	}
	report, err := Check(dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(dir, nil)
	if ambiguous {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("torn at %d, just after an embedded record: Open = %v, want ErrCorrupt", len(log), err)
		}
		if !report.Corrupt() {
			t.Fatalf("torn at %d, just after an embedded record: Check finds no corruption, Open refuses", len(log))
		}
		return
	}
	if err != nil {
		t.Fatalf("torn at %d (outer at %d): Open = %v", len(log), outer, err)
	}
	defer db.Close()
	if report.Corrupt() {
		t.Fatalf("torn at %d: Check calls it corruption, Open cut it: %+v", len(log), report.Files)
	}
	if got := fileSize(t, activeLog(dir)); got != outer {
		t.Fatalf("torn at %d: log is %d bytes after Open, want %d (outer's record cut)", len(log), got, outer)
	}
	wantValue(t, db, "before", "kept")
	for _, k := range []string{"outer", "inner-a", "inner-b"} {
		wantNotFound(t, db, k)
	}
	want := 1 // the torn bytes are kept aside, unless they are zeros
	if len(bytes.TrimRight(log[outer:], "\x00")) == 0 {
		want = 0
	}
	if torn, _ := filepath.Glob(filepath.Join(dir, "*.torn")); len(torn) != want {
		t.Fatalf("torn at %d: %d .torn side files, want %d", len(log), len(torn), want)
	}
}

// TestRepairKeepsNoEmbeddedRecord: Repair of a store whose last value,
// holding a record, was torn keeps the records before it and invents
// nothing from inside it.
func TestRepairKeepsNoEmbeddedRecord(t *testing.T) {
	value := append(embedded("inner-a", "value a"), bytes.Repeat([]byte("p"), 6000)...)
	src, log, outer := writeOuter(t, value)
	dir := t.TempDir()
	if err := os.WriteFile(activeLog(dir), log[:len(log)-3000], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Repair(dir, nil, nil); err != nil {
		t.Fatal(err)
	}
	db := mustOpenDir(t, dir, nil)
	defer db.Close()
	wantValue(t, db, "before", "kept")
	wantNotFound(t, db, "inner-a")
	wantNotFound(t, db, "outer")
	if n := db.Len(); n != 1 {
		t.Fatalf("%d keys after Repair, want 1 (%s, outer at %d)", n, src, outer)
	}
}

// TestSizeDamageBeforeTheEnd damages a size field in the middle of the
// log so that its record claims bytes past the end of the file, and ends
// the file as a crash may: at a record's end, with the zeros of a
// preallocated end, or with a torn record (past the end, or inside a
// preallocated file, or one whose last byte is wrong). The records after the damage
// reach the end, so Open must refuse rather than cut them as a torn
// write.
func TestSizeDamageBeforeTheEnd(t *testing.T) {
	src, offsets := writeStore(t, 20)
	full, _ := os.ReadFile(activeLog(src))
	victim := offsets[10]
	damaged := append([]byte{}, full...)
	damaged[victim+19] ^= 0x40 // the value size's top byte: the record now runs past the end
	tails := map[string][]byte{
		"records":     damaged,
		"zeros":       append(append([]byte{}, damaged...), make([]byte, 8192)...),
		"torn header": damaged[:offsets[19]+5],
		"torn value":  damaged[:len(damaged)-3],
		// In a preallocated file (SyncModeAlways) a torn record's header
		// fits in the file, and zeros follow what was written of it.
		"torn in a preallocated file": append(append([]byte{}, damaged[:len(damaged)-3]...), make([]byte, 8192+3)...),
		"last byte damaged":           append(append([]byte{}, damaged[:len(damaged)-1]...), damaged[len(damaged)-1]^0xff),
	}
	for name, log := range tails {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(activeLog(dir), log, 0o600)
			_, err := Open(dir, nil)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), fmt.Sprintf("offset %d", victim)) {
				t.Fatalf("Open = %v, want ErrCorrupt at offset %d", err, victim)
			}
			if got := fileSize(t, activeLog(dir)); got != int64(len(log)) {
				t.Fatalf("refused Open changed the log to %d bytes, want %d untouched", got, len(log))
			}
		})
	}
}
