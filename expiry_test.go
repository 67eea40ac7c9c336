package aetherkv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestPutWithTTL(t *testing.T) {
	dir := t.TempDir()
	db := mustOpenDir(t, dir, nil)
	mustPut(t, db, "short", "old value without a deadline")
	if err := db.PutWithTTL([]byte("short"), []byte("v"), 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := db.PutWithTTL([]byte("long"), []byte("w"), time.Hour); err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, "plain", "x")
	if err := db.PutWithTTL([]byte("k"), []byte("v"), 0); !errors.Is(err, ErrInvalidTTL) {
		t.Fatalf("PutWithTTL(0) = %v, want ErrInvalidTTL", err)
	}
	wantValue(t, db, "short", "v")
	if got, err := db.ExpiresAt([]byte("long")); err != nil || time.Until(got) < 59*time.Minute {
		t.Fatalf("ExpiresAt(long) = %v, %v; want about an hour from now", got, err)
	}
	if got, err := db.ExpiresAt([]byte("plain")); err != nil || !got.IsZero() {
		t.Fatalf("ExpiresAt(plain) = %v, %v; want the zero time", got, err)
	}
	time.Sleep(150 * time.Millisecond)
	wantNotFound(t, db, "short")
	if _, err := db.ExpiresAt([]byte("short")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ExpiresAt(expired) = %v, want ErrNotFound", err)
	}
	if n := db.Len(); n != 2 {
		t.Fatalf("Len() = %d, want 2 (the expired key not counted)", n)
	}
	for key, err := range db.Keys(nil) {
		if err != nil || string(key) == "short" {
			t.Fatalf("Keys yielded %q, %v: an expired key is visible", key, err)
		}
	}
	if err := db.Delete([]byte("short")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete(expired) = %v, want ErrNotFound", err)
	}
	db.Close()

	// The deadlines survive a restart; the expired key stays gone, and its
	// older value without a deadline does not come back.
	db = mustOpenDir(t, dir, nil)
	wantNotFound(t, db, "short")
	wantValue(t, db, "long", "w")
	if got, err := db.ExpiresAt([]byte("long")); err != nil || time.Until(got) < 59*time.Minute {
		t.Fatalf("ExpiresAt(long) after reopen = %v, %v", got, err)
	}
}

func TestExpire(t *testing.T) {
	db := mustOpen(t, nil)
	mustPut(t, db, "k", "v")
	deadline := time.Now().Add(time.Hour)
	if err := db.Expire([]byte("k"), deadline); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.ExpiresAt([]byte("k")); got.UnixNano() != deadline.UnixNano() {
		t.Fatalf("ExpiresAt after Expire = %v, want %v", got, deadline)
	}
	wantValue(t, db, "k", "v")
	if err := db.Expire([]byte("k"), time.Time{}); err != nil { // persist
		t.Fatal(err)
	}
	if got, _ := db.ExpiresAt([]byte("k")); !got.IsZero() {
		t.Fatalf("ExpiresAt after removing the deadline = %v", got)
	}
	if err := db.Expire([]byte("k"), time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, db, "k")
	if err := db.Expire([]byte("missing"), deadline); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Expire(missing) = %v, want ErrNotFound", err)
	}
}

// TestMergeDropsExpired: a merge copies no expired value; deadlines of the
// others go through the merge and its hint files.
func TestMergeDropsExpired(t *testing.T) {
	dir := t.TempDir()
	db := mustOpenDir(t, dir, smallFiles)
	b := db.NewBatch()
	for i := range 300 {
		b.PutWithTTL([]byte(fmt.Sprint("gone", i)), make([]byte, 100), 50*time.Millisecond)
	}
	if err := db.Write(b); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if err := db.PutWithTTL([]byte(fmt.Sprint("kept", i)), []byte("v"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if err := db.Merge(); err != nil {
		t.Fatal(err)
	}
	st := db.Stats()
	if st.Keys != 100 || st.DataBytes > 100*64 {
		t.Fatalf("after merging expired keys: %d keys, %d data bytes; want 100 keys and no expired values kept", st.Keys, st.DataBytes)
	}
	db.Close()
	if hints, _ := filepath.Glob(filepath.Join(dir, "*.hint")); len(hints) == 0 {
		t.Fatal("no hint files")
	}
	db = mustOpenDir(t, dir, smallFiles)
	if got, err := db.ExpiresAt([]byte("kept7")); err != nil || time.Until(got) < 59*time.Minute {
		t.Fatalf("ExpiresAt(kept7) after merge and reopen from hints = %v, %v", got, err)
	}
	wantNotFound(t, db, "gone7")
	if n := db.Len(); n != 100 {
		t.Fatalf("Len() = %d, want 100", n)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
}

// TestFarDeadlines: deadlines past what Unix nanoseconds hold (the year
// 2262) keep the value until that last instant. time.UnixNano is undefined
// there and gave a deadline in the past: a value put for 290 years was
// gone at once, after Put returned nil. Deadlines before 1970 are long
// past.
func TestFarDeadlines(t *testing.T) {
	db := mustOpen(t, nil)
	centuries := 290 * 365 * 24 * time.Hour // nearly the longest Duration; now + that is past 2262
	if err := db.PutWithTTL([]byte("ttl"), []byte("v"), centuries); err != nil {
		t.Fatal(err)
	}
	if err := db.PutWithDeadline([]byte("deadline"), []byte("v"), time.Unix(1<<40, 0)); err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, "expire", "v")
	if err := db.Expire([]byte("expire"), time.Now().Add(centuries)); err != nil {
		t.Fatal(err)
	}
	b := db.NewBatch()
	b.PutWithDeadline([]byte("batch"), []byte("v"), time.Unix(1<<40, 0))
	if err := db.Write(b); err != nil {
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		for _, k := range []string{"ttl", "deadline", "expire", "batch"} {
			wantValue(t, db, k, "v")
			at, err := db.ExpiresAt([]byte(k))
			if err != nil || at.Year() != 2262 {
				t.Errorf("ExpiresAt(%s) = %v, %v; want the last instant of 2262", k, at, err)
			}
		}
	}
	check()
	dir := db.Dir()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpenDir(t, dir, nil)
	defer db.Close()
	check()
	if err := db.PutWithDeadline([]byte("past"), []byte("v"), time.Unix(-1<<40, 0)); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, db, "past")
}
