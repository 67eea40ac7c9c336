package aetherkv

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestPutWithDeadline(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour).Truncate(time.Nanosecond)
	if err := db.Put([]byte("old"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := db.PutWithDeadline([]byte("old"), []byte("2"), time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := db.PutWithDeadline([]byte("later"), []byte("v"), future); err != nil {
		t.Fatal(err)
	}
	if err := db.PutWithDeadline([]byte("plain"), []byte("p"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	check := func(db *DB) {
		t.Helper()
		if _, err := db.Get([]byte("old")); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(old) after a past deadline: err = %v, want ErrNotFound", err)
		}
		if d, err := db.ExpiresAt([]byte("later")); err != nil || !d.Equal(future) {
			t.Errorf("ExpiresAt(later) = %v, %v, want %v", d, err, future)
		}
		if d, err := db.ExpiresAt([]byte("plain")); err != nil || !d.IsZero() {
			t.Errorf("ExpiresAt(plain) = %v, %v, want no deadline", d, err)
		}
	}
	check(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	check(db)
}

func TestBatchAll(t *testing.T) {
	b := (&DB{}).NewBatch()
	deadline := time.Unix(100, 5)
	b.Put([]byte("a"), []byte("1"))
	b.Delete([]byte("b"))
	b.PutWithDeadline([]byte("c"), []byte("3"), deadline)
	var got []BatchOp
	for op := range b.All() {
		got = append(got, op)
		if len(got) == 2 {
			break
		}
	}
	if len(got) != 2 || string(got[0].Key) != "a" || !bytes.Equal(got[0].Value, []byte("1")) || got[0].Delete ||
		string(got[1].Key) != "b" || !got[1].Delete || got[1].Value != nil {
		t.Fatalf("All() stopped after 2 = %+v", got)
	}
	got = got[:0]
	for op := range b.All() {
		got = append(got, op)
	}
	if len(got) != 3 || string(got[2].Key) != "c" || !got[2].Deadline.Equal(deadline) || !got[0].Deadline.IsZero() {
		t.Fatalf("All() = %+v", got)
	}
}
