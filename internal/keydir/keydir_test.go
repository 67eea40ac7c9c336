package keydir_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aether-kv/aether-kv/internal/keydir"
)

func TestGetPutDelete(t *testing.T) {
	// Each op checks what its call returns: the entry found, replaced or
	// deleted, and whether there was one.
	type op struct {
		do    string // "put", "del" or "get"
		key   string
		entry keydir.Entry // put: the new entry
		want  keydir.Entry // the entry returned
		ok    bool         // the bool returned
	}
	none := keydir.Entry{}
	e1 := keydir.Entry{FileID: 1, Size: 30, Offset: 0}
	e2 := keydir.Entry{FileID: 2, Size: 4096, Offset: 1 << 40}
	tests := []struct {
		name    string
		ops     []op
		wantLen int
	}{
		{"empty", []op{{"get", "a", none, none, false}}, 0},
		{"put then get", []op{{"put", "a", e1, none, false}, {"get", "a", none, e1, true}, {"get", "b", none, none, false}}, 1},
		{"overwrite", []op{{"put", "a", e1, none, false}, {"put", "a", e2, e1, true}, {"get", "a", none, e2, true}}, 1},
		{"overwrite with the same", []op{{"put", "a", e1, none, false}, {"put", "a", e1, e1, true}}, 1},
		{"two keys", []op{{"put", "a", e1, none, false}, {"put", "b", e2, none, false}, {"get", "a", none, e1, true}, {"get", "b", none, e2, true}}, 2},
		{"delete", []op{{"put", "a", e1, none, false}, {"del", "a", none, e1, true}, {"get", "a", none, none, false}}, 0},
		{"delete missing", []op{{"put", "a", e1, none, false}, {"del", "b", none, none, false}, {"get", "a", none, e1, true}}, 1},
		{"delete twice", []op{{"put", "a", e1, none, false}, {"del", "a", none, e1, true}, {"del", "a", none, none, false}}, 0},
		{"put after delete", []op{{"put", "a", e1, none, false}, {"del", "a", none, e1, true}, {"put", "a", e2, none, false}, {"get", "a", none, e2, true}}, 1},
		{"binary keys", []op{{"put", "\x00\xff", e1, none, false}, {"put", "\x00", e2, none, false}, {"get", "\x00\xff", none, e1, true}, {"get", "\x00", none, e2, true}, {"get", "\x00\xfe", none, none, false}}, 2},
		{"empty key", []op{{"put", "", e1, none, false}, {"get", "", none, e1, true}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := keydir.New()
			for _, o := range tt.ops {
				var got keydir.Entry
				var ok bool
				switch o.do {
				case "put":
					got, ok = k.Put([]byte(o.key), o.entry)
				case "del":
					got, ok = k.Delete([]byte(o.key))
				case "get":
					got, ok = k.Get([]byte(o.key))
				}
				if got != o.want || ok != o.ok {
					t.Errorf("%s(%q) = %+v, %t, want %+v, %t", o.do, o.key, got, ok, o.want, o.ok)
				}
			}
			if got := k.Len(); got != tt.wantLen {
				t.Errorf("Len() = %d, want %d", got, tt.wantLen)
			}
		})
	}
}

func TestCompareAndSwap(t *testing.T) {
	e1 := keydir.Entry{FileID: 1, Size: 30, Offset: 0}
	e2 := keydir.Entry{FileID: 2, Size: 30, Offset: 64}
	e3 := keydir.Entry{FileID: 3, Size: 30, Offset: 128}
	tests := []struct {
		name    string
		present bool // whether "k" holds e1 before the call
		old     keydir.Entry
		want    bool
		after   keydir.Entry
		found   bool
	}{
		{"matches", true, e1, true, e2, true},
		{"stale", true, e3, false, e1, true},
		{"zero old", true, keydir.Entry{}, false, e1, true},
		{"missing", false, e1, false, keydir.Entry{}, false},
		{"missing, zero old", false, keydir.Entry{}, false, keydir.Entry{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := keydir.New()
			k.Put([]byte("other"), e1)
			if tt.present {
				k.Put([]byte("k"), e1)
			}
			if got := k.CompareAndSwap([]byte("k"), tt.old, e2); got != tt.want {
				t.Errorf("CompareAndSwap(k, %+v, %+v) = %t, want %t", tt.old, e2, got, tt.want)
			}
			if got, ok := k.Get([]byte("k")); got != tt.after || ok != tt.found {
				t.Errorf("Get(k) after CompareAndSwap = %+v, %t, want %+v, %t", got, ok, tt.after, tt.found)
			}
			if got, _ := k.Get([]byte("other")); got != e1 {
				t.Errorf("Get(other) = %+v, want %+v untouched", got, e1)
			}
		})
	}
}

// TestPutCopiesKey: the caller may reuse its slice after Put.
func TestPutCopiesKey(t *testing.T) {
	k := keydir.New()
	key := []byte("alpha")
	e := keydir.Entry{FileID: 3, Size: 40, Offset: 100}
	k.Put(key, e)
	copy(key, "omega")
	if got, ok := k.Get([]byte("alpha")); !ok || got != e {
		t.Errorf("Get(%q) after changing the Put slice = %+v, %t, want %+v, true", "alpha", got, ok, e)
	}
	if _, ok := k.Get([]byte("omega")); ok {
		t.Errorf("Get(%q) found the changed slice's contents, want not found", "omega")
	}
	var stored []string
	k.Range(func(key []byte, _ keydir.Entry) bool {
		stored = append(stored, string(key))
		return true
	})
	if len(stored) != 1 || stored[0] != "alpha" {
		t.Errorf("Range saw keys %q, want [alpha]", stored)
	}
}

func TestRange(t *testing.T) {
	k := keydir.New()
	want := make(map[string]keydir.Entry)
	for i := range 1000 {
		key := fmt.Sprintf("key-%04d", i)
		e := keydir.Entry{FileID: uint32(i % 7), Size: uint32(i), Offset: int64(i) * 100}
		k.Put([]byte(key), e)
		want[key] = e
	}
	for i := 0; i < 1000; i += 3 {
		key := fmt.Sprintf("key-%04d", i)
		k.Delete([]byte(key))
		delete(want, key)
	}
	got := make(map[string]keydir.Entry)
	k.Range(func(key []byte, e keydir.Entry) bool {
		if _, dup := got[string(key)]; dup {
			t.Errorf("Range visited %q twice", key)
		}
		got[string(key)] = e
		return true
	})
	if !maps.Equal(got, want) {
		t.Errorf("Range visited %d keys, want %d: the keys that remain", len(got), len(want))
	}
	if k.Len() != len(want) {
		t.Errorf("Len() = %d, want %d", k.Len(), len(want))
	}
}

func TestRangeStops(t *testing.T) {
	tests := []struct {
		name  string
		keys  int
		stop  int // fn returns false on this call
		calls int
	}{
		{"empty", 0, 1, 0},
		{"first", 10, 1, 1},
		{"third", 10, 3, 3},
		{"never", 10, 11, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := keydir.New()
			for i := range tt.keys {
				k.Put(fmt.Appendf(nil, "k%d", i), keydir.Entry{})
			}
			calls := 0
			k.Range(func([]byte, keydir.Entry) bool {
				calls++
				return calls != tt.stop
			})
			if calls != tt.calls {
				t.Errorf("Range over %d keys, stopping at call %d: %d calls, want %d", tt.keys, tt.stop, calls, tt.calls)
			}
		})
	}
}

// TestAgainstMap runs a long random mix of operations, heavy in deletes so
// that shards are rebuilt and compacted many times, against a Go map.
func TestAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	k := keydir.New()
	model := map[string]keydir.Entry{}
	for i := range 300_000 {
		key := fmt.Sprintf("k%d", r.IntN(20_000))
		if r.IntN(3) == 0 {
			key += strings.Repeat("x", r.IntN(300)) // keys of many lengths
		}
		e := keydir.Entry{FileID: uint32(i), Size: uint32(r.IntN(1 << 20)), Offset: randomOffset(r)}
		if r.IntN(2) == 0 {
			e.Expire = r.Int64() // entries with and without a deadline take different room
		}
		switch r.IntN(4) {
		case 0, 1:
			old, ok := k.Put([]byte(key), e)
			if want, wantOK := model[key]; old != want || ok != wantOK {
				t.Fatalf("op %d: Put(%q) = %+v, %t, want %+v, %t", i, key, old, ok, want, wantOK)
			}
			model[key] = e
		case 2:
			old, ok := k.Delete([]byte(key))
			if want, wantOK := model[key]; old != want || ok != wantOK {
				t.Fatalf("op %d: Delete(%q) = %+v, %t, want %+v, %t", i, key, old, ok, want, wantOK)
			}
			delete(model, key)
		case 3:
			cur, ok := model[key]
			swapped := k.CompareAndSwap([]byte(key), cur, e)
			if swapped != ok {
				t.Fatalf("op %d: CompareAndSwap(%q) = %t, want %t", i, key, swapped, ok)
			}
			if ok {
				model[key] = e
			}
		}
	}
	wantModel(t, k, model)
	for key, want := range model {
		checkLookup(t, k, key, &want)
	}
	for i := range 1000 {
		if key := fmt.Sprintf("absent-%d", i); model[key] == (keydir.Entry{}) {
			checkLookup(t, k, key, nil)
		}
	}
}

// randomOffset returns offsets that a slot holds and offsets it cannot,
// those at the boundary among them.
func randomOffset(r *rand.Rand) int64 {
	switch r.IntN(4) {
	case 0:
		return r.Int64N(1<<32 - 1)
	case 1:
		return 1<<32 - 1 - r.Int64N(2)
	case 2:
		return r.Int64()
	}
	return r.Int64N(1 << 20)
}

// checkLookup checks that Lookup finds key at the location of want (nil:
// key is absent), by its record's location and by the key in memory.
func checkLookup(t *testing.T, k *keydir.Keydir, key string, want *keydir.Entry) {
	t.Helper()
	var seen []keydir.Location
	found := k.Lookup([]byte(key), func(l keydir.Location) keydir.Verdict {
		seen = append(seen, l)
		if want != nil && l == (keydir.Location{FileID: want.FileID, Offset: want.Offset}) {
			return keydir.Found
		}
		return keydir.Next
	})
	if found != (want != nil) {
		t.Fatalf("Lookup(%q) by location = %t after showing %v, want %t (%+v)", key, found, seen, want != nil, want)
	}
	found = k.Lookup([]byte(key), func(keydir.Location) keydir.Verdict { return keydir.Verify })
	if found != (want != nil) {
		t.Fatalf("Lookup(%q) by the key in memory = %t, want %t", key, found, want != nil)
	}
}

func TestGrow(t *testing.T) {
	k := keydir.New()
	k.Put([]byte("before"), keydir.Entry{FileID: 7})
	k.Grow(100_000, 1_600_000)
	for i := range 100_000 {
		k.Put(fmt.Appendf(nil, "key-%012d", i), keydir.Entry{Offset: int64(i)})
	}
	if got, ok := k.Get([]byte("before")); !ok || got.FileID != 7 {
		t.Fatalf("Get(before) after Grow = %+v, %t", got, ok)
	}
	if got, ok := k.Get([]byte("key-000000099999")); !ok || got.Offset != 99999 {
		t.Fatalf("Get(last) = %+v, %t", got, ok)
	}
}

// TestBatchAgainstMap applies random puts and deletes through Batch, with
// keys repeated inside one batch, and checks the result against a Go map
// that applied them in order.
func TestBatchAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	k := keydir.New()
	model := map[string]keydir.Entry{}
	var b keydir.Batch
	for round := range 20 {
		for i := range 5000 {
			key := fmt.Sprintf("k%d", r.IntN(3000))
			e := keydir.Entry{FileID: uint32(round), Size: uint32(i), Offset: randomOffset(r)}
			if r.IntN(4) == 0 {
				b.Delete(k, []byte(key))
				delete(model, key)
			} else {
				b.Put(k, []byte(key), e)
				model[key] = e
			}
		}
		reports := 0
		var mu sync.Mutex
		k.Apply(&b, 2, func(w int, old keydir.Entry, had bool, e keydir.Entry, put bool) { mu.Lock(); reports++; mu.Unlock() })
		if reports != 5000 || b.Len() != 0 {
			t.Fatalf("round %d: Apply reported %d ops and left %d, want 5000 and 0", round, reports, b.Len())
		}
	}
	if k.Len() != len(model) {
		t.Fatalf("Len() = %d, want %d", k.Len(), len(model))
	}
	for key, want := range model {
		if got, ok := k.Get([]byte(key)); !ok || got != want {
			t.Fatalf("Get(%q) = %+v, %t, want %+v", key, got, ok, want)
		}
		checkLookup(t, k, key, &want)
	}
	for i := range 1000 {
		if key := fmt.Sprintf("absent-%d", i); model[key] == (keydir.Entry{}) {
			checkLookup(t, k, key, nil)
		}
	}
}

// TestBarrierWaitsForLookups: Barrier returns only once a Lookup that was
// running when it was called has returned, and a change waits for it too.
func TestBarrierWaitsForLookups(t *testing.T) {
	k := keydir.New()
	k.Put([]byte("key"), keydir.Entry{FileID: 1, Offset: 8, Size: 30})
	inside, release := make(chan struct{}), make(chan struct{})
	go k.Lookup([]byte("key"), func(keydir.Location) keydir.Verdict {
		close(inside)
		<-release
		return keydir.Found
	})
	<-inside
	barrier, put := make(chan struct{}), make(chan struct{})
	go func() { k.Barrier(); close(barrier) }()
	go func() { k.Put([]byte("key"), keydir.Entry{FileID: 2, Offset: 8, Size: 30}); close(put) }()
	select {
	case <-barrier:
		t.Fatal("Barrier returned while a Lookup was running")
	case <-put:
		t.Fatal("Put changed the shard while a Lookup was running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-barrier
	<-put
	if e, _ := k.Get([]byte("key")); e.FileID != 2 {
		t.Fatalf("after the Put, file %d, want 2", e.FileID)
	}
}

// TestHoldShowsChangesTogether: while Hold has the shards of a group of
// keys, changes to them take no lock (no deadlock) and lookups of them
// wait until Release, then see every change.
func TestHoldShowsChangesTogether(t *testing.T) {
	k := keydir.New()
	keys := [][]byte{[]byte("a"), []byte("b"), []byte("c")}
	k.Hold(slices.Values(keys))
	for _, key := range keys {
		k.Put(key, keydir.Entry{FileID: 7, Offset: 8, Size: 30})
	}
	k.Delete(keys[2])
	looked := make(chan keydir.Location)
	go k.Lookup(keys[0], func(l keydir.Location) keydir.Verdict {
		looked <- l
		return keydir.Found
	})
	select {
	case l := <-looked:
		t.Fatalf("Lookup saw %+v while the shards were held", l)
	case <-time.After(50 * time.Millisecond):
	}
	k.Release()
	if l := <-looked; l.FileID != 7 {
		t.Fatalf("Lookup after Release saw file %d, want 7", l.FileID)
	}
	if _, ok := k.Get(keys[2]); ok {
		t.Fatal("the deleted key is there")
	}
	k.Put(keys[1], keydir.Entry{FileID: 9, Offset: 8, Size: 30}) // locks again
	if e, _ := k.Get(keys[1]); e.FileID != 9 {
		t.Fatalf("after Release, Put set file %d, want 9", e.FileID)
	}
}
