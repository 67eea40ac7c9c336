package integration

// The integrity mode.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	aetherkv "github.com/aether-kv/aether-kv"
)

func runIntegrity(cfg config, root string, r *report) {
	checks := []struct {
		name string
		fn   func(dir string, n int) (string, error)
	}{
		{"mid-file bit flip", checkMidFileFlip},
		{"last record bit flip", checkLastRecordFlip},
		{"torn tail: partial header appended", checkTornPartialHeader},
		{"torn tail: partial record appended", checkTornPartialRecord},
		{"torn tail: file cut inside the last record", checkTornTruncated},
		{"mid-file size field", checkMidFileSizeField},
		{"damage while open", checkDamageWhileOpen},
	}
	for i, c := range checks {
		dir := filepath.Join(root, fmt.Sprintf("%d-%s", i+1, strings.NewReplacer(" ", "-", ":", "").Replace(c.name)))
		detail, err := c.fn(dir, cfg.records)
		if err != nil {
			r.fail(fmt.Errorf("%s: %w (data in %s)", c.name, err, dir))
			continue
		}
		r.ok("%s: %s", c.name, detail)
	}
}

// (a) A value byte flipped in a record in the middle of the log: Open must
// refuse with ErrCorrupt naming the file and the record's offset, leave the
// file as it is, and open again once the byte is restored.
func checkMidFileFlip(dir string, n int) (string, error) {
	want, err := fillStore(dir, n)
	if err != nil {
		return "", err
	}
	recs, err := scanLog(activeLog(dir))
	if err != nil {
		return "", fmt.Errorf("before damage: %w", err)
	}
	rec := recs[len(recs)/2]
	at := rec.valueOff() + int64(rec.valLen)/2
	if err := flipByte(activeLog(dir), at); err != nil {
		return "", err
	}
	msg, err := expectRefused(dir, rec.off)
	if err != nil {
		return "", err
	}
	if err := flipByte(activeLog(dir), at); err != nil { // restore it
		return "", err
	}
	if err := reopenAndCheck(dir, want, nil); err != nil {
		return "", fmt.Errorf("after restoring the byte: %w", err)
	}
	return fmt.Sprintf("refused at open with ErrCorrupt naming active.log and offset %d (record %d of %d, byte %d flipped); log left untouched; opens with all %d values once restored. Error: %s",
		rec.off, len(recs)/2+1, len(recs), at, len(want), shortErr(msg, dir)), nil
}

// (b) A value byte flipped in the last record: nothing valid follows, so
// Open takes it for a torn write and cuts it off, saving its bytes in
// active.log.<offset>.torn. The last record overwrote a key, whose previous
// value comes back.
func checkLastRecordFlip(dir string, n int) (string, error) {
	want, err := fillStore(dir, n)
	if err != nil {
		return "", err
	}
	key := intKey(n / 3)
	if err := putAndClose(dir, key, []byte("overwritten by the last record")); err != nil {
		return "", err
	}
	recs, err := scanLog(activeLog(dir))
	if err != nil {
		return "", fmt.Errorf("before damage: %w", err)
	}
	last := recs[len(recs)-1]
	if last.key != string(key) {
		return "", fmt.Errorf("last record is of key %q, want %q", last.key, key)
	}
	if err := flipByte(activeLog(dir), last.valueOff()+2); err != nil {
		return "", err
	}
	damaged, err := os.ReadFile(activeLog(dir))
	if err != nil {
		return "", err
	}
	// want still holds the previous value of key: the one Get must return.
	if err := expectTornCut(dir, want, nil, last.off, damaged[last.off:]); err != nil {
		return "", err
	}
	return fmt.Sprintf("Open cut the damaged last record at offset %d (%d bytes, saved as active.log.%d.torn); %s has its previous value again; the other %d values exact; a Put after it survives a reopen",
		last.off, last.size(), last.off, key, len(want)-1), nil
}

// (c1) Ten bytes of a header appended to the log, as a crash in the middle
// of writing one would leave.
func checkTornPartialHeader(dir string, n int) (string, error) {
	return checkTornAppend(dir, n, 10)
}

// (c2) The first 30 bytes of a record (header and part of the key)
// appended to the log.
func checkTornPartialRecord(dir string, n int) (string, error) {
	return checkTornAppend(dir, n, 30)
}

func checkTornAppend(dir string, n, partial int) (string, error) {
	want, err := fillStore(dir, n)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(activeLog(dir))
	if err != nil {
		return "", err
	}
	tail := encodeRecord(uint64(time.Now().UnixNano()), 0, []byte("torn-key"), bytes.Repeat([]byte("v"), 100))[:partial]
	if err := appendFile(activeLog(dir), tail); err != nil {
		return "", err
	}
	if err := expectTornCut(dir, want, [][]byte{[]byte("torn-key")}, fi.Size(), tail); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d bytes of a %d-byte record after %d good records: Open cut them at offset %d (saved as .torn); all %d values exact; a Put after it survives a reopen",
		partial, headerSize+8+100, n, fi.Size(), len(want)), nil
}

// (c3) The log cut in the middle of its last record's value.
func checkTornTruncated(dir string, n int) (string, error) {
	want, err := fillStore(dir, n)
	if err != nil {
		return "", err
	}
	recs, err := scanLog(activeLog(dir))
	if err != nil {
		return "", err
	}
	last := recs[len(recs)-1]
	cut := last.valueOff() + int64(last.valLen)/2
	whole, err := os.ReadFile(activeLog(dir))
	if err != nil {
		return "", err
	}
	if err := os.Truncate(activeLog(dir), cut); err != nil {
		return "", err
	}
	delete(want, last.key)
	if err := expectTornCut(dir, want, [][]byte{[]byte(last.key)}, last.off, whole[last.off:cut]); err != nil {
		return "", err
	}
	return fmt.Sprintf("log cut at %d, inside the last record (offset %d, %d bytes): Open cut it; %s is ErrNotFound; the other %d values exact; a Put after it survives a reopen",
		cut, last.off, last.size(), last.key, len(want)), nil
}

// (d) The value size of a record in the middle made so large that the
// record seems to run past the end of the file. Valid records follow, so it
// is corruption, not a torn tail: Open must refuse and cut nothing.
func checkMidFileSizeField(dir string, n int) (string, error) {
	if _, err := fillStore(dir, n); err != nil {
		return "", err
	}
	recs, err := scanLog(activeLog(dir))
	if err != nil {
		return "", err
	}
	rec := recs[len(recs)/2]
	fi, err := os.Stat(activeLog(dir))
	if err != nil {
		return "", err
	}
	var size [4]byte
	binary.LittleEndian.PutUint32(size[:], uint32(fi.Size()))
	if err := writeAt(activeLog(dir), rec.off+16, size[:]); err != nil {
		return "", err
	}
	msg, err := expectRefused(dir, rec.off)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("value size of record %d (offset %d) set to %d, past the end: refused at open with ErrCorrupt naming active.log and offset %d, nothing cut. Error: %s",
		len(recs)/2+1, rec.off, fi.Size(), rec.off, shortErr(msg, dir)), nil
}

// (e) A flushed record's value damaged in the file while the store is
// open: Get must report ErrCorrupt, never the damaged value; other keys
// still read; and the next Open refuses the log.
func checkDamageWhileOpen(dir string, n int) (string, error) {
	db, err := aetherkv.Open(dir, nil)
	if err != nil {
		return "", err
	}
	defer db.Close()
	want := make(map[string][]byte)
	for i := range n {
		k, v := intKey(i), intValue(i)
		if err := db.Put(k, v); err != nil {
			return "", fmt.Errorf("put %s: %w", k, err)
		}
		want[string(k)] = v
	}
	if err := db.Sync(); err != nil {
		return "", fmt.Errorf("sync: %w", err)
	}
	recs, err := scanLog(activeLog(dir))
	if err != nil {
		return "", fmt.Errorf("after Sync: %w", err)
	}
	if len(recs) != n {
		return "", fmt.Errorf("after Sync, active.log holds %d records, want %d (Sync flushes every acknowledged write)", len(recs), n)
	}
	rec := recs[n/2]
	if err := flipByte(activeLog(dir), rec.valueOff()+1); err != nil {
		return "", err
	}
	got, err := db.Get([]byte(rec.key))
	switch {
	case err == nil:
		return "", fmt.Errorf("Get(%s) of a damaged record = %q, nil error; want ErrCorrupt", rec.key, clip(got))
	case !errors.Is(err, aetherkv.ErrCorrupt):
		return "", fmt.Errorf("Get(%s) of a damaged record: %v; want an error wrapping ErrCorrupt", rec.key, err)
	case got != nil:
		return "", fmt.Errorf("Get(%s) returned %q with its error; want no value", rec.key, clip(got))
	}
	getErr := err.Error()
	if err := mentionsFileAndOffset(getErr, rec.off); err != nil {
		return "", fmt.Errorf("Get error: %w", err)
	}
	delete(want, rec.key)
	if err := checkGets(db, want, nil); err != nil {
		return "", fmt.Errorf("other keys after the damage: %w", err)
	}
	if err := db.Close(); err != nil {
		return "", fmt.Errorf("close: %w", err)
	}
	if _, err := expectRefused(dir, rec.off); err != nil {
		return "", fmt.Errorf("reopen after the damage: %w", err)
	}
	return fmt.Sprintf("value of %s (offset %d) damaged after Sync: Get returns ErrCorrupt and no value; the other %d keys read; reopen refused. Get error: %s",
		rec.key, rec.off, len(want), shortErr(getErr, dir)), nil
}
