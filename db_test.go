package aetherkv

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aether-kv/aether-kv/internal/format"
)

// mustOpen opens a store in a new temporary directory, closed at cleanup.
func mustOpen(t testing.TB, opts *Options) *DB {
	t.Helper()
	return mustOpenDir(t, t.TempDir(), opts)
}

func mustOpenDir(t testing.TB, dir string, opts *Options) *DB {
	t.Helper()
	db, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s) = %v", dir, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// mergeUntil merges db over and over until stop is closed, counting the
// merges in n (if not nil); a failed merge is a test error.
func mergeUntil(t testing.TB, db *DB, stop <-chan struct{}, n *atomic.Int64) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		if err := db.Merge(); err != nil && !errors.Is(err, ErrMergeRunning) {
			t.Errorf("merge: %v", err)
			return
		}
		if n != nil {
			n.Add(1)
		}
	}
}

func mustPut(t testing.TB, db *DB, key, value string) {
	t.Helper()
	if err := db.Put([]byte(key), []byte(value)); err != nil {
		t.Fatalf("Put(%q) = %v", key, err)
	}
}

func wantValue(t testing.TB, db *DB, key, want string) {
	t.Helper()
	got, err := db.Get([]byte(key))
	if err != nil {
		t.Fatalf("Get(%q) = %v, want %q", key, err, want)
	}
	if string(got) != want {
		t.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
}

func wantNotFound(t testing.TB, db *DB, key string) {
	t.Helper()
	if v, err := db.Get([]byte(key)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", key, v, err)
	}
}

func TestPutGetDelete(t *testing.T) {
	db := mustOpen(t, nil)
	mustPut(t, db, "user:1", "John Doe")
	wantValue(t, db, "user:1", "John Doe")
	mustPut(t, db, "user:1", "Jane Doe")
	wantValue(t, db, "user:1", "Jane Doe")
	if err := db.Delete([]byte("user:1")); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	wantNotFound(t, db, "user:1")
	if err := db.Delete([]byte("user:1")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete of a missing key = %v, want ErrNotFound", err)
	}
	mustPut(t, db, "user:1", "back")
	wantValue(t, db, "user:1", "back")
	mustPut(t, db, "empty", "")
	wantValue(t, db, "empty", "")
}

func TestInputErrors(t *testing.T) {
	db := mustOpen(t, &Options{MaxKeySize: 8, MaxValueSize: 16})
	tests := []struct {
		name       string
		key, value []byte
		want       error
	}{
		{"nil key", nil, []byte("v"), ErrKeyEmpty},
		{"empty key", []byte{}, []byte("v"), ErrKeyEmpty},
		{"key too large", bytes.Repeat([]byte("k"), 9), []byte("v"), ErrKeyTooLarge},
		{"value too large", []byte("k"), bytes.Repeat([]byte("v"), 17), ErrValueTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := db.Put(tt.key, tt.value); !errors.Is(err, tt.want) {
				t.Fatalf("Put = %v, want %v", err, tt.want)
			}
		})
	}
	if err := db.Delete(nil); !errors.Is(err, ErrKeyEmpty) {
		t.Fatalf("Delete(nil) = %v, want ErrKeyEmpty", err)
	}
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
	if n := fileSize(t, filepath.Join(db.Dir(), "active.log")); n != 0 {
		t.Fatalf("refused writes left %d bytes in the log, want 0", n)
	}
	mustPut(t, db, "12345678", "0123456789abcdef") // exactly at the limits
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"negative batch", Options{BatchSize: -1}, "BatchSize"},
		{"negative interval", Options{SyncInterval: -1}, "SyncInterval"},
		{"key limit", Options{MaxKeySize: MaxKeySizeLimit + 1}, "MaxKeySize"},
		{"value limit", Options{MaxValueSize: -5}, "MaxValueSize"},
		{"batch limit", Options{BatchSize: math.MaxInt}, "BatchSize"}, // it panicked making the buffer
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(t.TempDir(), &tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open = %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

func TestClosed(t *testing.T) {
	db, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, "k", "v")
	if err := db.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	checks := map[string]error{
		"Get":    func() error { _, err := db.Get([]byte("k")); return err }(),
		"Put":    db.Put([]byte("k"), []byte("v")),
		"Delete": db.Delete([]byte("k")),
		"Sync":   db.Sync(),
		"Close":  db.Close(),
	}
	dest := filepath.Join(t.TempDir(), "backup")
	checks["Scan past the last shard"] = func() error { _, _, err := db.Scan(1<<20, 10, nil); return err }()
	checks["Write of an empty batch"] = db.Write(db.NewBatch())
	checks["Backup"] = func() error { _, err := db.Backup(dest); return err }()
	for name, err := range checks {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	if _, err := os.Stat(dest); err == nil {
		t.Errorf("Backup after Close created %s", dest)
	}
}

// TestClosedMeansNotWritten: in SyncModeAlways, a Put that Close
// interrupts while it waits for its fsync returned ErrClosed, yet Close
// flushed and fsynced its record, so the "refused" write was in the store
// after reopen. Close now tells such writers their write is durable.
func TestClosedMeansNotWritten(t *testing.T) {
	dir := t.TempDir()
	o := &Options{SyncMode: SyncModeAlways}
	var refused []string
	for round := range 10 {
		db := mustOpenDir(t, dir, o)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := 0; ; i++ {
					k := fmt.Sprintf("r%d-w%d-%d", round, w, i)
					err := db.Put([]byte(k), []byte("v"))
					if errors.Is(err, ErrClosed) {
						mu.Lock()
						refused = append(refused, k)
						mu.Unlock()
						return
					}
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		time.Sleep(20 * time.Millisecond)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
	}
	db := mustOpenDir(t, dir, o)
	defer db.Close()
	for _, k := range refused {
		if v, err := db.Get([]byte(k)); err == nil {
			t.Errorf("Put(%s) returned ErrClosed, but the store holds it (%q)", k, v)
		}
	}
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, &Options{BatchSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		mustPut(t, db, fmt.Sprintf("k%04d", i), fmt.Sprintf("v%d", i))
	}
	for i := 0; i < 1000; i += 3 {
		if err := db.Delete([]byte(fmt.Sprintf("k%04d", i))); err != nil {
			t.Fatal(err)
		}
	}
	mustPut(t, db, "k0003", "overwritten")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpenDir(t, dir, nil)
	for i := range 1000 {
		key := fmt.Sprintf("k%04d", i)
		switch {
		case i == 3:
			wantValue(t, db, key, "overwritten")
		case i%3 == 0:
			wantNotFound(t, db, key)
		default:
			wantValue(t, db, key, fmt.Sprintf("v%d", i))
		}
	}
	if got, want := db.Len(), 1000-334+1; got != want {
		t.Fatalf("Len() = %d, want %d", got, want)
	}
}

// TestReadYourWrites checks that a write is visible before any flush: the
// buffer is far larger than what is written.
func TestReadYourWrites(t *testing.T) {
	db := mustOpen(t, &Options{BatchSize: 1 << 20})
	for i := range 100 {
		key, value := fmt.Sprintf("k%d", i), strings.Repeat("x", i)
		mustPut(t, db, key, value)
		wantValue(t, db, key, value)
	}
	if n := fileSize(t, filepath.Join(db.Dir(), "active.log")); n != 0 {
		t.Fatalf("log holds %d bytes before the buffer filled, want 0 (writes should still be buffered)", n)
	}
}

// TestBatchSizeFlush checks that the buffer reaches the file once it
// passes BatchSize, without Sync.
func TestBatchSizeFlush(t *testing.T) {
	db := mustOpen(t, &Options{BatchSize: 256})
	for i := range 10 {
		mustPut(t, db, fmt.Sprintf("k%d", i), strings.Repeat("v", 40))
	}
	if n := fileSize(t, filepath.Join(db.Dir(), "active.log")); n < 256 {
		t.Fatalf("log holds %d bytes after writing 10*64, want at least the batch size 256", n)
	}
}

// TestFlushedPutSurvivesProcessCrash checks the promise of BatchSize: a
// put that took the buffer past it is wholly in the file when Put
// returns, so a crash of the process (a copy of the directory, taken
// while the store is open, is what kill -9 leaves) cannot take it. A
// flush that stopped at a page boundary inside the record would lose it
// whole.
func TestFlushedPutSurvivesProcessCrash(t *testing.T) {
	db := mustOpen(t, &Options{BatchSize: 4096, SyncInterval: time.Hour})
	value := bytes.Repeat([]byte("v"), 1<<20)
	if err := db.Put([]byte("big"), value); err != nil {
		t.Fatal(err)
	}
	crashed := copyDir(t, db.Dir())
	db2, err := Open(crashed, nil)
	if err != nil {
		t.Fatalf("Open after the crash = %v", err)
	}
	defer db2.Close()
	if got, err := db2.Get([]byte("big")); err != nil || !bytes.Equal(got, value) {
		t.Fatalf("after a crash of the process, Get(big) = %d bytes, %v; want the 1 MiB value", len(got), err)
	}
}

// TestProcessCrashLeavesNoPartialRecord checks that a crash of the process
// never leaves part of a record in the file: a value holding an encoded
// record, cut, would look to recovery like damage with a valid record
// after it, and Open would refuse the store.
func TestProcessCrashLeavesNoPartialRecord(t *testing.T) {
	db := mustOpen(t, &Options{BatchSize: 4096, SyncInterval: time.Hour})
	inner := format.Append(nil, 1, format.FlagValue, []byte("inner"), []byte("v"))
	value := append(bytes.Repeat([]byte("p"), 100), inner...)
	value = append(value, bytes.Repeat([]byte("p"), 8192-len(value))...)
	if err := db.Put([]byte("doc"), value); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(copyDir(t, db.Dir()), nil)
	if err != nil {
		t.Fatalf("Open after a crash of the process = %v, want it to open without repair", err)
	}
	db2.Close()
}

func TestGetReturnsCopy(t *testing.T) {
	db := mustOpen(t, nil)
	key, value := []byte("k"), []byte("value")
	if err := db.Put(key, value); err != nil {
		t.Fatal(err)
	}
	key[0], value[0] = 'x', 'x' // the caller may reuse its slices
	got, _ := db.Get([]byte("k"))
	got[0] = 'Z'
	wantValue(t, db, "k", "value")
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	mustOpenDir(t, dir, nil)
	_, err := Open(dir, nil)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprint(os.Getpid())) {
		t.Fatalf("second Open = %q, want it to name the holder's pid %d", err, os.Getpid())
	}
}

func TestDataDirIsAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, nil); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("Open(regular file) = %v, want a 'not a directory' error", err)
	}
}

func TestPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	db := mustOpenDir(t, dir, nil)
	mustPut(t, db, "k", "v")
	for path, want := range map[string]os.FileMode{
		dir:                              0o700 | os.ModeDir,
		filepath.Join(dir, "active.log"): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("mode of %s = %v, want %v", path, fi.Mode(), want)
		}
	}
}

func TestConcurrent(t *testing.T) {
	for _, mode := range []SyncMode{SyncModeInterval, SyncModeAlways, SyncModeNever} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			db := mustOpenDir(t, dir, &Options{SyncMode: mode, BatchSize: 512})
			const writers, perWriter = 8, 200
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := range perWriter {
						key := fmt.Sprintf("w%d-%d", w, i)
						if err := db.Put([]byte(key), []byte(key)); err != nil {
							t.Error(err)
							return
						}
						if v, err := db.Get([]byte(key)); err != nil || string(v) != key {
							t.Errorf("Get(%q) = %q, %v right after Put", key, v, err)
							return
						}
					}
				})
				wg.Go(func() { // a reader of shared keys, racing the writers
					for i := range perWriter {
						db.Get([]byte(fmt.Sprintf("w0-%d", i)))
					}
				})
			}
			wg.Wait()
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = mustOpenDir(t, dir, nil)
			if got := db.Len(); got != writers*perWriter {
				t.Fatalf("Len() after reopen = %d, want %d", got, writers*perWriter)
			}
		})
	}
}

func TestSyncInterval(t *testing.T) {
	db := mustOpen(t, &Options{SyncInterval: 10 * time.Millisecond})
	mustPut(t, db, "k", "v")
	path := filepath.Join(db.Dir(), "active.log")
	for range 200 {
		if fileSize(t, path) > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the background sync never flushed a buffered write")
}

// logEnd returns the end of the active file's last record: its size,
// less the zeros preallocated past it (see Options.preallocate).
func logEnd(db *DB) int64 {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.mu.log.Size()
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestGetInto(t *testing.T) {
	db := mustOpen(t, nil)
	mustPut(t, db, "k", "value")
	mustPut(t, db, "empty", "")
	buf := make([]byte, 0, 64)
	got, err := db.GetInto(buf[:0], []byte("k"))
	if err != nil || string(got) != "value" || &got[0] != &buf[:1][0] {
		t.Fatalf("GetInto = %q, %v; want value appended in place", got, err)
	}
	if v, err := db.Get([]byte("empty")); err != nil || v == nil || len(v) != 0 {
		t.Fatalf("Get(empty value) = %#v, %v; want a non-nil empty slice", v, err)
	}
	if err := db.Sync(); err != nil { // now read from the mapped file
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := db.GetInto(buf[:0], []byte("k")); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("GetInto allocates %v times per call, want 0", allocs)
	}
}

// TestTruncatedMappedFile: a closed data file cut short by another program
// while the store is open makes Get fail for the records it lost, with an
// error rather than a crash (the file is memory-mapped: SIGBUS).
func TestTruncatedMappedFile(t *testing.T) {
	dir := t.TempDir()
	db := mustOpenDir(t, dir, &Options{MaxFileSize: 4096, MergeRatio: -1})
	for i := range 100 {
		mustPut(t, db, fmt.Sprintf("k%03d", i), strings.Repeat("v", 100))
	}
	if err := os.Truncate(filepath.Join(dir, "000000001.log"), 0); err != nil {
		t.Fatal(err)
	}
	if v, err := db.Get([]byte("k000")); err == nil {
		t.Fatalf("Get of a record in a truncated file = %q, want an error", v)
	}
	wantValue(t, db, "k099", strings.Repeat("v", 100)) // in the active file
}

// TestStatsCountTheLastPut checks the byte accounting right after a put
// that replaced a key: the key directory makes a put at the next change
// (Keydir.PutLater), and Stats must count what it replaced all the same.
func TestStatsCountTheLastPut(t *testing.T) {
	db := mustOpen(t, nil)
	size := func(k, v string) int64 { return int64(format.Size([]byte(k), []byte(v))) }
	for _, kv := range [][2]string{{"a", "one"}, {"b", "two"}, {"a", "three"}} {
		if err := db.Put([]byte(kv[0]), []byte(kv[1])); err != nil {
			t.Fatal(err)
		}
	}
	st := db.Stats()
	if want := size("a", "three") + size("b", "two"); st.LiveBytes != want {
		t.Errorf("LiveBytes = %d, want %d", st.LiveBytes, want)
	}
	if want := size("a", "one"); st.DeadBytes != want {
		t.Errorf("DeadBytes = %d, want %d", st.DeadBytes, want)
	}
	if st.Keys != 2 {
		t.Errorf("Keys = %d, want 2", st.Keys)
	}
}

// TestCloseBesideBackgroundSync: in SyncModeInterval the background sync
// loop syncs; if Close set closed after the loop had read it, the loop's
// round got ErrClosed and waited for Close to end (as a writer in
// SyncModeAlways must, to learn whether its write was made durable),
// while Close waited for the loop: Close hung.
func TestCloseBesideBackgroundSync(t *testing.T) {
	for i := range 200 {
		dir := t.TempDir()
		db := mustOpenDir(t, dir, &Options{SyncInterval: time.Microsecond, MergeRatio: -1})
		for j := range 50 {
			mustPut(t, db, fmt.Sprintf("k%d", j), "some value")
		}
		stop := make(chan struct{})
		go func() { // a writer that keeps the log unsynced
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				if db.Put([]byte(fmt.Sprintf("w%d", j)), []byte("x")) != nil {
					return
				}
			}
		}()
		time.Sleep(time.Duration(i%20) * 50 * time.Microsecond)
		done := make(chan error, 1)
		go func() { done <- db.Close() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("iteration %d: Close hangs", i)
		}
		close(stop)
	}
}
