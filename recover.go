package aetherkv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/aether-kv/aether-kv/internal/format"
	"github.com/aether-kv/aether-kv/internal/keydir"
	"github.com/aether-kv/aether-kv/internal/storage"
	"github.com/aether-kv/aether-kv/internal/vfs"
)

// load rebuilds the key directory from the data files, oldest first, and
// opens the active file for appending. A later record of a key always wins
// over an earlier one: recency is the order of files and offsets, never the
// timestamp field. A closed file with a valid hint file is loaded from the
// hint; any other file is scanned. A checkpoint that a clean Close left,
// if it matches the data files, replaces all of that (checkpoint.go).
func (db *DB) load() error {
	fs := db.opts.fs
	if err := removeLeftovers(fs, db.dir); err != nil {
		return err
	}
	files, err := storage.ListDataFiles(fs, db.dir)
	if err != nil {
		return err
	}
	ck, err := db.readCheckpoint(files)
	if err != nil {
		return err
	}
	if ck != nil {
		if err := db.verifyUnhinted(files); err != nil {
			db.opts.Logger.Info("key-directory checkpoint not used: a data file has a bad record; loading from the data files", "err", err)
			ck = nil
		}
	}
	if ck != nil {
		files[len(files)-1].ID = ck.activeID
	}
	l := newLoader()
	segs := make(map[uint32]*segment, len(files))
	defer func() {
		if db.mu.segs == nil { // load failed: close what it opened
			for _, s := range segs {
				s.close()
			}
			db.wg.Wait() // the checkpoint's closing
		}
	}()
	for i, df := range files {
		active := i == len(files)-1
		var seg *segment
		if ck != nil { // the key directory is loaded: only open the file
			var f vfs.File
			if seg, f, err = db.openFile(df, active); err == nil && active && f != nil {
				f.Close() // the active file is read through its Log
			}
		} else {
			seg, err = db.loadFile(l, df, active)
		}
		if err != nil {
			return err
		}
		segs[df.ID] = seg
	}
	if ck == nil {
		ck = &checkpoint{keys: l.keys, live: l.liveBytes(), deadlines: l.deadlines}
	}
	active := files[len(files)-1]
	path := filepath.Join(db.dir, active.Name)
	_, statErr := fs.Stat(path)
	log, err := db.openLog(path, active.ID)
	if err != nil {
		return err
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// A new file's directory entry is durable only once the
		// directory is synced.
		if err := fs.SyncDir(db.dir); err != nil {
			log.Close()
			return fmt.Errorf("sync %s: %w", db.dir, err)
		}
	}
	segs[active.ID] = &segment{path: path, size: log.Size()}
	for id, live := range ck.live {
		segs[id].live = live
	}
	db.mu.keys = ck.keys
	db.mu.keys.OnSettle(db.settledLocked)
	db.mu.log = log
	db.mu.segs = segs
	db.publishFilesLocked()
	if ck.deadlines {
		db.rebuildExpiriesLocked()
		db.sweepLocked(time.Now().UnixNano())
	}
	return nil
}

// loader feeds the records of the data files to the key directory in
// batches, applied by several goroutines, and counts the live bytes of
// each file as it goes.
type loader struct {
	keys      *keydir.Keydir
	batch     keydir.Batch
	workers   int
	live      []map[uint32]int64 // per worker: file id -> bytes of the records the keys point at
	deadlines bool               // some record had a deadline

	// The bytes of the records added, counted here rather than per record
	// in a map: records come file by file.
	curID    uint32
	curBytes int64
}

func newLoader() *loader {
	l := &loader{keys: keydir.New(), workers: runtime.GOMAXPROCS(0)}
	for range l.workers {
		l.live = append(l.live, map[uint32]int64{})
	}
	return l
}

// liveBytes returns the live bytes of each file.
func (l *loader) liveBytes() map[uint32]int64 {
	l.foldCurrent()
	sum := map[uint32]int64{}
	for _, m := range l.live {
		for id, n := range m {
			sum[id] += n
		}
	}
	return sum
}

func (l *loader) add(key []byte, tombstone bool, e keydir.Entry) {
	l.deadlines = l.deadlines || e.Expire != 0
	if tombstone {
		l.batch.Delete(l.keys, key)
	} else {
		l.batch.Put(l.keys, key, e)
		if e.FileID != l.curID {
			l.foldCurrent()
			l.curID = e.FileID
		}
		l.curBytes += int64(e.Size)
	}
	if l.batch.Len() >= 1<<18 { // 256K: 1M keys from hints 198 -> 180 ms here; 1M per batch: 270 ms
		l.flush()
	}
}

// foldCurrent adds the bytes counted for the current file to its total.
func (l *loader) foldCurrent() {
	if l.curBytes != 0 {
		l.live[0][l.curID] += l.curBytes
		l.curBytes = 0
	}
}

func (l *loader) flush() {
	l.keys.Apply(&l.batch, l.workers, func(w int, old keydir.Entry, had bool, _ keydir.Entry, _ bool) {
		if had { // the record it replaced or deleted is no longer live
			l.live[w][old.FileID] -= int64(old.Size)
		}
	})
}

// removeLeftovers deletes the temporary files of a merge that a crash
// interrupted: they were never renamed into place, so nothing refers to them.
func removeLeftovers(fs vfs.FS, dir string) error {
	entries, err := fs.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), storage.TempSuffix) {
			if err := fs.Remove(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("remove leftover %s: %w", e.Name(), err)
			}
		}
	}
	return nil
}

// loadFile applies the records of one data file to keys and returns the
// file's segment, open for reading unless it is the active file. In the
// active file, a bad record after which no valid record follows is a write
// torn by a crash: it is cut off. Any other bad record is corruption.
func (db *DB) loadFile(l *loader, df storage.DataFile, active bool) (*segment, error) {
	seg, f, err := db.openFile(df, active)
	if err != nil || f == nil {
		return seg, err
	}
	if active {
		defer f.Close() // the active file is read through its Log
	}
	if !active && db.loadHint(l, df, seg.size) {
		return seg, nil
	}
	if err := db.scanFile(l, f, df.ID, seg.path, seg.size, active); err != nil {
		seg.close()
		return nil, err
	}
	if active {
		fi, err := f.Stat() // a torn tail may have been cut
		if err != nil {
			return nil, fmt.Errorf("stat %s: %w", seg.path, err)
		}
		seg.size = fi.Size()
	}
	return seg, nil
}

// openFile opens a data file and returns its segment, holding the file
// open for reading and mapped, unless it is the active file: that one is
// read through its Log, and the caller must close f. A missing active
// file is an empty segment, and a nil f.
func (db *DB) openFile(df storage.DataFile, active bool) (seg *segment, f vfs.File, err error) {
	path := filepath.Join(db.dir, df.Name)
	f, err = db.opts.fs.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) && active {
		return &segment{path: path}, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	seg = &segment{f: f, path: path}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("stat %s: %w", path, err)
	}
	seg.size = fi.Size()
	if active {
		seg.f = nil
		return seg, f, nil
	}
	if seg.m, err = storage.Map(f, seg.size); err != nil {
		f.Close()
		return nil, nil, err
	}
	return seg, f, nil
}

// scanFile applies every record of a data file to keys. A batch without
// its commit record at the end of the active file was torn by a crash, and
// is cut off like a torn record.
func (db *DB) scanFile(l *loader, f vfs.File, id uint32, path string, size int64, active bool) error {
	s := storage.NewScanner(f, path, size, MaxKeySizeLimit)
	r := &replay{file: id, apply: l.add}
	var batchErr error
	for s.Next() {
		if err := r.record(s.Record()); err != nil && batchErr == nil {
			batchErr = &storage.RecordError{File: path, Offset: s.Record().Offset, Err: err}
		}
	}
	l.flush() // the records before a bad one stand, whatever the bad one is
	scanErr := s.Err()
	if scanErr == nil && batchErr != nil {
		scanErr = batchErr
	}
	if scanErr == nil {
		torn, ok := r.open()
		if !ok {
			return nil
		}
		scanErr = &storage.RecordError{File: path, Offset: torn, Err: fmt.Errorf("batch without its commit record: %w", errIncompleteBatch)}
		if active {
			return db.cutTornTail(f, path, torn, size, scanErr)
		}
	}
	if !errors.Is(scanErr, format.ErrCorrupt) {
		return fmt.Errorf("read %w", scanErr)
	}
	bad := s.Offset()
	if torn, ok := r.open(); ok {
		bad = torn // a batch torn with its last record: cut from its start
	}
	if active && scanErr != batchErr {
		// Zeros after the records to the end of their sector: the
		// preallocated end (all zeros, cut quietly), or a sector a power
		// cut lost, with unsynced writes after it.
		if lost, err := storage.ZerosToSector(f, s.Offset(), size); err != nil {
			return fmt.Errorf("scan %s after offset %d: %w", path, s.Offset(), err)
		} else if lost {
			return db.cutTornTail(f, path, bad, size, fmt.Errorf("%w, and zeros to the end of its sector: a power cut lost that sector's last writes, and what follows was never synced", scanErr))
		}
		torn, err := storage.TornLast(f, s.Offset(), size, MaxKeySizeLimit)
		if err != nil {
			return fmt.Errorf("scan %s after offset %d: %w", path, s.Offset(), err)
		}
		if torn {
			return db.cutTornTail(f, path, bad, size, scanErr)
		}
	}
	return fmt.Errorf("%w; the records after it cannot be trusted, so the store will not open: "+
		"run \"aether-kv check --repair\" to keep every valid record (the originals are kept)", scanErr)
}

// loadHint applies the hint file of a closed data file to keys, and
// reports whether it could: a missing or invalid hint file means the data
// file must be scanned. A hint is verified whole before any entry is used.
func (db *DB) loadHint(l *loader, df storage.DataFile, dataSize int64) bool {
	path := filepath.Join(db.dir, storage.HintName(df.ID))
	b, err := vfs.ReadFile(db.opts.fs, path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			db.opts.Logger.Warn("hint file unreadable; scanning the data file instead", "hint", path, "err", err)
		}
		return false
	}
	l.keys.Grow(format.HintEntries(b))
	err = format.DecodeHints(b, dataSize, MaxKeySizeLimit, func(h format.HintEntry) {
		l.add(h.Key, h.Flag == format.FlagTombstone, keydir.Entry{FileID: df.ID, Offset: h.Offset, Size: uint32(h.RecordSize()), Expire: h.Deadline})
	})
	l.flush() // DecodeHints calls back only once the whole hint is verified
	if err != nil {
		db.opts.Logger.Warn("hint file invalid; scanning the data file instead", "hint", path, "err", err)
		return false
	}
	return true
}

// cutTornTail saves the bytes from off to the end of the active file in a
// side file, for diagnosis, then truncates the file at off. Zeros at the
// end are the file's preallocated space (Log.Preallocate), not part of
// what was torn: they are cut off without being saved.
func (db *DB) cutTornTail(f vfs.File, path string, off, size int64, cause error) error {
	fs := db.opts.fs
	tail := make([]byte, size-off)
	if _, err := f.ReadAt(tail, off); err != nil && err != io.EOF {
		return fmt.Errorf("read torn tail of %s: %w", path, err)
	}
	tail = bytes.TrimRight(tail, "\x00")
	side := ""
	if len(tail) > 0 {
		side = fmt.Sprintf("%s.%d.torn", path, off)
		if err := writeFileSync(fs, side, tail); err != nil {
			return err
		}
	}
	w, err := fs.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open %s to cut its torn tail: %w", path, err)
	}
	defer w.Close()
	if err := w.Truncate(off); err != nil {
		return fmt.Errorf("cut torn tail of %s: %w", path, err)
	}
	if err := w.Sync(); err != nil {
		return fmt.Errorf("cut torn tail of %s: %w", path, err)
	}
	if side == "" {
		db.opts.Logger.Info("cut zeros from the end of the log (space preallocated, or left unwritten by a crash)", "file", path, "offset", off, "bytes", size-off)
		return nil
	}
	db.opts.Logger.Warn("cut a torn record from the end of the log (a crash interrupted a write)",
		"file", path, "offset", off, "bytes", size-off, "saved_as", side, "cause", cause)
	return nil
}

// writeFileSync writes a new file (mode 0600), fsyncs it and its directory.
func writeFileSync(fs vfs.FS, path string, data []byte) error {
	f, err := fs.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fs.SyncDir(filepath.Dir(path))
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
