package aetherkv

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/aether-kv/aether-kv/internal/storage"
)

// RepairReport says what Repair changed.
type RepairReport struct {
	Backup string // the folder holding the original of every file changed; "" if none was
	Files  []FileRepair
}

// FileRepair says what Repair did to one file.
type FileRepair struct {
	Name        string
	Kept        int64    // valid records kept
	Dropped     []Damage // regions removed from the data file
	HintRemoved bool     // its hint file was invalid, or no longer matched, and was moved aside
}

// Repair makes a damaged data directory open again, keeping every valid
// record: it checks dir as Check does, then rewrites each data file that
// holds damaged regions with only its valid records (including those after
// a damaged region, found again by looking for the next record whose
// header and checksum are valid), and moves aside hint files that are
// invalid or describe a rewritten file. The original of every file it
// changes is kept in a new folder repair-<time> inside dir, so nothing is
// ever lost. Each file is replaced atomically: a crash at any point leaves
// either the original or the repaired file in place.
//
// A region dropped by Repair may have held records that cannot be
// recovered; the report lists each region. Repair returns the check report
// of the directory as it found it.
func Repair(dir string, opts *Options, progress func(done, total int64)) (*CheckReport, *RepairReport, error) {
	c, err := newChecker(dir, opts, progress)
	if err != nil {
		return nil, nil, err
	}
	defer c.lock.Close()
	found, err := c.run()
	if err != nil {
		return nil, nil, err
	}
	r := &repairer{dir: dir, c: c}
	rep := &RepairReport{}
	if found.Corrupt() {
		// The files are about to change: a checkpoint of them must not
		// be trusted after, even if some size stayed the same.
		if err := removeCheckpointFile(c.opts.fs, dir); err != nil {
			return found, rep, fmt.Errorf("aetherkv: repair: %w", err)
		}
	}
	for _, fc := range found.Files {
		fr, err := r.repairFile(fc)
		if err != nil {
			return found, rep, fmt.Errorf("aetherkv: repair %s: %w", fc.Name, err)
		}
		if fr != nil {
			rep.Files = append(rep.Files, *fr)
		}
	}
	rep.Backup = r.backup
	return found, rep, nil
}

type repairer struct {
	dir    string
	c      *checker
	backup string // created on first use
}

// repairFile rewrites one data file without its damaged regions and moves
// aside its hint file if need be. It returns nil if the file needs nothing.
func (r *repairer) repairFile(fc FileCheck) (*FileRepair, error) {
	if len(fc.Damage) == 0 && fc.HintErr == nil {
		return nil, nil
	}
	fr := &FileRepair{Name: fc.Name, Kept: fc.Records, Dropped: fc.Damage}
	if len(fc.Damage) > 0 {
		if err := r.rewrite(fc); err != nil {
			return nil, err
		}
	}
	if fc.HasHint && (fc.HintErr != nil || len(fc.Damage) > 0) {
		id, ok := closedID(fc.Name)
		if ok {
			if err := r.moveAside(storage.HintName(id)); err != nil {
				return nil, err
			}
			fr.HintRemoved = true
		}
	}
	return fr, nil
}

// rewrite writes the valid parts of a data file to a temporary file, keeps
// the original in the backup folder (a hard link), and renames the
// temporary file over the original.
func (r *repairer) rewrite(fc FileCheck) error {
	fs := r.c.opts.fs
	path := filepath.Join(r.dir, fc.Name)
	src, err := fs.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp := path + storage.TempSuffix
	dst, err := fs.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := newWriter(dst)
	err = eachGoodRange(fc, func(off, n int64) error {
		_, err := io.Copy(writerFunc(w.write), io.NewSectionReader(src, off, n))
		return err
	})
	if err == nil {
		err = w.sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fs.Remove(tmp)
		return err
	}
	backup, err := r.backupDir()
	if err != nil {
		return err
	}
	if err := fs.Link(path, filepath.Join(backup, fc.Name)); err != nil {
		return fmt.Errorf("keep the original: %w", err)
	}
	if err := fs.SyncDir(backup); err != nil {
		return err
	}
	if err := fs.Rename(tmp, path); err != nil {
		return err
	}
	return fs.SyncDir(r.dir)
}

// eachGoodRange calls fn for each range of the file outside its damage.
func eachGoodRange(fc FileCheck, fn func(off, n int64) error) error {
	var off int64
	for _, d := range fc.Damage {
		if d.Offset > off {
			if err := fn(off, d.Offset-off); err != nil {
				return err
			}
		}
		off = d.Offset + d.Length
	}
	if off < fc.Size {
		return fn(off, fc.Size-off)
	}
	return nil
}

// moveAside moves a file of the data directory into the backup folder.
func (r *repairer) moveAside(name string) error {
	backup, err := r.backupDir()
	if err != nil {
		return err
	}
	fs := r.c.opts.fs
	if err := fs.Rename(filepath.Join(r.dir, name), filepath.Join(backup, name)); err != nil {
		return err
	}
	if err := fs.SyncDir(backup); err != nil {
		return err
	}
	return fs.SyncDir(r.dir)
}

// backupDir creates, on first use, the folder that keeps the originals.
func (r *repairer) backupDir() (string, error) {
	if r.backup != "" {
		return r.backup, nil
	}
	fs := r.c.opts.fs
	b := filepath.Join(r.dir, "repair-"+time.Now().UTC().Format("20060102T150405.000000000Z"))
	if err := fs.MkdirAll(b, 0o700); err != nil {
		return "", fmt.Errorf("create backup folder: %w", err)
	}
	if err := fs.SyncDir(r.dir); err != nil {
		return "", err
	}
	r.backup = b
	return b, nil
}

// closedID returns the id of a closed data file's name.
func closedID(name string) (uint32, bool) {
	var id uint32
	if _, err := fmt.Sscanf(name, "%09d.log", &id); err != nil || storage.ClosedName(id) != name {
		return 0, false
	}
	return id, true
}

// writerFunc adapts a write function to io.Writer.
type writerFunc func([]byte) error

func (f writerFunc) Write(b []byte) (int, error) {
	if err := f(b); err != nil {
		return 0, err
	}
	return len(b), nil
}
