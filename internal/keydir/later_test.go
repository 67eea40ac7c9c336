package keydir_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aether-kv/aether-kv/internal/keydir"
)

// TestPutLaterAgainstMap mixes PutLater with every other change, and
// checks after each step that every reading method shows the put it holds
// back, and that OnSettle learns exactly the entries the puts replaced:
// the sizes put, less those replaced or deleted, are the live entries'.
func TestPutLaterAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	k := keydir.New()
	var live int64 // sizes of the entries set, less those replaced or deleted
	k.OnSettle(func(old keydir.Entry) { live -= int64(old.Size) })
	model := map[string]keydir.Entry{}
	for i := range 100_000 {
		key := fmt.Sprintf("k%d", r.IntN(3_000))
		e := keydir.Entry{FileID: uint32(i), Size: uint32(1 + r.IntN(1<<20)), Offset: randomOffset(r)}
		if r.IntN(4) == 0 {
			e.Expire = r.Int64()
		}
		switch r.IntN(8) {
		case 0, 1, 2, 3:
			k.PutLater([]byte(key), e)
			live += int64(e.Size)
			model[key] = e
		case 4:
			old, ok := k.Put([]byte(key), e)
			if want, wantOK := model[key]; old != want || ok != wantOK {
				t.Fatalf("op %d: Put(%q) = %+v, %t, want %+v, %t", i, key, old, ok, want, wantOK)
			}
			live += int64(e.Size) - int64(old.Size)
			model[key] = e
		case 5:
			old, ok := k.Delete([]byte(key))
			if want, wantOK := model[key]; old != want || ok != wantOK {
				t.Fatalf("op %d: Delete(%q) = %+v, %t, want %+v, %t", i, key, old, ok, want, wantOK)
			}
			live -= int64(old.Size)
			delete(model, key)
		case 6:
			cur, ok := model[key]
			if swapped := k.CompareAndSwap([]byte(key), cur, e); swapped != ok {
				t.Fatalf("op %d: CompareAndSwap(%q) = %t, want %t", i, key, swapped, ok)
			}
			if ok {
				live += int64(e.Size) - int64(cur.Size)
				model[key] = e
			}
		case 7:
			if got, want := k.Len(), len(model); got != want {
				t.Fatalf("op %d: Len() = %d, want %d", i, got, want)
			}
		}
		if want, ok := model[key]; ok {
			checkLookup(t, k, key, &want)
			if got, found := k.Get([]byte(key)); !found || got != want {
				t.Fatalf("op %d: Get(%q) = %+v, %t, want %+v", i, key, got, found, want)
			}
		} else {
			checkLookup(t, k, key, nil)
		}
		if i%10_000 == 0 {
			wantModel(t, k, model) // Len, Get and Range (through RangeShard)
		}
	}
	wantModel(t, k, model)

	var saved bytes.Buffer // WriteTo makes the waiting put first
	if _, err := k.WriteTo(&saved); err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, e := range model {
		sum += int64(e.Size)
	}
	if live != sum {
		t.Fatalf("sizes put less those OnSettle and Delete reported replaced = %d, want the live entries' %d", live, sum)
	}
	back, err := keydir.ReadFrom(bytes.NewReader(saved.Bytes()), int64(saved.Len()))
	if err != nil {
		t.Fatal(err)
	}
	wantModel(t, back, model)
}

// TestPutLaterShownBeforeSettled checks each reading method on the one
// put held back, of a new key and of a key it replaces.
func TestPutLaterShownBeforeSettled(t *testing.T) {
	k := keydir.New()
	var replaced []keydir.Entry
	k.OnSettle(func(old keydir.Entry) { replaced = append(replaced, old) })
	e1 := keydir.Entry{FileID: 1, Size: 10, Offset: 100}
	e2 := keydir.Entry{FileID: 2, Size: 20, Offset: 200}
	k.PutLater([]byte("a"), e1)
	wantModel(t, k, map[string]keydir.Entry{"a": e1})
	k.PutLater([]byte("a"), e2) // makes the first: a new key, nothing replaced
	if len(replaced) != 0 {
		t.Fatalf("OnSettle learnt %v, want nothing: the first put added a key", replaced)
	}
	wantModel(t, k, map[string]keydir.Entry{"a": e2})
	for i := range keydir.Shards { // RangeShard shows the waiting entry in place of the old one, once
		k.RangeShard(i, func(key []byte, e keydir.Entry) bool {
			if string(key) != "a" || e != e2 {
				t.Errorf("RangeShard(%d) gave %q = %+v, want a = %+v", i, key, e, e2)
			}
			return true
		})
	}
	k.Settle()
	if len(replaced) != 1 || replaced[0] != e1 {
		t.Fatalf("OnSettle learnt %v, want [%+v]", replaced, e1)
	}
	k.Settle() // nothing left: learns nothing more
	if len(replaced) != 1 {
		t.Fatalf("a second Settle reported %v", replaced[1:])
	}
	wantModel(t, k, map[string]keydir.Entry{"a": e2})
}

// TestLookupSeesPutLater runs lookups beside a writer that only calls
// PutLater: once a put has returned, every lookup must find its entry or
// a newer one, whether the put was made in the table or is held back.
func TestLookupSeesPutLater(t *testing.T) {
	const keys, puts = 64, 200_000
	k := keydir.New()
	var done atomic.Int64 // puts returned
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				n := done.Load()
				if n >= puts {
					return
				}
				if n == 0 {
					continue
				}
				i := n - 1 // put i set key i%keys to offset i
				var at int64 = -1
				k.Lookup(fmt.Appendf(nil, "key-%d", i%keys), func(l keydir.Location) keydir.Verdict {
					at = l.Offset
					return keydir.Found
				})
				if at < i {
					t.Errorf("after put %d returned, Lookup gave offset %d", i, at)
					return
				}
			}
		})
	}
	for i := range int64(puts) {
		k.PutLater(fmt.Appendf(nil, "key-%d", i%keys), keydir.Entry{FileID: 1, Size: 1, Offset: i})
		done.Store(i + 1)
	}
	wg.Wait()
}
