package aetherkv

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/aether-kv/aether-kv/internal/format"
	"github.com/aether-kv/aether-kv/internal/keydir"
	"github.com/aether-kv/aether-kv/internal/storage"
	"github.com/aether-kv/aether-kv/internal/vfs"
)

// CheckReport is what Check found in a data directory.
type CheckReport struct {
	Files    []FileCheck
	Records  int64 // valid records in all data files
	LiveKeys int   // keys the valid records hold
}

// Corrupt reports whether any data file holds damage that Open refuses,
// or any hint file is invalid. A torn tail alone is not corruption: Open
// cuts it.
func (r *CheckReport) Corrupt() bool {
	for _, f := range r.Files {
		if f.HintErr != nil {
			return true
		}
		for _, d := range f.Damage {
			if !d.Torn {
				return true
			}
		}
	}
	return false
}

// FileCheck is what Check found in one data file.
type FileCheck struct {
	Name       string
	Size       int64
	Records    int64 // valid records
	Tombstones int64 // valid tombstones among them
	Damage     []Damage
	HasHint    bool
	HintErr    error // why the hint file is invalid, if it is
	// Preallocated counts the zeros past the last record of the active
	// file: space SyncModeAlways fills ahead of its writes, which Open
	// cuts off. It is not damage.
	Preallocated int64
}

// Damage is a region of a data file that holds no valid record: from a
// record that fails its checks to the next valid record, or the end.
type Damage struct {
	Offset, Length int64
	Reason         error
	Torn           bool // at the end of the active file, a write torn by a crash (storage.TornLast): Open cuts it
}

// Check reads every data and hint file in dir and verifies every record,
// without changing anything. Unlike Open it does not stop at the first
// bad record: it finds the next valid one and goes on, so the report
// lists every damaged region. It takes the directory's lock, so it fails
// with ErrLocked while a store has dir open. progress, if not nil, is
// called with the bytes read so far and the total.
func Check(dir string, opts *Options, progress func(done, total int64)) (*CheckReport, error) {
	c, err := newChecker(dir, opts, progress)
	if err != nil {
		return nil, err
	}
	defer c.lock.Close()
	return c.run()
}

type checker struct {
	dir      string
	opts     *Options
	lock     interface{ Close() error }
	files    []storage.DataFile
	total    int64
	done     int64
	progress func(done, total int64)
}

func newChecker(dir string, opts *Options, progress func(done, total int64)) (*checker, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	if fi, err := o.fs.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("aetherkv: check %s: not a data directory", dir)
	}
	lock, err := storage.Lock(o.fs, dir)
	if err != nil {
		return nil, fmt.Errorf("aetherkv: check: %w", err)
	}
	files, err := storage.ListDataFiles(o.fs, dir)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("aetherkv: check: %w", err)
	}
	c := &checker{dir: dir, opts: o, lock: lock, files: files, progress: progress}
	for _, df := range files {
		if fi, err := o.fs.Stat(filepath.Join(dir, df.Name)); err == nil {
			c.total += fi.Size()
		}
	}
	return c, nil
}

func (c *checker) run() (*CheckReport, error) {
	r := &CheckReport{}
	keys := keydir.New()
	for i, df := range c.files {
		fc, err := c.checkFile(df, i == len(c.files)-1, keys)
		if errors.Is(err, os.ErrNotExist) {
			continue // no active file yet
		}
		if err != nil {
			return nil, fmt.Errorf("aetherkv: check: %w", err)
		}
		r.Files = append(r.Files, *fc)
		r.Records += fc.Records
	}
	now := time.Now().UnixNano()
	keys.Range(func(_ []byte, e keydir.Entry) bool {
		if !e.Expired(now) {
			r.LiveKeys++
		}
		return true
	})
	return r, nil
}

// checkFile scans one data file to its end, region by region, applying
// its valid records to keys, and verifies its hint file against it.
func (c *checker) checkFile(df storage.DataFile, active bool, keys *keydir.Keydir) (*FileCheck, error) {
	path := filepath.Join(c.dir, df.Name)
	f, err := c.opts.fs.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	fc := &FileCheck{Name: df.Name, Size: fi.Size()}
	rp := &replay{file: df.ID, apply: func(key []byte, tombstone bool, e keydir.Entry) {
		if tombstone {
			keys.Delete(key)
		} else {
			keys.Put(key, e)
		}
	}}
	// A damaged region ends the batch in progress: its records before the
	// damage cannot be trusted to be all of it.
	interrupted := func(at int64) {
		if from, ok := rp.open(); ok {
			fc.Damage = append(fc.Damage, Damage{Offset: from, Length: at - from,
				Reason: fmt.Errorf("batch cut short by damage at offset %d: %w", at, errIncompleteBatch)})
			rp.drop()
		}
	}
	err = c.eachValidRecord(f, path, fi.Size(), active, fc, interrupted, func(r *storage.Scanned) {
		if format.IsTombstone(r.Header.Flag) {
			fc.Tombstones++
		}
		var be *batchError
		if err := rp.record(r); errors.As(err, &be) {
			fc.Damage = append(fc.Damage, Damage{Offset: be.From, Length: be.To - be.From, Reason: be})
		}
	})
	if err != nil {
		return nil, err
	}
	if from, ok := rp.open(); ok { // a batch without its commit at the end
		fc.Damage = append(fc.Damage, Damage{Offset: from, Length: fi.Size() - fc.Preallocated - from, Torn: active,
			Reason: fmt.Errorf("batch without its commit record: %w", errIncompleteBatch)})
	}
	fc.Damage = mergeDamage(fc.Damage)
	if !active {
		c.checkHint(df, f, fi.Size(), fc)
	}
	return fc, nil
}

// eachValidRecord calls fn for every valid record of a data file, and
// records the damaged regions between them in fc, calling interrupted with
// the offset where each begins.
func (c *checker) eachValidRecord(f vfs.File, path string, size int64, active bool, fc *FileCheck, interrupted func(at int64), fn func(*storage.Scanned)) error {
	for from := int64(0); from < size; {
		s := storage.NewScannerFrom(f, path, from, size, MaxKeySizeLimit)
		for s.Next() {
			fn(s.Record())
			fc.Records++
		}
		c.report(s.Offset() - from)
		if s.Err() == nil {
			return nil
		}
		if !errors.Is(s.Err(), format.ErrCorrupt) {
			return s.Err()
		}
		bad := s.Offset()
		if active {
			zeros, err := storage.AllZeros(f, bad, size)
			if err != nil {
				return err
			}
			if zeros { // the end of the records: as at the end of the file
				fc.Preallocated = size - bad
				return nil
			}
			if lost, err := storage.ZerosToSector(f, bad, size); err != nil {
				return err
			} else if lost { // sectors lost in a power cut: a torn write, as Open sees it (a batch open here is torn with it)
				fc.Damage = append(fc.Damage, Damage{Offset: bad, Length: size - bad, Torn: true,
					Reason: fmt.Errorf("zeros to the end of the sector, then what a power cut left of unsynced writes: %w", format.ErrCorrupt)})
				return nil
			}
		}
		interrupted(bad)
		var re *storage.RecordError
		reason := s.Err()
		if errors.As(reason, &re) {
			reason = re.Err
		}
		if active { // a write torn by a crash, as Open sees it: what is left is the torn record's
			torn, err := storage.TornLast(f, bad, size, MaxKeySizeLimit)
			if err != nil {
				return err
			}
			if torn {
				fc.Damage = append(fc.Damage, Damage{Offset: bad, Length: size - bad, Reason: reason, Torn: true})
				c.report(size - bad)
				return nil
			}
		}
		next, err := storage.NextValid(f, bad, size, MaxKeySizeLimit)
		if err != nil {
			return err
		}
		end := next
		if next < 0 {
			end = size
		}
		fc.Damage = append(fc.Damage, Damage{Offset: bad, Length: end - bad, Reason: reason})
		c.report(end - bad)
		from = end
	}
	return nil
}

// checkHint verifies the hint file of a closed data file, and that each of
// its entries describes the record at its offset in the data file.
func (c *checker) checkHint(df storage.DataFile, data vfs.File, size int64, fc *FileCheck) {
	b, err := vfs.ReadFile(c.opts.fs, filepath.Join(c.dir, storage.HintName(df.ID)))
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	fc.HasHint = true
	if err != nil {
		fc.HintErr = err
		return
	}
	buf := make([]byte, format.HeaderSize)
	err = format.DecodeHints(b, size, MaxKeySizeLimit, func(e format.HintEntry) {
		if fc.HintErr != nil {
			return
		}
		buf = growBuf(buf, format.HeaderSize+len(e.Key))
		if _, err := data.ReadAt(buf, e.Offset); err != nil {
			fc.HintErr = fmt.Errorf("read the record of hint entry for offset %d: %w", e.Offset, err)
			return
		}
		h, err := format.DecodeHeader(buf)
		if err != nil || h.Timestamp != e.Timestamp || h.Flag != e.Flag || h.ValueSize != e.ValueSize ||
			!bytes.Equal(buf[format.HeaderSize:], e.Key) {
			fc.HintErr = fmt.Errorf("hint entry for offset %d does not match the record there: %w", e.Offset, ErrCorrupt)
		}
	})
	if err != nil {
		fc.HintErr = err
	}
}

// mergeDamage sorts regions and merges those that overlap or touch. A
// merged region is torn only if all its parts are.
func mergeDamage(ds []Damage) []Damage {
	slices.SortFunc(ds, func(a, b Damage) int { return cmp.Compare(a.Offset, b.Offset) })
	var out []Damage
	for _, d := range ds {
		if n := len(out); n > 0 && d.Offset <= out[n-1].Offset+out[n-1].Length {
			last := &out[n-1]
			last.Length = max(last.Offset+last.Length, d.Offset+d.Length) - last.Offset
			last.Torn = last.Torn && d.Torn
			continue
		}
		out = append(out, d)
	}
	return out
}

func growBuf(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

func (c *checker) report(n int64) {
	c.done += n
	if c.progress != nil {
		c.progress(c.done, c.total)
	}
}
