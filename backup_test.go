package aetherkv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBackupUnderLoad takes backups while writers write and a merge may
// run: each backup opens on its own with every write acknowledged before
// it began, with its exact value.
func TestBackupUnderLoad(t *testing.T) {
	db := mustOpen(t, &Options{MaxFileSize: 64 << 10, MergeRatio: -1})
	var acked atomic.Int64 // writes acknowledged: keys k0 .. k(acked-1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; i < 30_000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := db.Put([]byte(fmt.Sprint("k", i)), []byte(fmt.Sprint("value-", i))); err != nil {
				t.Error(err)
				return
			}
			acked.Store(int64(i + 1))
			if i%50 == 0 {
				time.Sleep(time.Millisecond) // keep writing through every round
			}
			if i%500 == 0 {
				db.Put([]byte(fmt.Sprint("k", i/2)), []byte(fmt.Sprint("value-", i/2))) // overwrite: same value
			}
		}
	})
	wg.Go(func() { mergeUntil(t, db, stop, nil) })
	for round := range 5 {
		time.Sleep(20 * time.Millisecond)
		before := acked.Load()
		dir := filepath.Join(t.TempDir(), "backup")
		st, err := db.Backup(dir)
		if err != nil {
			t.Fatalf("round %d: Backup = %v", round, err)
		}
		copyDB := mustOpenDir(t, dir, nil)
		for i := range before {
			wantValue(t, copyDB, fmt.Sprint("k", i), fmt.Sprint("value-", i))
		}
		copyDB.Close()
		if r := mustCheck(t, dir); r.Corrupt() {
			t.Fatalf("round %d: the backup does not check clean: %+v", round, r)
		}
		t.Logf("round %d: %d keys acknowledged before; backup of %d files, %d bytes, %d hard-linked", round, before, st.Files, st.Bytes, st.Linked)
	}
	close(stop)
	wg.Wait()
}

func TestBackupRefusesNonEmptyDir(t *testing.T) {
	db := mustOpen(t, nil)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), nil, 0o600)
	if _, err := db.Backup(dir); err == nil {
		t.Fatal("Backup into a non-empty directory succeeded")
	}
	db.Close()
	if _, err := db.Backup(t.TempDir()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Backup after Close = %v, want ErrClosed", err)
	}
}

// TestBackupRefusesAFile: a file given as the destination is named as the
// destination, not as "data directory" as the message said.
func TestBackupRefusesAFile(t *testing.T) {
	db := mustOpen(t, nil)
	defer db.Close()
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := db.Backup(file); err == nil || !strings.Contains(err.Error(), "destination "+file+" is not a directory") {
		t.Errorf("Backup(a file) = %v, want it to name the destination", err)
	}
}
