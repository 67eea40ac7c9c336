package aetherkv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestDiskFull fills a real 4 MiB tmpfs: writes fail with a clear error,
// nothing acknowledged is lost, and writes work again once space is freed,
// without reopening. It needs root to mount the tmpfs.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	ballast := filepath.Join(mnt, "ballast")
	if err := os.WriteFile(ballast, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []SyncMode{SyncModeInterval, SyncModeAlways} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := filepath.Join(mnt, mode.String())
			db := mustOpenDir(t, dir, &Options{SyncMode: mode, MergeRatio: -1})
			value := strings.Repeat("v", 1000)
			acked := 0
			var err error
			for ; ; acked++ {
				if err = db.Put([]byte(fmt.Sprintf("k%06d", acked)), []byte(value)); err != nil {
					break
				}
				if mode != SyncModeAlways && acked%64 == 0 {
					if err = db.Sync(); err != nil {
						break
					}
				}
			}
			if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "disk full") {
				t.Fatalf("write on a full disk = %v, want a 'disk full' error wrapping ENOSPC", err)
			}
			for i := range acked {
				wantValue(t, db, fmt.Sprintf("k%06d", i), value) // reads go on
			}
			if err := os.Remove(ballast); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if err := db.Put([]byte("after"), []byte("space freed")); err != nil {
				t.Fatalf("Put once space is freed = %v", err)
			}
			if err := db.Close(); err != nil {
				t.Fatalf("Close = %v", err)
			}
			db = mustOpenDir(t, dir, nil)
			for i := range acked {
				wantValue(t, db, fmt.Sprintf("k%06d", i), value)
			}
			wantValue(t, db, "after", "space freed")
			db.Close()
			os.RemoveAll(dir) // room for the next case
			os.WriteFile(ballast, make([]byte, 1<<20), 0o600)
		})
	}
}
