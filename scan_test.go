package aetherkv

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestScanVisitsEveryKeyOnce(t *testing.T) {
	db := mustOpen(t, nil)
	for i := range 5000 {
		mustPut(t, db, fmt.Sprintf("k%05d", i), "v")
	}
	for _, count := range []int{1, 10, 100000} {
		t.Run(fmt.Sprint("count=", count), func(t *testing.T) {
			seen := map[string]int{}
			var cursor uint64
			calls := 0
			for {
				keys, next, err := db.Scan(cursor, count, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range keys {
					seen[string(k)]++
				}
				calls++
				if next == 0 {
					break
				}
				cursor = next
			}
			if len(seen) != 5000 {
				t.Fatalf("Scan visited %d distinct keys, want 5000", len(seen))
			}
			for k, n := range seen {
				if n != 1 {
					t.Fatalf("Scan returned %q %d times", k, n)
				}
			}
			if count >= 5000 && calls != 1 {
				t.Fatalf("Scan with count %d took %d calls, want 1", count, calls)
			}
		})
	}
}

// TestKeysUnderWrites iterates while writers add and delete other keys:
// every key present throughout is yielded exactly once.
func TestKeysUnderWrites(t *testing.T) {
	db := mustOpen(t, nil)
	for i := range 3000 {
		mustPut(t, db, fmt.Sprintf("stable:%d", i), "v")
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			key := []byte(fmt.Sprintf("churn:%d", i%500))
			db.Put(key, []byte("x"))
			if i%3 == 0 {
				db.Delete(key)
			}
		}
	})
	seen := map[string]int{}
	for key, err := range db.Keys([]byte("stable:")) {
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(key), "stable:") {
			t.Fatalf("Keys(stable:) yielded %q", key)
		}
		seen[string(key)]++
	}
	close(stop)
	wg.Wait()
	if len(seen) != 3000 {
		t.Fatalf("Keys yielded %d distinct stable keys, want 3000", len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("Keys yielded %q %d times", k, n)
		}
	}
}

func TestKeysAfterClose(t *testing.T) {
	db, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	n := 0
	for key, err := range db.Keys(nil) {
		n++
		if key != nil || !errors.Is(err, ErrClosed) {
			t.Fatalf("Keys after Close yielded %q, %v; want nil, ErrClosed", key, err)
		}
	}
	if n != 1 {
		t.Fatalf("Keys after Close yielded %d times, want once (the error)", n)
	}
}
