package keydir

import (
	"bytes"
	"unsafe"
)

// later is a put that PutLater has taken but not yet made in its shard's
// table. It lives in its shard, under the shard's lock, so that Lookup
// sees it there.
type later struct {
	key []byte // a copy, reused from one put to the next
	h   uint64
	e   Entry
	set bool
}

// PutLater sets the entry of key, as Put does, but makes the change in the
// table only at the next change of any kind (or Settle): it only starts
// loading the key's slot into the CPU cache, and makes the put PutLater
// took before. Finding a new key's slot costs a cache miss (some 100-150
// ns on our machines, a third of a Put of the store); this way the miss
// overlaps with whatever the caller does until its next change, instead
// of stalling it.
//
// Every method shows the put at once: Lookup, Get, Len and RangeShard
// look at the waiting put too, and every other method makes it first.
// The entry it replaces is reported to the function given to OnSettle,
// when the put is made.
func (k *Keydir) PutLater(key []byte, e Entry) {
	h := k.hash(key)
	s := shardOf(h)
	sh := &k.shards[s]
	if n := sh.slotCount(); n > 0 {
		prefetch(unsafe.Pointer(&sh.slots[2*home(tagOf(h), n)]))
	}
	k.Settle()
	k.lockShard(s)
	sh.later.key = append(sh.later.key[:0], key...)
	sh.later.h, sh.later.e, sh.later.set = h, e, true
	k.unlockShard(s)
	k.waiting = s + 1
}

// laterKeyCap is the longest copy of a key that a shard keeps for the
// next PutLater: 256 shards keeping the copies of 16 MiB keys (the
// largest MaxKeySize) would hold 4 GiB.
const laterKeyCap = 1 << 10

// Settle makes the put that PutLater is holding back, if any.
func (k *Keydir) Settle() {
	if k.waiting == 0 {
		return
	}
	s := k.waiting - 1
	k.waiting = 0
	sh := &k.shards[s]
	k.lockShard(s)
	l := &sh.later
	old, replaced := sh.put(l.key, l.h, l.e)
	l.set = false
	if cap(l.key) > laterKeyCap {
		l.key = nil // do not keep a long key's copy in every shard it went to
	}
	k.unlockShard(s)
	if replaced && k.settled != nil {
		k.settled(old)
	}
}

// OnSettle sets the function that learns the entry each put of PutLater
// replaced, when that put is made (in the goroutine changing the Keydir).
func (k *Keydir) OnSettle(fn func(old Entry)) { k.settled = fn }

// laterOf returns the waiting put of sh if it is key's, whose hash is h.
func (sh *shard) laterOf(key []byte, h uint64) (*later, bool) {
	l := &sh.later
	return l, l.set && l.h == h && bytes.Equal(l.key, key)
}

// locationOf returns where the record of e starts.
func locationOf(e Entry) Location { return Location{FileID: e.FileID, Offset: e.Offset} }
