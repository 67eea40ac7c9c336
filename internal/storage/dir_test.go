package storage_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/aether-kv/aether-kv/internal/storage"
	"github.com/aether-kv/aether-kv/internal/vfs"
	"github.com/aether-kv/aether-kv/internal/vfs/errfs"
)

// makeDir creates a temporary directory holding the named empty files and
// subdirectories.
func makeDir(t *testing.T, files, dirs []string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range files {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range dirs {
		if err := os.Mkdir(filepath.Join(dir, name), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestListDataFiles(t *testing.T) {
	type df = storage.DataFile
	tests := []struct {
		name  string
		files []string
		dirs  []string
		want  []storage.DataFile
	}{
		{"empty", nil, nil, []df{{1, "active.log"}}},
		{"active only", []string{"active.log"}, nil, []df{{1, "active.log"}}},
		{"closed only", []string{"000000001.log"}, nil, []df{{1, "000000001.log"}, {2, "active.log"}}},
		{
			"oldest first, active last",
			[]string{"000000003.log", "active.log", "000000001.log", "000000002.log"}, nil,
			[]df{{1, "000000001.log"}, {2, "000000002.log"}, {3, "000000003.log"}, {4, "active.log"}},
		},
		{
			"gap in numbers",
			[]string{"000000007.log", "000000002.log"}, nil,
			[]df{{2, "000000002.log"}, {7, "000000007.log"}, {8, "active.log"}},
		},
		{
			"numbers past nine digits",
			[]string{"1000000000.log", "000000999.log"}, nil,
			[]df{{999, "000000999.log"}, {1000000000, "1000000000.log"}, {1000000001, "active.log"}},
		},
		{
			"ignores other files and directories",
			[]string{
				"LOCK", "notes.txt", "000000001.hint", "000000004.log.tmp", "active.log.123.torn",
				"MERGEFIN", "000000002.log",
			},
			[]string{"000000005.log", "sub"},
			[]df{{2, "000000002.log"}, {3, "active.log"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := makeDir(t, tt.files, tt.dirs)
			got, err := storage.ListDataFiles(vfs.Default, dir)
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ListDataFiles(%v) = %v, %v, want %v", tt.files, got, err, tt.want)
			}
		})
	}
}

func TestListDataFilesRejects(t *testing.T) {
	tests := []string{
		"foo.log",
		".log",
		"000000000.log",
		"-1.log",
		"+1.log",
		"0x1.log",
		"1e3.log",
		" 1.log",
		"4294967296.log", // past uint32
	}
	for _, name := range tests {
		t.Run(name, func(t *testing.T) {
			dir := makeDir(t, []string{"000000001.log", name, "active.log"}, nil)
			got, err := storage.ListDataFiles(vfs.Default, dir)
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("ListDataFiles(%q) = %v, %v, want an error naming it", name, got, err)
			}
		})
	}
}

// TestListDataFilesNonCanonicalNames: ListDataFiles accepts any decimal
// spelling of a number, so "1.log" and "000000001.log" are both file 1.
func TestListDataFilesNonCanonicalNames(t *testing.T) {
	dir := makeDir(t, []string{"1.log", "000000001.log"}, nil)
	if got, err := storage.ListDataFiles(vfs.Default, dir); err == nil {
		t.Errorf("ListDataFiles(1.log, 000000001.log) = %v, nil, want an error (two files with id 1)", got)
	}
}

// TestListDataFilesLastID: a closed file numbered 4294967295 leaves no
// number for the active file; uint32(id)+1 wraps to 0.
func TestListDataFilesLastID(t *testing.T) {
	dir := makeDir(t, []string{"4294967295.log"}, nil)
	got, err := storage.ListDataFiles(vfs.Default, dir)
	if err == nil && got[len(got)-1].ID <= got[0].ID {
		t.Errorf("ListDataFiles(4294967295.log) = %v, nil, want an error or an active id above 4294967295", got)
	}
}

func TestListDataFilesMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	if got, err := storage.ListDataFiles(vfs.Default, dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ListDataFiles(%s) = %v, %v, want ErrNotExist", dir, got, err)
	}
}

func TestHintName(t *testing.T) {
	tests := []struct {
		id   uint32
		want string
	}{
		{1, "000000001.hint"},
		{4294967295, "4294967295.hint"},
	}
	for _, tt := range tests {
		if got := storage.HintName(tt.id); got != tt.want {
			t.Errorf("HintName(%d) = %q, want %q", tt.id, got, tt.want)
		}
	}
}

func TestClosedName(t *testing.T) {
	tests := []struct {
		id   uint32
		want string
	}{
		{1, "000000001.log"},
		{123456789, "123456789.log"},
		{4294967295, "4294967295.log"},
	}
	for _, tt := range tests {
		if got := storage.ClosedName(tt.id); got != tt.want {
			t.Errorf("ClosedName(%d) = %q, want %q", tt.id, got, tt.want)
		}
	}
}

func mustLock(t *testing.T, dir string) io.Closer {
	t.Helper()
	l, err := storage.Lock(vfs.Default, dir)
	if err != nil {
		t.Fatalf("Lock(%s) = %v", dir, err)
	}
	return l
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	first := mustLock(t, dir)
	l, err := storage.Lock(vfs.Default, dir)
	if !errors.Is(err, storage.ErrLocked) {
		t.Fatalf("second Lock(%s) = %v, %v, want ErrLocked", dir, l, err)
	}
	pid := strconv.Itoa(os.Getpid())
	if msg := err.Error(); !strings.Contains(msg, "process "+pid) || !strings.Contains(msg, dir) {
		t.Errorf("second Lock error %q does not name the directory %s and holder pid %s", msg, dir, pid)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	again := mustLock(t, dir)
	if err := again.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
}

func TestLockMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	l, err := storage.Lock(vfs.Default, dir)
	if err == nil || errors.Is(err, storage.ErrLocked) {
		t.Fatalf("Lock(%s) = %v, %v, want an error other than ErrLocked", dir, l, err)
	}
}

// lockedFS reports every lock as held by holder.
type lockedFS struct {
	vfs.FS
	holder string
}

func (fs lockedFS) Lock(name string) (io.Closer, error) {
	return nil, &vfs.LockedError{Name: name, Holder: fs.holder}
}

func TestLockMessage(t *testing.T) {
	tests := []struct {
		name   string
		holder string
		want   string
	}{
		{"pid", "4242\n", "locked by process 4242 ("},
		{"spaces", "  17 ", "locked by process 17 ("},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := storage.Lock(lockedFS{vfs.Default, tt.holder}, "/data")
			if !errors.Is(err, storage.ErrLocked) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Lock with holder %q = %v, want ErrLocked and %q", tt.holder, err, tt.want)
			}
		})
	}
}

// TestLockMessageUnknownHolder: a lock file read before its holder wrote
// its PID is empty, and storage.Lock prints "process  (" where
// vfs.LockedError prints "process unknown".
func TestLockMessageUnknownHolder(t *testing.T) {
	t.Skip("known cosmetic bug: empty holder gives \"locked by process  (\" (see the test report)")
	_, err := storage.Lock(lockedFS{vfs.Default, ""}, "/data")
	if want := "locked by process unknown"; !strings.Contains(err.Error(), want) {
		t.Errorf("Lock with holder \"\" = %v, want %q", err, want)
	}
}

func TestCreateDir(t *testing.T) {
	tests := []struct {
		name string
		rel  string
	}{
		{"one level", "data"},
		{"nested", "a/b/c"},
		{"trailing slash", "data/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir() + "/" + tt.rel
			if err := storage.CreateDir(vfs.Default, dir); err != nil {
				t.Fatalf("CreateDir(%s) = %v", dir, err)
			}
			fi, err := os.Stat(dir)
			if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
				t.Fatalf("after CreateDir(%s): Stat = %v, %v, want a directory of mode 0700", dir, fi.Mode(), err)
			}
			if err := storage.CreateDir(vfs.Default, dir); err != nil {
				t.Fatalf("CreateDir(%s) again = %v, want nil", dir, err)
			}
		})
	}
}

func TestCreateDirKeepsExistingMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := storage.CreateDir(vfs.Default, dir); err != nil {
		t.Fatalf("CreateDir(%s) = %v", dir, err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o750 {
		t.Errorf("CreateDir changed the mode of existing %s to %v", dir, fi.Mode())
	}
}

func TestCreateDirRefuses(t *testing.T) {
	root := makeDir(t, []string{"file"}, nil)
	tests := []struct {
		name string
		dir  string
	}{
		{"regular file", filepath.Join(root, "file")},
		{"under a regular file", filepath.Join(root, "file", "data")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := storage.CreateDir(vfs.Default, tt.dir); err == nil || !strings.Contains(err.Error(), "data directory") {
				t.Errorf("CreateDir(%s) = %v, want an error about the data directory", tt.dir, err)
			}
			if fi, err := os.Stat(filepath.Join(root, "file")); err != nil || !fi.Mode().IsRegular() {
				t.Errorf("CreateDir(%s) disturbed %s/file: %v, %v", tt.dir, root, fi, err)
			}
		})
	}
}

func TestCreateDirFaults(t *testing.T) {
	tests := []struct {
		name string
		op   errfs.Op
	}{
		{"mkdir fails", errfs.OpMkdirAll},
		{"parent sync fails", errfs.OpSyncDir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := errfs.New(vfs.Default)
			fs.InjectFunc(func(op errfs.Op, name string) error {
				if op == tt.op {
					return syscall.EIO
				}
				return nil
			})
			dir := filepath.Join(t.TempDir(), "data")
			if err := storage.CreateDir(fs, dir); !errors.Is(err, syscall.EIO) {
				t.Errorf("CreateDir(%s) with %v failing = %v, want EIO", dir, tt.op, err)
			}
		})
	}
}

func TestCreateDirSyncsParent(t *testing.T) {
	root := t.TempDir()
	fs := errfs.New(vfs.Default)
	var synced []string
	fs.InjectFunc(func(op errfs.Op, name string) error {
		if op == errfs.OpSyncDir {
			synced = append(synced, name)
		}
		return nil
	})
	dir := filepath.Join(root, "data")
	if err := storage.CreateDir(fs, dir); err != nil {
		t.Fatalf("CreateDir(%s) = %v", dir, err)
	}
	if want := []string{root}; !reflect.DeepEqual(synced, want) {
		t.Errorf("CreateDir(%s) synced %v, want %v", dir, synced, want)
	}
}

// TestCreateDirSyncsEveryNewParent: MkdirAll may create several
// directories, but CreateDir syncs only the last one's parent, so the
// entries of the others are not yet durable.
func TestCreateDirSyncsEveryNewParent(t *testing.T) {
	t.Skip("known gap: only the immediate parent is synced (see the test report)")
	root := t.TempDir()
	fs := errfs.New(vfs.Default)
	var synced []string
	fs.InjectFunc(func(op errfs.Op, name string) error {
		if op == errfs.OpSyncDir {
			synced = append(synced, name)
		}
		return nil
	})
	dir := filepath.Join(root, "a", "b")
	if err := storage.CreateDir(fs, dir); err != nil {
		t.Fatalf("CreateDir(%s) = %v", dir, err)
	}
	for _, want := range []string{root, filepath.Join(root, "a")} {
		if !slices.Contains(synced, want) {
			t.Errorf("CreateDir(%s) synced %v, want %s among them", dir, synced, want)
		}
	}
}
