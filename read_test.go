package aetherkv

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGetBesideWritesMergesAndClose runs readers, which take no DB lock
// (read.go), beside a writer that rotates files every few kilobytes, a
// loop of merges that retire the files the readers read, and at last
// Close. Every Get must return the key's own value, never an older one
// than the same reader saw before, and after Close only ErrClosed. Under
// the race detector (CI), it also checks that the readers touch nothing a
// writer changes without a lock between them.
func TestGetBesideWritesMergesAndClose(t *testing.T) {
	const keys = 500
	db, err := Open(t.TempDir(), &Options{MergeRatio: -1, MaxFileSize: 16 << 10, SyncInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	key := func(i int) []byte { return fmt.Appendf(nil, "key-%04d", i) }
	value := func(i, version int) []byte { return fmt.Appendf(nil, "key-%04d=%08d", i, version) }
	for i := range keys {
		if err := db.Put(key(i), value(i, 0)); err != nil {
			t.Fatal(err)
		}
	}

	var version atomic.Int64 // the newest version written of every key
	stopWriting := make(chan struct{})
	var writers sync.WaitGroup
	writers.Go(func() {
		for v := 1; ; v++ {
			for i := range keys {
				select {
				case <-stopWriting:
					return
				default:
				}
				if err := db.Put(key(i), value(i, v)); err != nil {
					t.Errorf("put: %v", err)
					return
				}
			}
			version.Store(int64(v))
		}
	})
	var merges atomic.Int64
	writers.Go(func() { mergeUntil(t, db, stopWriting, &merges) })

	var closed atomic.Bool
	var readers sync.WaitGroup
	var gets atomic.Int64
	for r := range 2 {
		readers.Go(func() {
			seen := make([]int, keys) // the newest version this reader saw of each key
			dst := make([]byte, 0, 64)
			for n := r; ; n++ {
				i := (n * 7) % keys
				wasClosed := closed.Load()
				v, err := db.GetInto(dst[:0], key(i))
				if errors.Is(err, ErrClosed) {
					return
				}
				if wasClosed {
					t.Errorf("Get after Close = %q, %v; want ErrClosed", v, err)
					return
				}
				if err != nil {
					t.Errorf("Get(%s) = %v", key(i), err)
					return
				}
				prefix, num, ok := bytes.Cut(v, []byte("="))
				ver, perr := strconv.Atoi(string(num))
				if !ok || perr != nil || !bytes.Equal(prefix, key(i)) {
					t.Errorf("Get(%s) = %q: not its value", key(i), v)
					return
				}
				if ver < seen[i] {
					t.Errorf("Get(%s) = version %d after version %d", key(i), ver, seen[i])
					return
				}
				seen[i] = ver
				gets.Add(1)
			}
		})
	}

	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && (merges.Load() < 5 || version.Load() < 20) && !t.Failed() {
		time.Sleep(10 * time.Millisecond)
	}
	close(stopWriting)
	writers.Wait()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	closed.Store(true)
	readers.Wait()
	if merges.Load() == 0 || version.Load() < 2 {
		t.Fatalf("the test did too little: %d merges, %d versions", merges.Load(), version.Load())
	}
	t.Logf("%d gets beside %d versions of %d keys and %d merges", gets.Load(), version.Load(), keys, merges.Load())
}

// TestGetTakesNoDBLock reads while a writer holds the DB's lock (as it
// does while it writes its buffer out, or fsyncs a file it rotates out):
// keys in the files are read at once, in closed files and in the active
// one; only a key whose record is still in the write buffer waits.
func TestGetTakesNoDBLock(t *testing.T) {
	db := mustOpen(t, &Options{MergeRatio: -1, MaxFileSize: 4 << 10})
	for i := range 100 { // several files
		mustPut(t, db, fmt.Sprintf("file-%03d", i), fmt.Sprintf("value-%03d", i))
	}
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, "buffered", "not yet in the file")

	get := func(key string) <-chan string {
		c := make(chan string, 1)
		go func() {
			v, err := db.Get([]byte(key))
			c <- fmt.Sprintf("%s %v", v, err)
		}()
		return c
	}
	db.mu.Lock()
	for _, i := range []int{0, 50, 99} { // the first files, and the active one
		select {
		case got := <-get(fmt.Sprintf("file-%03d", i)):
			if want := fmt.Sprintf("value-%03d <nil>", i); got != want {
				t.Errorf("Get(file-%03d) = %s, want %s", i, got, want)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Get(file-%03d) waited for the DB's lock", i)
		}
	}
	buffered := get("buffered")
	select {
	case got := <-buffered:
		t.Errorf("Get(buffered) = %s while the writer held the buffer", got)
	case <-time.After(50 * time.Millisecond):
	}
	db.mu.Unlock()
	if got, want := <-buffered, "not yet in the file <nil>"; got != want {
		t.Errorf("Get(buffered) = %s, want %s", got, want)
	}
}
