package aetherkv

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/aether-kv/aether-kv/internal/format"
	"github.com/aether-kv/aether-kv/internal/keydir"
	"github.com/aether-kv/aether-kv/internal/storage"
	"github.com/aether-kv/aether-kv/internal/vfs"
)

// load rebuilds the key directory by scanning every data file, oldest
// first, and opens the active file for appending. A later record of a key
// always wins over an earlier one: recency is the order in the log, never
// the timestamp field.
func (db *DB) load() error {
	fs := db.opts.fs
	files, err := storage.ListDataFiles(fs, db.dir)
	if err != nil {
		return err
	}
	keys := keydir.New()
	for i, df := range files {
		active := i == len(files)-1
		if err := db.loadFile(keys, df, active); err != nil {
			return err
		}
	}
	active := files[len(files)-1]
	path := filepath.Join(db.dir, active.Name)
	_, statErr := fs.Stat(path)
	log, err := storage.OpenLog(fs, path, active.ID, db.opts.BatchSize)
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
	db.mu.keys = keys
	db.mu.log = log
	return nil
}

// loadFile applies the records of one data file to keys. In the active
// file, a bad record after which no valid record follows is a write torn
// by a crash: it is cut off. Any other bad record is corruption.
func (db *DB) loadFile(keys *keydir.Keydir, df storage.DataFile, active bool) error {
	fs := db.opts.fs
	path := filepath.Join(db.dir, df.Name)
	f, err := fs.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) && active {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	s := storage.NewScanner(f, path, fi.Size(), db.opts.MaxKeySize)
	for s.Next() {
		r := s.Record()
		if r.Header.Flag == format.FlagTombstone {
			keys.Delete(r.Key)
		} else {
			keys.Put(r.Key, keydir.Entry{FileID: df.ID, Offset: r.Offset, Size: uint32(r.Header.RecordSize())})
		}
	}
	scanErr := s.Err()
	if scanErr == nil {
		return nil
	}
	if !errors.Is(scanErr, format.ErrCorrupt) {
		return fmt.Errorf("read %w", scanErr)
	}
	bad := s.Offset()
	if active {
		next, err := storage.NextValid(f, bad, fi.Size(), db.opts.MaxKeySize)
		if err != nil {
			return fmt.Errorf("scan %s after offset %d: %w", path, bad, err)
		}
		if next < 0 {
			return db.cutTornTail(f, path, bad, fi.Size(), scanErr)
		}
	}
	return fmt.Errorf("%w; the records after it cannot be trusted, so the store will not open: "+
		"copy the data directory aside, then remove the damaged record or truncate the file at that offset", scanErr)
}

// cutTornTail saves the bytes from off to the end of the active file in a
// side file, for diagnosis, then truncates the file at off.
func (db *DB) cutTornTail(f vfs.File, path string, off, size int64, cause error) error {
	fs := db.opts.fs
	tail := make([]byte, size-off)
	if _, err := f.ReadAt(tail, off); err != nil && err != io.EOF {
		return fmt.Errorf("read torn tail of %s: %w", path, err)
	}
	side := fmt.Sprintf("%s.%d.torn", path, off)
	if err := writeFileSync(fs, side, tail); err != nil {
		return err
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
