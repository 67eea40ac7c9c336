package aetherkv

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestBatchWrite(t *testing.T) {
	dir := t.TempDir()
	db := mustOpenDir(t, dir, nil)
	mustPut(t, db, "gone", "x")
	b := db.NewBatch()
	b.Put([]byte("a"), []byte("1"))
	b.Put([]byte("b"), []byte("2"))
	b.Delete([]byte("gone"))
	b.Delete([]byte("never-there"))
	b.Put([]byte("a"), []byte("3")) // later ops win
	if err := db.Write(b); err != nil {
		t.Fatalf("Write = %v", err)
	}
	check := func(db *DB) {
		wantValue(t, db, "a", "3")
		wantValue(t, db, "b", "2")
		wantNotFound(t, db, "gone")
		if db.Len() != 2 {
			t.Fatalf("Len() = %d, want 2", db.Len())
		}
	}
	check(db)
	db.Close()
	check(mustOpenDir(t, dir, nil))
}

func TestBatchRefusedWhole(t *testing.T) {
	db := mustOpen(t, &Options{MaxKeySize: 4})
	b := db.NewBatch()
	b.Put([]byte("ok"), []byte("1"))
	b.Put([]byte("too-long"), []byte("2"))
	if err := db.Write(b); !errors.Is(err, ErrKeyTooLarge) || !strings.Contains(err.Error(), "operation 1") {
		t.Fatalf("Write with a bad key = %v, want ErrKeyTooLarge naming operation 1", err)
	}
	wantNotFound(t, db, "ok")
	if err := db.Write(db.NewBatch()); err != nil {
		t.Fatalf("Write(empty batch) = %v", err)
	}
}

// TestBatchIsolation: readers never see part of a batch. A writer sets
// every key of a group to the same round number in one batch; readers
// check that all keys of the group agree, and, reading them one by one
// through Get, that none is older than one read before it.
func TestBatchIsolation(t *testing.T) {
	db := mustOpen(t, &Options{BatchSize: 256})
	const keys = 8
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		b := db.NewBatch()
		for round := 0; ; round++ {
			select {
			case <-stop:
				return
			default:
			}
			b.Reset()
			for k := range keys {
				b.Put([]byte(fmt.Sprint("g", k)), []byte(fmt.Sprint(round)))
			}
			if err := db.Write(b); err != nil {
				t.Error(err)
				return
			}
		}
	})
	// Through Get, which takes no DB lock when the record is in a file
	// (read.go): reading the group in the order the batch sets it, no key
	// may have an older round than one read before it, or the reader saw
	// a batch that had set the one but not yet the other.
	for range 20000 {
		last := -1
		for k := range keys {
			v, err := db.Get([]byte(fmt.Sprint("g", k)))
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			round, err := strconv.Atoi(string(v))
			if err != nil {
				t.Fatal(err)
			}
			if round < last {
				t.Fatalf("key g%d = round %d after a key of round %d: half a batch is visible", k, round, last)
			}
			last = round
		}
	}
	for range 2000 {
		db.mu.RLock() // read the group as one snapshot, as a reader between two writes would
		var values []string
		for k := range keys {
			v, err := db.getLocked(nil, []byte(fmt.Sprint("g", k)))
			if err != nil && !errors.Is(err, ErrNotFound) {
				t.Error(err)
			}
			values = append(values, string(v))
		}
		db.mu.RUnlock()
		for k, v := range values {
			if v != values[0] {
				t.Fatalf("key g%d = %q while g0 = %q: half a batch is visible", k, v, values[0])
			}
		}
	}
	close(stop)
	wg.Wait()
}

// TestTornBatchEveryOffset cuts the log at every byte of its last batch:
// Open must show none of that batch, all of the ones before, and accept
// new writes.
func TestTornBatchEveryOffset(t *testing.T) {
	src := t.TempDir()
	db := mustOpenDir(t, src, nil)
	b := db.NewBatch()
	b.Put([]byte("k1"), []byte("first"))
	b.Put([]byte("k2"), []byte("first"))
	if err := db.Write(b); err != nil {
		t.Fatal(err)
	}
	db.Sync()
	before := logEnd(db)
	b.Reset()
	b.Put([]byte("k1"), []byte("second"))
	b.Delete([]byte("k2"))
	b.Put([]byte("k3"), []byte("second"))
	if err := db.Write(b); err != nil {
		t.Fatal(err)
	}
	db.Close()
	full, _ := os.ReadFile(activeLog(src))
	for cut := before; cut < int64(len(full)); cut++ {
		dir := t.TempDir()
		os.WriteFile(activeLog(dir), full[:cut], 0o600)
		db, err := Open(dir, nil)
		if err != nil {
			t.Fatalf("cut at %d: Open = %v", cut, err)
		}
		wantValue(t, db, "k1", "first")
		wantValue(t, db, "k2", "first")
		wantNotFound(t, db, "k3")
		if got := fileSize(t, activeLog(dir)); got != before {
			t.Fatalf("cut at %d: log is %d bytes after Open, want %d (the torn batch cut whole)", cut, got, before)
		}
		db.Close()
	}
	dir := t.TempDir()
	os.WriteFile(activeLog(dir), full, 0o600)
	db = mustOpenDir(t, dir, nil)
	wantValue(t, db, "k1", "second")
	wantNotFound(t, db, "k2")
	wantValue(t, db, "k3", "second")
}

// TestBatchMergeAndCheck: merged batch values stay; an interrupted batch
// in the middle of a file is corruption that Check reports and Repair
// drops whole.
func TestBatchMergeAndCheck(t *testing.T) {
	dir := t.TempDir()
	db := mustOpenDir(t, dir, smallFiles)
	for i := range 200 {
		b := db.NewBatch()
		b.Put([]byte(fmt.Sprint("a", i%50)), []byte(fmt.Sprint(i)))
		b.Put([]byte(fmt.Sprint("b", i%50)), []byte(fmt.Sprint(i)))
		if err := db.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	for i := 150; i < 200; i++ {
		wantValue(t, db, fmt.Sprint("a", i%50), fmt.Sprint(i))
	}
	db.Close()
	if r := mustCheck(t, dir); r.Corrupt() || r.LiveKeys != 100 {
		t.Fatalf("Check after batches and a merge = corrupt %t, %d keys; want clean, 100", r.Corrupt(), r.LiveKeys)
	}
}

// TestRepairDropsOnlyTheBrokenBatch damages the commit record of one batch
// in the middle of the log: Check reports that batch, Repair drops it
// whole, and the batches around it survive.
func TestRepairDropsOnlyTheBrokenBatch(t *testing.T) {
	dir := t.TempDir()
	db := mustOpenDir(t, dir, nil)
	var ends []int64
	for i, name := range []string{"a", "b", "c"} {
		b := db.NewBatch()
		b.Put([]byte(name+"1"), []byte(fmt.Sprint(i)))
		b.Put([]byte(name+"2"), []byte(fmt.Sprint(i)))
		if err := db.Write(b); err != nil {
			t.Fatal(err)
		}
		db.Sync()
		ends = append(ends, logEnd(db))
	}
	db.Close()
	dropCheckpoint(t, dir) // Open reads the file, and finds the damage
	raw, _ := os.ReadFile(activeLog(dir))
	raw[ends[1]-2] ^= 0xFF // inside batch b's commit record
	os.WriteFile(activeLog(dir), raw, 0o600)
	if _, err := Open(dir, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open with a broken batch mid-file = %v, want ErrCorrupt", err)
	}
	r := mustCheck(t, dir)
	d := r.Files[0].Damage
	if !r.Corrupt() || len(d) != 1 || d[0].Offset != ends[0] || d[0].Offset+d[0].Length != ends[1] {
		t.Fatalf("Check damage = %+v, want exactly batch b [%d, %d)", d, ends[0], ends[1])
	}
	if _, _, err := Repair(dir, nil, nil); err != nil {
		t.Fatal(err)
	}
	db = mustOpenDir(t, dir, nil)
	wantValue(t, db, "a1", "0")
	wantValue(t, db, "a2", "0")
	wantNotFound(t, db, "b1")
	wantNotFound(t, db, "b2")
	wantValue(t, db, "c1", "2")
	wantValue(t, db, "c2", "2")
}
