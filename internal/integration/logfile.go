package integration

// Helpers of the integrity mode: records in data files, damage, checks.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	aetherkv "github.com/aether-kv/aether-kv"
)

const headerSize = 21

func activeLog(dir string) string { return filepath.Join(dir, "active.log") }

func intKey(i int) []byte { return fmt.Appendf(nil, "key-%04d", i) }

// intValue varies in length, so that records are not all the same size.
func intValue(i int) []byte {
	return fmt.Appendf(nil, "value-%04d-%s", i, strings.Repeat("x", 20+(i*13)%80))
}

// fillStore writes n records of distinct keys and closes the store.
func fillStore(dir string, n int) (map[string][]byte, error) {
	db, err := aetherkv.Open(dir, nil)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	want := make(map[string][]byte, n)
	for i := range n {
		k, v := intKey(i), intValue(i)
		if err := db.Put(k, v); err != nil {
			db.Close()
			return nil, fmt.Errorf("put %s: %w", k, err)
		}
		want[string(k)] = v
	}
	if err := db.Close(); err != nil {
		return nil, fmt.Errorf("close: %w", err)
	}
	return want, nil
}

func putAndClose(dir string, key, value []byte) error {
	db, err := aetherkv.Open(dir, nil)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	if err := db.Put(key, value); err != nil {
		db.Close()
		return fmt.Errorf("put %s: %w", key, err)
	}
	return db.Close()
}

// logRecord locates a record found in a data file.
type logRecord struct {
	off            int64
	keyLen, valLen int
	flag           byte
	key            string
}

func (r logRecord) valueOff() int64 { return r.off + headerSize + int64(r.keyLen) }
func (r logRecord) size() int64     { return headerSize + int64(r.keyLen) + int64(r.valLen) }

// scanLog parses a data file by the documented format and checks every
// record: sizes within the file, a known flag, and the CRC-32 (IEEE) of
// bytes [4:] of the record. Zeros from some record's end to the end of
// the file are the space an open store preallocates, not records.
func scanLog(path string) ([]logRecord, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var recs []logRecord
	for off := int64(0); off < int64(len(b)); {
		if allZero(b[off:]) {
			break // the space preallocated past the records of an open store
		}
		if int64(len(b))-off < headerSize {
			return nil, fmt.Errorf("%s: %d bytes at offset %d, less than a header", path, int64(len(b))-off, off)
		}
		h := b[off:]
		r := logRecord{
			off:    off,
			keyLen: int(binary.LittleEndian.Uint32(h[12:16])),
			valLen: int(binary.LittleEndian.Uint32(h[16:20])),
			flag:   h[20],
		}
		if r.size() > int64(len(h)) {
			return nil, fmt.Errorf("%s: record at offset %d runs past the end", path, off)
		}
		if r.flag > 1 {
			return nil, fmt.Errorf("%s: record at offset %d has flag %d", path, off, r.flag)
		}
		if sum := crc32.ChecksumIEEE(h[4:r.size()]); sum != binary.LittleEndian.Uint32(h[0:4]) {
			return nil, fmt.Errorf("%s: record at offset %d: CRC %08x, header says %08x", path, off, sum, binary.LittleEndian.Uint32(h))
		}
		r.key = string(h[headerSize : headerSize+r.keyLen])
		recs = append(recs, r)
		off += r.size()
	}
	return recs, nil
}

// allZero reports whether b holds only zeros.
func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// encodeRecord encodes a record by the documented format.
func encodeRecord(ts uint64, flag byte, key, value []byte) []byte {
	b := make([]byte, headerSize, headerSize+len(key)+len(value))
	binary.LittleEndian.PutUint64(b[4:12], ts)
	binary.LittleEndian.PutUint32(b[12:16], uint32(len(key)))
	binary.LittleEndian.PutUint32(b[16:20], uint32(len(value)))
	b[20] = flag
	b = append(append(b, key...), value...)
	binary.LittleEndian.PutUint32(b[0:4], crc32.ChecksumIEEE(b[4:]))
	return b
}

// flipByte inverts every bit of the byte at off.
func flipByte(path string, off int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		return fmt.Errorf("read %s at %d: %w", path, off, err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b[:], off); err != nil {
		return fmt.Errorf("write %s at %d: %w", path, off, err)
	}
	return f.Sync()
}

func writeAt(path string, off int64, p []byte) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteAt(p, off); err != nil {
		return fmt.Errorf("write %s at %d: %w", path, off, err)
	}
	return f.Sync()
}

func appendFile(path string, p []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(p); err != nil {
		return fmt.Errorf("append to %s: %w", path, err)
	}
	return f.Sync()
}

// expectRefused checks that Open fails with ErrCorrupt naming active.log
// and offset off, and that it changed nothing: same bytes, no .torn file.
// It returns the error message.
func expectRefused(dir string, off int64) (string, error) {
	before, err := os.ReadFile(activeLog(dir))
	if err != nil {
		return "", err
	}
	db, openErr := aetherkv.Open(dir, nil)
	if openErr == nil {
		db.Close()
		return "", fmt.Errorf("Open succeeded; want an error wrapping ErrCorrupt for the record at offset %d", off)
	}
	if !errors.Is(openErr, aetherkv.ErrCorrupt) {
		return "", fmt.Errorf("Open: %v; want an error wrapping ErrCorrupt", openErr)
	}
	if err := mentionsFileAndOffset(openErr.Error(), off); err != nil {
		return "", fmt.Errorf("Open error: %w", err)
	}
	after, err := os.ReadFile(activeLog(dir))
	if err != nil {
		return "", err
	}
	if !bytes.Equal(before, after) {
		return "", fmt.Errorf("a refused Open changed active.log (%d bytes before, %d after)", len(before), len(after))
	}
	if torn, _ := filepath.Glob(filepath.Join(dir, "*.torn")); len(torn) > 0 {
		return "", fmt.Errorf("a refused Open left torn files %q: it treated the damage as a torn tail", torn)
	}
	return openErr.Error(), nil
}

// mentionsFileAndOffset checks that msg names active.log and off (as a
// whole decimal number).
func mentionsFileAndOffset(msg string, off int64) error {
	if !strings.Contains(msg, "active.log") {
		return fmt.Errorf("%q does not name active.log", msg)
	}
	if !regexp.MustCompile(`(^|\D)` + strconv.FormatInt(off, 10) + `(\D|$)`).MatchString(msg) {
		return fmt.Errorf("%q does not name the offset %d of the damaged record", msg, off)
	}
	return nil
}

// expectTornCut checks an Open that must cut a torn tail at off: it
// succeeds; active.log is off bytes long; active.log.<off>.torn holds
// exactly tail; want holds, and each of absent is ErrNotFound. Then a Put
// must survive a reopen that cuts nothing more.
func expectTornCut(dir string, want map[string][]byte, absent [][]byte, off int64, tail []byte) error {
	db, err := aetherkv.Open(dir, nil)
	if err != nil {
		return fmt.Errorf("Open: %w; want it to cut the torn tail at offset %d", err, off)
	}
	defer db.Close()
	if fi, err := os.Stat(activeLog(dir)); err != nil {
		return err
	} else if fi.Size() != off {
		return fmt.Errorf("after Open active.log is %d bytes, want %d (cut at the torn record)", fi.Size(), off)
	}
	side := activeLog(dir) + "." + strconv.FormatInt(off, 10) + ".torn"
	saved, err := os.ReadFile(side)
	if err != nil {
		torn, _ := filepath.Glob(filepath.Join(dir, "*.torn"))
		return fmt.Errorf("torn bytes not saved as %s: %w (torn files: %q)", filepath.Base(side), err, torn)
	}
	if !bytes.Equal(saved, tail) {
		return fmt.Errorf("%s holds %d bytes, want the %d bytes cut", filepath.Base(side), len(saved), len(tail))
	}
	if err := checkValues(db, want, absent); err != nil {
		return fmt.Errorf("after cutting: %w", err)
	}

	newKey, newValue := []byte("written-after-the-cut"), []byte("still here after another reopen")
	if err := db.Put(newKey, newValue); err != nil {
		return fmt.Errorf("put after the cut: %w", err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("close after the cut: %w", err)
	}
	if _, err := scanLog(activeLog(dir)); err != nil {
		return fmt.Errorf("log after the cut and a Put: %w", err)
	}
	all := merged(want, map[string][]byte{string(newKey): newValue})
	if err := reopenAndCheck(dir, all, absent); err != nil {
		return fmt.Errorf("second reopen: %w", err)
	}
	if torn, _ := filepath.Glob(filepath.Join(dir, "*.torn")); len(torn) != 1 {
		return fmt.Errorf("after the second reopen: torn files %q, want only %s", torn, filepath.Base(side))
	}
	return nil
}

// reopenAndCheck opens dir, checks its values and closes it.
func reopenAndCheck(dir string, want map[string][]byte, absent [][]byte) error {
	db, err := aetherkv.Open(dir, nil)
	if err != nil {
		return fmt.Errorf("Open: %w", err)
	}
	if err := checkValues(db, want, absent); err != nil {
		db.Close()
		return err
	}
	return db.Close()
}

// checkValues checks that each key of want has exactly its value, each key
// of absent is ErrNotFound, and Len() is len(want).
func checkValues(db *aetherkv.DB, want map[string][]byte, absent [][]byte) error {
	if err := checkGets(db, want, absent); err != nil {
		return err
	}
	if got := db.Len(); got != len(want) {
		return fmt.Errorf("Len() = %d, want %d", got, len(want))
	}
	return nil
}

// checkGets checks that each key of want has exactly its value and each
// key of absent is ErrNotFound.
func checkGets(db *aetherkv.DB, want map[string][]byte, absent [][]byte) error {
	for k, w := range want {
		got, err := db.Get([]byte(k))
		if err != nil {
			return fmt.Errorf("Get(%s): %w", k, err)
		}
		if !bytes.Equal(got, w) {
			return fmt.Errorf("Get(%s) = %q, want %q", k, clip(got), clip(w))
		}
	}
	for _, k := range absent {
		if got, err := db.Get(k); !errors.Is(err, aetherkv.ErrNotFound) {
			return fmt.Errorf("Get(%s) = %q, %v; want ErrNotFound", k, clip(got), err)
		}
	}
	return nil
}

// merged merges maps into a new one; later ones win.
func merged(ms ...map[string][]byte) map[string][]byte {
	out := make(map[string][]byte)
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// clip shortens a value for a message.
func clip(b []byte) string {
	if len(b) > 60 {
		return string(b[:60]) + "..."
	}
	return string(b)
}

// shortErr keeps an error message readable: the temporary directory
// becomes "<dir>", and advice after the first "; " is dropped.
func shortErr(msg, dir string) string {
	msg, _, _ = strings.Cut(strings.ReplaceAll(msg, dir, "<dir>"), "; ")
	return msg
}
