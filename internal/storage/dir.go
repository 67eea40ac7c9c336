package storage

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/aether-kv/aether-kv/internal/vfs"
)

// Names of the files in a data directory.
const (
	ActiveName = "active.log"
	LockName   = "LOCK"
	// TempSuffix ends the names of files being written by a merge; they
	// are renamed into place once complete, and removed at Open if a crash
	// left them behind.
	TempSuffix = ".tmp"
	// CheckpointName is the key-directory checkpoint that a clean Close
	// writes and the next Open reads and removes. Written under
	// CheckpointName+TempSuffix first.
	CheckpointName = "KEYDIR"
	dataExt        = ".log"
	hintExt        = ".hint"
)

// ErrLocked is returned by Lock when another process, or another open DB in
// this process, holds the data directory.
var ErrLocked = errors.New("aetherkv: data directory is in use")

// DataFile names a data file and the number that orders it.
type DataFile struct {
	ID   uint32
	Name string // base name, e.g. "000000001.log" or "active.log"
}

// Lock takes the directory's lock file, failing at once if it is held.
func Lock(fs vfs.FS, dir string) (io.Closer, error) {
	l, err := fs.Lock(filepath.Join(dir, LockName))
	if err != nil {
		var le *vfs.LockedError
		if errors.As(err, &le) {
			pid := strings.TrimSpace(le.Holder)
			if pid == "" {
				pid = "unknown"
			}
			return nil, fmt.Errorf("%s is locked by process %s (another aether-kv is using it; stop it or choose another directory): %w",
				dir, pid, ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return l, nil
}

// ListDataFiles returns the data files of dir, oldest first, with the
// active file last. The active file is included whether or not it exists
// yet, with the next free number.
func ListDataFiles(fs vfs.FS, dir string) ([]DataFile, error) {
	entries, err := fs.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var files []DataFile
	var next uint32 = 1
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, dataExt) || name == ActiveName {
			continue
		}
		id, err := strconv.ParseUint(strings.TrimSuffix(name, dataExt), 10, 32)
		if err != nil || id == 0 || id == math.MaxUint32 || name != ClosedName(uint32(id)) {
			return nil, fmt.Errorf("unexpected data file %s in %s: data files are active.log or numbered with 9 or more digits below 4294967295 (000000001.log); move it away", name, dir)
		}
		files = append(files, DataFile{ID: uint32(id), Name: name})
		next = max(next, uint32(id)+1)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].ID < files[j].ID })
	return append(files, DataFile{ID: next, Name: ActiveName}), nil
}

// ClosedName returns the name of closed data file id.
func ClosedName(id uint32) string {
	return fmt.Sprintf("%09d%s", id, dataExt)
}

// HintName returns the name of the hint file of closed data file id.
func HintName(id uint32) string {
	return fmt.Sprintf("%09d%s", id, hintExt)
}

// CreateDir creates dir (mode 0700) if it does not exist, and makes its
// creation durable by syncing its parent. A dir that is a regular file is
// an error.
func CreateDir(fs vfs.FS, dir string) error {
	fi, err := fs.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return fmt.Errorf("data directory %s is not a directory", dir)
	case err == nil:
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("data directory: %w", err)
	}
	// Every directory MkdirAll creates is a new entry in its parent: sync
	// the parents from the nearest existing ancestor down.
	var created []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := fs.Stat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		created = append(created, d)
	}
	if err := fs.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	for i := len(created) - 1; i >= 0; i-- {
		if err := fs.SyncDir(filepath.Dir(created[i])); err != nil {
			return fmt.Errorf("sync parent of %s: %w", created[i], err)
		}
	}
	return nil
}
