package crashfs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/aether-kv/aether-kv/internal/vfs"
)

func TestWhatSurvives(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	fs := New(vfs.Default)
	path := func(n string) string { return filepath.Join(dir, n) }
	create := func(name, data string, sync bool) vfs.File {
		t.Helper()
		f, err := fs.OpenFile(path(name), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
		if sync {
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
		}
		return f
	}
	a := create("a", "synced", true)
	a.Write([]byte(" and more"))       // never synced
	create("b", "never synced", false) // its entry is durable, its bytes are not
	create("c", "renamed", true)
	if err := fs.SyncDir(dir); err != nil {
		t.Fatal(err)
	}
	create("d", "entry not synced", true) // the directory is not synced after it
	if err := fs.Rename(path("c"), path("c2")); err != nil {
		t.Fatal(err)
	}
	fs.CrashAfter(1)
	if _, err := a.Write([]byte("x")); !errors.Is(err, ErrCrashed) {
		t.Fatalf("write after the crash: %v, want ErrCrashed", err)
	}
	if err := fs.SyncDir(dir); !errors.Is(err, ErrCrashed) {
		t.Fatalf("SyncDir after the crash: %v, want ErrCrashed", err)
	}
	if err := fs.Materialize(out, nil); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "synced", "b": "", "c": "renamed"}
	entries, _ := os.ReadDir(out)
	if len(entries) != len(want) {
		t.Errorf("files after the crash: %v, want %v", entries, want)
	}
	for name, data := range want {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || string(got) != data {
			t.Errorf("%s after the crash = %q, %v; want %q", name, got, err, data)
		}
	}
}
