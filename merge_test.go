package aetherkv

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aether-kv/aether-kv/internal/keydir"
	"github.com/aether-kv/aether-kv/internal/vfs/errfs"
)

// churn writes n operations over a small key space: overwrites and deletes,
// and returns the model of what the store must hold.
func churn(t *testing.T, db *DB, seed uint64, n int) map[string]string {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	model := map[string]string{}
	for i := range n {
		key := fmt.Sprintf("key%03d", r.IntN(200))
		if r.IntN(5) == 0 {
			err := db.Delete([]byte(key))
			if _, ok := model[key]; ok != (err == nil) {
				t.Fatalf("Delete(%q) = %v, model has it: %v", key, err, ok)
			}
			delete(model, key)
			continue
		}
		value := fmt.Sprintf("v%d-%d-%s", seed, i, make([]byte, r.IntN(200)))
		mustPut(t, db, key, value)
		model[key] = value
	}
	return model
}

func wantModel(t *testing.T, db *DB, model map[string]string) {
	t.Helper()
	for i := range 200 {
		key := fmt.Sprintf("key%03d", i)
		if v, ok := model[key]; ok {
			wantValue(t, db, key, v)
		} else {
			wantNotFound(t, db, key)
		}
	}
	if db.Len() != len(model) {
		t.Fatalf("Len() = %d, want %d", db.Len(), len(model))
	}
}

var smallFiles = &Options{MaxFileSize: 16 << 10, MergeRatio: -1}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	db := mustOpenDir(t, dir, smallFiles)
	model := churn(t, db, 1, 3000)
	if st := db.Stats(); st.DataFiles < 10 {
		t.Fatalf("DataFiles = %d after ~600 KB in 16 KB files, want many", st.DataFiles)
	}
	wantModel(t, db, model)
	db.Close()
	db = mustOpenDir(t, dir, smallFiles)
	wantModel(t, db, model)
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, l := range logs {
		if fi, _ := os.Stat(l); fi.Size() > 16<<10 {
			t.Errorf("%s is %d bytes, over MaxFileSize", l, fi.Size())
		}
	}
}

func TestMerge(t *testing.T) {
	dir := t.TempDir()
	db := mustOpenDir(t, dir, smallFiles)
	model := churn(t, db, 2, 5000)
	before := db.Stats()
	if err := db.Merge(); err != nil {
		t.Fatalf("Merge = %v", err)
	}
	after := db.Stats()
	wantModel(t, db, model)
	if after.DeadBytes != 0 || after.LiveBytes != before.LiveBytes {
		t.Fatalf("after Merge: live %d dead %d, want live %d dead 0", after.LiveBytes, after.DeadBytes, before.LiveBytes)
	}
	if after.Merges != 1 || after.LastMergeReclaimed != before.DeadBytes {
		t.Fatalf("Stats after Merge: merges %d reclaimed %d, want 1 and %d", after.Merges, after.LastMergeReclaimed, before.DeadBytes)
	}
	if after.DataBytes >= before.DataBytes/2 {
		t.Fatalf("DataBytes %d -> %d: the merge reclaimed too little", before.DataBytes, after.DataBytes)
	}
	if err := db.Merge(); err != nil { // a merge of merged files is fine
		t.Fatalf("second Merge = %v", err)
	}
	wantModel(t, db, model)
	db.Close()

	// Reopen from hint files, then by scanning: the same key directory.
	withHints := keysOf(t, dir)
	hints, _ := filepath.Glob(filepath.Join(dir, "*.hint"))
	if len(hints) == 0 {
		t.Fatal("merge wrote no hint files")
	}
	for _, h := range hints {
		os.Remove(h)
	}
	if scanned := keysOf(t, dir); !equalKeydirs(withHints, scanned) {
		t.Fatal("the key directory loaded from hint files differs from the one scanned from data files")
	}
	db = mustOpenDir(t, dir, smallFiles)
	wantModel(t, db, model)
}

func keysOf(t *testing.T, dir string) map[string]keydir.Entry {
	t.Helper()
	db, err := Open(dir, smallFiles)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := map[string]keydir.Entry{}
	db.mu.keys.Range(func(k []byte, e keydir.Entry) bool { m[string(k)] = e; return true })
	return m
}

func equalKeydirs(a, b map[string]keydir.Entry) bool {
	if len(a) != len(b) {
		return false
	}
	for k, e := range a {
		if b[k] != e {
			return false
		}
	}
	return true
}

// TestBadHintFallsBack damages hint files in several ways: Open must
// ignore them and scan, with the same result.
func TestBadHintFallsBack(t *testing.T) {
	dir := t.TempDir()
	db := mustOpenDir(t, dir, smallFiles)
	model := churn(t, db, 3, 3000)
	if err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	want := keysOf(t, dir)
	hints, _ := filepath.Glob(filepath.Join(dir, "*.hint"))
	orig, _ := os.ReadFile(hints[0])
	damages := map[string]func([]byte) []byte{
		"truncated":     func(b []byte) []byte { return b[:len(b)/2] },
		"bit flip":      func(b []byte) []byte { b[len(b)/3] ^= 4; return b },
		"empty":         func(b []byte) []byte { return nil },
		"trailer flip":  func(b []byte) []byte { b[len(b)-10] ^= 1; return b },
		"entry dropped": func(b []byte) []byte { return append(b[:0:0], b[40:]...) },
	}
	for name, damage := range damages {
		t.Run(name, func(t *testing.T) {
			os.WriteFile(hints[0], damage(append([]byte{}, orig...)), 0o600)
			if got := keysOf(t, dir); !equalKeydirs(got, want) {
				t.Fatal("a damaged hint file changed the key directory")
			}
		})
	}
	os.WriteFile(hints[0], orig, 0o600)
	db = mustOpenDir(t, dir, smallFiles)
	wantModel(t, db, model)
}

// TestMergeUnderLoad merges again and again while writers overwrite and
// delete and readers read; the result must match the writers' model.
func TestMergeUnderLoad(t *testing.T) {
	dir := t.TempDir()
	db := mustOpenDir(t, dir, &Options{MaxFileSize: 8 << 10, MergeRatio: -1})
	const writers = 4
	models := make([]map[string]string, writers)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 9))
			model := map[string]string{}
			for i := range 4000 {
				key := fmt.Sprintf("w%d-%d", w, r.IntN(100))
				if r.IntN(4) == 0 {
					if err := db.Delete([]byte(key)); err != nil && !errors.Is(err, ErrNotFound) {
						t.Error(err)
						return
					}
					delete(model, key)
					continue
				}
				v := fmt.Sprintf("%d-%d", i, r.Uint64())
				if err := db.Put([]byte(key), []byte(v)); err != nil {
					t.Error(err)
					return
				}
				model[key] = v
			}
			models[w] = model
		})
	}
	merges := 0
	mergeDone := make(chan struct{})
	go func() {
		defer close(mergeDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := db.Merge(); err != nil {
				t.Error(err)
				return
			}
			merges++
		}
	}()
	wg.Wait()
	close(stop)
	<-mergeDone
	check := func(db *DB) {
		for w, model := range models {
			for i := range 100 {
				key := fmt.Sprintf("w%d-%d", w, i)
				if v, ok := model[key]; ok {
					wantValue(t, db, key, v)
				} else {
					wantNotFound(t, db, key)
				}
			}
		}
	}
	check(db)
	db.Close()
	check(mustOpenDir(t, dir, nil))
	t.Logf("%d merges ran during the load", merges)
	if merges < 2 {
		t.Fatalf("only %d merges ran during the load", merges)
	}
}

func TestMergeRunning(t *testing.T) {
	db := mustOpen(t, smallFiles)
	churn(t, db, 4, 1000)
	inside, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	first := make(chan error)
	go func() {
		first <- db.MergeWithProgress(func(done, total int64) {
			once.Do(func() { close(inside); <-release })
		})
	}()
	<-inside
	if !db.Stats().MergeRunning {
		t.Error("Stats().MergeRunning = false during a merge")
	}
	if err := db.Merge(); !errors.Is(err, ErrMergeRunning) {
		t.Errorf("Merge during a merge = %v, want ErrMergeRunning", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first Merge = %v", err)
	}
}

func TestAutoMerge(t *testing.T) {
	opts := &Options{MaxFileSize: 16 << 10, MergeRatio: 0.5, mergeCheck: 10 * time.Millisecond}
	db := mustOpen(t, opts)
	model := churn(t, db, 5, 2000)
	for range 300 {
		if db.Stats().Merges > 0 {
			wantModel(t, db, model)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no automatic merge ran; stats %+v", db.Stats())
}

// TestDeletedStaysDeleted deletes keys whose values sit in older files,
// merges, reopens: they must never come back.
func TestDeletedStaysDeleted(t *testing.T) {
	dir := t.TempDir()
	db := mustOpenDir(t, dir, smallFiles)
	for i := range 500 {
		mustPut(t, db, fmt.Sprintf("key%03d", i%200), fmt.Sprint(i))
	}
	for i := range 100 {
		db.Delete([]byte(fmt.Sprintf("key%03d", i)))
	}
	db.Merge()
	mustPut(t, db, "key150", "after merge")
	db.Delete([]byte("key150"))
	db.Close()
	for range 2 {
		db = mustOpenDir(t, dir, smallFiles)
		for i := range 100 {
			wantNotFound(t, db, fmt.Sprintf("key%03d", i))
		}
		wantNotFound(t, db, "key150")
		db.Merge()
		db.Close()
	}
}

// TestMergeMoreOutputsThanInputs merges files that hold more than
// MaxFileSize each: written with a larger MaxFileSize, or a batch larger
// than MaxFileSize (written whole into one file). The merge makes more
// files than it reads; it failed when it reserved ids for only as many,
// and left its outputs behind at each try.
func TestMergeMoreOutputsThanInputs(t *testing.T) {
	val := strings.Repeat("v", 100)
	check := func(t *testing.T, db *DB) {
		t.Helper()
		if err := db.Merge(); err != nil {
			t.Fatalf("Merge = %v", err)
		}
		for i := range 100 {
			wantValue(t, db, fmt.Sprintf("key%03d", i), val)
		}
	}
	t.Run("MaxFileSize lowered", func(t *testing.T) {
		dir := t.TempDir()
		db := mustOpenDir(t, dir, nil)
		for i := range 100 {
			mustPut(t, db, fmt.Sprintf("key%03d", i), val)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db = mustOpenDir(t, dir, &Options{MaxFileSize: 4096})
		defer db.Close()
		check(t, db)
	})
	t.Run("batch larger than a file", func(t *testing.T) {
		db := mustOpen(t, &Options{MaxFileSize: 4096})
		b := db.NewBatch()
		for i := range 100 {
			b.Put([]byte(fmt.Sprintf("key%03d", i)), []byte(val))
		}
		if err := db.Write(b); err != nil {
			t.Fatal(err)
		}
		check(t, db)
	})
}

// TestMergeRemovalFailureKeepsDeletesDeleted: a merge whose removal of an
// input failed left that input on disk but forgot it; the next merge
// dropped tombstones that still shadowed values in it, and after a restart
// every deleted key came back (200 of 200). The next merge now removes
// such files first, or does not run.
func TestMergeRemovalFailureKeepsDeletesDeleted(t *testing.T) {
	dir := t.TempDir()
	opts := Options{MaxFileSize: 4096, MergeRatio: -1}
	db, fs := openFaulty(t, dir, opts)
	for i := range 200 {
		mustPut(t, db, fmt.Sprintf("k%03d", i), strings.Repeat("v", 50))
	}
	var failOnce atomic.Bool
	failOnce.Store(true)
	fs.InjectFunc(func(op errfs.Op, name string) error {
		if op == errfs.OpRemove && strings.HasSuffix(name, ".log") && failOnce.CompareAndSwap(true, false) {
			return syscall.EIO // one transient failure of unlink(2)
		}
		return nil
	})
	if err := db.Merge(); err == nil {
		t.Fatal("the first merge hid the failed removal")
	}
	fs.Reset()
	// Delete every key, merge again (successfully), close, reopen.
	for i := range 200 {
		if err := db.Delete([]byte(fmt.Sprintf("k%03d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Merge(); err != nil {
		t.Fatalf("second merge: %v", err)
	}
	for i := range 200 {
		wantNotFound(t, db, fmt.Sprintf("k%03d", i))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2 := mustOpenDir(t, dir, &Options{MaxFileSize: 4096, MergeRatio: -1})
	back := 0
	for i := range 200 {
		if _, err := db2.Get([]byte(fmt.Sprintf("k%03d", i))); err == nil {
			back++
		}
	}
	if back > 0 {
		t.Fatalf("%d of 200 deleted keys came back after restart (Len=%d)", back, db2.Len())
	}
}

// TestMergeWhenFileIDsRunOut: file ids only grow, and a merge reserves a
// range of them. Near the top of uint32 the new active file's id wrapped,
// and the next Put panicked; the merge now fails with an error instead,
// and the store goes on.
func TestMergeWhenFileIDsRunOut(t *testing.T) {
	dir := t.TempDir()
	db := mustOpenDir(t, dir, &Options{MergeRatio: -1})
	mustPut(t, db, "a", "old")
	db.Close()
	dropCheckpoint(t, dir)
	if err := os.Rename(activeLog(dir), filepath.Join(dir, "4294967290.log")); err != nil {
		t.Fatal(err)
	}
	db = mustOpenDir(t, dir, &Options{MergeRatio: -1})
	mustPut(t, db, "b", "x")
	if err := db.Merge(); err == nil || !strings.Contains(err.Error(), "file ids are used up") {
		t.Fatalf("Merge near the last file id = %v, want the ids used up", err)
	}
	mustPut(t, db, "a", "new")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpenDir(t, dir, &Options{MergeRatio: -1})
	defer db.Close()
	wantValue(t, db, "a", "new")
	wantValue(t, db, "b", "x")
}

// TestRotationWhenFileIDsRunOut: rotation near the top of uint32 named a
// file 4294967295.log, which Open rejects, and the next id wrapped to 0:
// the store no longer opened. The write that needs a new file is now
// refused, and everything written before stays readable after reopen.
func TestRotationWhenFileIDsRunOut(t *testing.T) {
	dir := t.TempDir()
	opts := &Options{MergeRatio: -1, MaxFileSize: 4096}
	db := mustOpenDir(t, dir, opts)
	mustPut(t, db, "a", "old")
	db.Close()
	dropCheckpoint(t, dir)
	if err := os.Rename(activeLog(dir), filepath.Join(dir, "4294967290.log")); err != nil {
		t.Fatal(err)
	}
	db = mustOpenDir(t, dir, opts)
	val := strings.Repeat("v", 1000)
	written := 0
	var err error
	for i := range 40 { // ~10 rotations, more than the ids left
		if err = db.Put([]byte(fmt.Sprintf("k%02d", i)), []byte(val)); err != nil {
			break
		}
		written++
	}
	if err == nil || !strings.Contains(err.Error(), "file ids are used up") {
		t.Fatalf("Put after the last file id = %v, want the ids used up", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpenDir(t, dir, opts)
	defer db.Close()
	wantValue(t, db, "a", "old")
	for i := range written {
		wantValue(t, db, fmt.Sprintf("k%02d", i), val)
	}
}
