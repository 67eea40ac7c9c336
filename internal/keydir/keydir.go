// Package keydir is the in-memory key directory: for every live key, where
// its newest record lies on disk.
//
// It is built for tens of millions of keys: no Go pointer per key, so the
// garbage collector never walks it, and about 50 bytes per 16-byte key.
// Keys are split by hash into 256 shards; each shard is an open-addressing
// hash table of 16-byte slots (linear probing) over a byte arena that
// holds, for each key, its length, its bytes and the rest of its entry:
//
//	slot:         arena offset + 1 (40 bits) | hash tag (24 bits); 0 = empty
//	              file id (32 bits) | offset (32 bits; all ones: in the arena)
//	arena record: uvarint key length | key | size u32 [| offset u64] [| deadline u64]
//	              (the top bit of size says whether a deadline follows)
//
// The slot says where the key's record is, so that a lookup (Lookup) can
// go from the slot straight to the record, which holds the key too, and
// compare the key there: one cache miss fewer than through the arena.
//
// Sharding bounds the pause of a resize or compaction to one shard's
// worth of keys, and lets readers run beside a writer: every shard has its
// own lock (see Keydir).
package keydir

import (
	"bytes"
	"encoding/binary"
	"iter"
	"math/rand/v2"
	"sync"
	"unsafe"

	"github.com/zeebo/xxh3"
)

// Entry locates a key's newest record.
type Entry struct {
	FileID uint32 // data file holding the record
	Size   uint32 // size of the whole record, header included; below 1<<31
	Offset int64  // offset of the record in its file
	Expire int64  // deadline of the value in Unix nanoseconds; 0 if it has none
}

// Expired reports whether the entry's value has a deadline not after now
// (Unix nanoseconds).
func (e Entry) Expired(now int64) bool { return e.Expire != 0 && e.Expire <= now }

const (
	shardBits  = 8
	nShards    = 1 << shardBits
	sizeLen    = 4       // the size in an arena record
	offsetLen  = 8       // the offset, when the slot cannot hold it
	expireSize = 8       // the deadline, when the entry has one
	hasExpire  = 1 << 31 // in the size field of the arena record
	tagBits    = 24
	tagMask    = 1<<tagBits - 1
	emptySlot  = 0
	deadSlot   = ^uint64(0) // a deleted key: probing goes on past it
	minSlots   = 16
	bigOffset  = 1<<32 - 1 // a slot's offset when the offset is in the arena
)

// Keydir maps keys to entries.
//
// One goroutine at a time may change it (Put, PutLater, Settle, Delete,
// CompareAndSwap, Apply, Grow, Hold, WriteTo), while any number of others
// call Lookup: a change holds its shard's lock, and Lookup holds it while
// fn runs, so that fn may use what the location points at until it
// returns (see Barrier). The lock is a plain mutex, not a read-write
// one: lookups of one shard take turns, but with 256 shards two rarely
// meet, and a change costs two atomic operations instead of four (4 writers: 1.69M -> 1.76M puts/s,
// 2 readers 3.75M -> 3.87M gets/s, medians of 5-6 alternated runs).
// Every other method reads without locks: it must not run beside a
// change (the DB calls them under its own lock).
type Keydir struct {
	seed   uint64 // of the hash: random, so that no one can choose keys that collide
	shards [nShards]shard
	locks  [nShards]shardLock
	held   shardSet // shards locked by Hold; only the changing goroutine reads it

	// The put PutLater holds back, in shard waiting-1 (none if 0), and
	// who learns what it replaced. Only the changing goroutine, and
	// methods that do not run beside a change, read them.
	waiting int
	settled func(old Entry)
}

// shardSet is a set of shard numbers.
type shardSet [nShards / 64]uint64

func (s *shardSet) add(i int)      { s[i/64] |= 1 << (i % 64) }
func (s *shardSet) has(i int) bool { return s[i/64]&(1<<(i%64)) != 0 }
func (s *shardSet) each(fn func(i int)) {
	for i := range nShards {
		if s.has(i) {
			fn(i)
		}
	}
}

// shardLock is a shard's lock, padded so that no two locks share a cache
// line (128 bytes apart, whatever the array's alignment), so that readers
// of different shards never write to the same line.
type shardLock struct {
	sync.Mutex
	_ [128 - unsafe.Sizeof(sync.Mutex{})]byte
}

// shard is one open-addressing table and the arena its slots point into.
// Slot i is the two words slots[2i] (arena offset and tag) and
// slots[2i+1] (location).
type shard struct {
	slots   []uint64
	arena   arena
	used    int // slots that are not empty (live or dead)
	live    int
	garbage int   // arena bytes of deleted keys
	later   later // a put of PutLater not yet in slots
}

// Location is where a key's newest record starts.
type Location struct {
	FileID uint32
	Offset int64
}

// Verdict is what Lookup's caller says of a record it was shown.
type Verdict int

const (
	// Next: the record is not the key's; look further.
	Next Verdict = iota
	// Found: the record is the key's.
	Found
	// Verify: the record could not be read, or it does not hold the key
	// but may be the key's, damaged: compare the key in memory, and look
	// further if it differs.
	Verify
	// Stop: stop looking; Lookup returns false. The caller keeps its own
	// record of why.
	Stop
)

// New returns an empty key directory.
func New() *Keydir {
	return &Keydir{seed: rand.Uint64()}
}

// Hold locks the shards of keys for a group of changes that Lookup must
// show all at once or not at all (a batch): until Release, changes to
// these keys (Put, Delete, CompareAndSwap) take no lock of their own, and
// lookups of any of them wait. Hold and Release must not nest, and Apply
// and Grow, which lock shards of their own, must not run between them.
func (k *Keydir) Hold(keys iter.Seq[[]byte]) {
	k.Settle()
	for key := range keys {
		k.held.add(shardOf(k.hash(key)))
	}
	k.held.each(func(i int) { k.locks[i].Lock() })
}

// Release unlocks what Hold locked.
func (k *Keydir) Release() {
	k.held.each(func(i int) { k.locks[i].Unlock() })
	k.held = shardSet{}
}

// lockShard locks shard i for a change, unless Hold has.
func (k *Keydir) lockShard(i int) {
	if !k.held.has(i) {
		k.locks[i].Lock()
	}
}

// unlockShard undoes lockShard.
func (k *Keydir) unlockShard(i int) {
	if !k.held.has(i) {
		k.locks[i].Unlock()
	}
}

// Grow makes room for n more keys holding keyBytes bytes in all, so that
// loading them does not resize the tables.
func (k *Keydir) Grow(n int, keyBytes int64) {
	k.Settle()
	per := n/nShards + 1
	perBytes := int(keyBytes/nShards) + per*(sizeLen+2)
	for i := range k.shards {
		k.locks[i].Lock()
		k.shards[i].reserve(per, perBytes)
		k.locks[i].Unlock()
	}
}

// reserve makes room in sh for per more keys and perBytes more arena bytes.
func (sh *shard) reserve(per, perBytes int) {
	if need := sh.used + per; need*4 > sh.slotCount()*3 {
		sh.grow(sh.live + per)
	}
	sh.arena.reserve(perBytes)
}

// Get returns the entry of key.
func (k *Keydir) Get(key []byte) (Entry, bool) {
	h := k.hash(key)
	sh := k.shard(h)
	if l, ok := sh.laterOf(key, h); ok {
		return l.e, true
	}
	i, found := sh.find(key, h)
	if !found {
		return Entry{}, false
	}
	return sh.entry(i), true
}

// Lookup finds key by its records rather than by the keys in memory: it
// calls fn with the location of the record of every key on key's probe
// path whose hash tag matches key's (almost always only key's own), until
// fn says Found or Stop. fn reads the record there and compares its key;
// if it cannot read it, Verify makes Lookup compare the key in memory
// instead. Lookup reports whether fn, or that comparison, found key.
//
// A put that PutLater holds back is shown first, if it is key's: its key
// is known to be key, so Lookup then reports true whatever fn says, but
// Stop.
//
// Lookup may run beside a change: it holds key's shard's lock meanwhile,
// so the shard cannot change while fn runs. Whatever fn reads that a
// writer may free once no key points at it (a file's mapping), fn must
// find inside fn, not before Lookup: Barrier waits only for lookups that
// hold their shard.
func (k *Keydir) Lookup(key []byte, fn func(Location) Verdict) bool {
	h := k.hash(key)
	lock := &k.locks[shardOf(h)]
	lock.Lock()
	defer lock.Unlock()
	sh := k.shard(h)
	if l, ok := sh.laterOf(key, h); ok {
		// The newest entry of key, and its key is key: whatever fn
		// says but Stop, key is found.
		return fn(locationOf(l.e)) != Stop
	}
	if len(sh.slots) == 0 {
		return false
	}
	n := sh.slotCount()
	tag := tagOf(h)
	for i := home(tag, n); ; i = next(i, n) {
		switch s := sh.slots[2*i]; {
		case s == emptySlot:
			return false
		case s == deadSlot || s&tagMask != tag:
			continue
		}
		loc := Location{FileID: uint32(sh.slots[2*i+1] >> 32), Offset: int64(sh.slots[2*i+1] & bigOffset)}
		if loc.Offset == bigOffset {
			loc.Offset = sh.entry(i).Offset
		}
		switch fn(loc) {
		case Found:
			return true
		case Stop:
			return false
		case Verify:
			if bytes.Equal(sh.key(sh.slots[2*i]), key) {
				return true
			}
		}
	}
}

// Put sets the entry of key, copying the key, and returns the entry it
// replaced, if any.
func (k *Keydir) Put(key []byte, e Entry) (old Entry, replaced bool) {
	return k.putHashed(key, k.hash(key), e)
}

func (k *Keydir) putHashed(key []byte, h uint64, e Entry) (old Entry, replaced bool) {
	k.Settle()
	k.lockShard(shardOf(h))
	old, replaced = k.shard(h).put(key, h, e)
	k.unlockShard(shardOf(h))
	return old, replaced
}

func (sh *shard) put(key []byte, h uint64, e Entry) (old Entry, replaced bool) {
	if (sh.used+1)*4 > sh.slotCount()*3 {
		sh.grow(sh.live + 1)
	}
	i, found := sh.find(key, h)
	if found {
		old = sh.entry(i)
		sh.set(i, key, old, e, h)
		return old, true
	}
	if sh.slots[2*i] == emptySlot {
		sh.used++
	}
	sh.slots[2*i] = sh.append(key, e, h)
	sh.slots[2*i+1] = location(e)
	sh.live++
	return Entry{}, false
}

// set replaces the entry old of the key in slot i by e: in place if it
// takes the same room, else in a new arena record.
func (sh *shard) set(i int, key []byte, old, e Entry, h uint64) {
	if entryLen(old) == entryLen(e) {
		encodeEntry(sh.entryBytes(sh.slots[2*i]), e)
	} else {
		sh.garbage += sh.recordLen(i)
		sh.slots[2*i] = sh.append(key, e, h)
	}
	sh.slots[2*i+1] = location(e)
}

// Delete removes key and returns the entry it had, if any.
func (k *Keydir) Delete(key []byte) (old Entry, ok bool) {
	return k.deleteHashed(key, k.hash(key))
}

func (k *Keydir) deleteHashed(key []byte, h uint64) (old Entry, ok bool) {
	k.Settle()
	k.lockShard(shardOf(h))
	old, ok = k.shard(h).delete(key, h)
	k.unlockShard(shardOf(h))
	return old, ok
}

func (sh *shard) delete(key []byte, h uint64) (old Entry, ok bool) {
	i, found := sh.find(key, h)
	if !found {
		return Entry{}, false
	}
	old = sh.entry(i)
	sh.garbage += sh.recordLen(i)
	sh.slots[2*i], sh.slots[2*i+1] = deadSlot, 0
	sh.live--
	if sh.garbage > 4096 && sh.garbage*2 > sh.arena.n {
		sh.rebuild(slotsFor(sh.live))
	}
	return old, true
}

// CompareAndSwap sets the entry of key to e only if it is still old, and
// reports whether it did.
func (k *Keydir) CompareAndSwap(key []byte, old, e Entry) bool {
	k.Settle()
	h := k.hash(key)
	k.lockShard(shardOf(h))
	defer k.unlockShard(shardOf(h))
	sh := k.shard(h)
	i, found := sh.find(key, h)
	if !found {
		return false
	}
	if sh.entry(i) != old {
		return false
	}
	sh.set(i, key, old, e, h)
	return true
}

// Len returns the number of keys.
func (k *Keydir) Len() int {
	n := 0
	for i := range k.shards {
		n += k.shards[i].live
	}
	if k.waiting != 0 {
		sh := &k.shards[k.waiting-1]
		if _, found := sh.find(sh.later.key, sh.later.h); !found {
			n++ // the waiting put adds a key
		}
	}
	return n
}

// Range calls fn for every key until fn returns false. The key aliases the
// Keydir's memory: fn must not retain or modify it, nor change the Keydir.
// The order is unspecified.
func (k *Keydir) Range(fn func(key []byte, e Entry) bool) {
	stopped := false
	for i := range k.shards {
		k.RangeShard(i, func(key []byte, e Entry) bool {
			stopped = !fn(key, e)
			return !stopped
		})
		if stopped {
			return
		}
	}
}

func (k *Keydir) hash(key []byte) uint64 { return xxh3.HashSeed(key, k.seed) }

// shard picks a shard by the hash's top bits; the tag is made of the
// middle ones, and a key's place in the table is the tag scaled to the
// table's size (home), so that a table can be resized from its slots
// alone, without hashing the keys again or touching the arena.
// A table of more than 1<<tagBits slots (some 8 million keys in one shard,
// 2 billion in all, far past what fits in memory at ~50 bytes a key)
// would still be correct, but could start probes at only 1<<tagBits of its
// slots, and probes would grow long.
func (k *Keydir) shard(h uint64) *shard { return &k.shards[shardOf(h)] }

// shardOf returns the number of the shard of hash h.
func shardOf(h uint64) int { return int(h >> (64 - shardBits)) }

// Barrier returns once every Lookup that held its shard when Barrier was
// called has returned. A caller that has made sure that no key points
// into some memory any more (a data file a merge replaced), and that
// Lookup callbacks starting from now cannot find it (they look it up
// inside the callback), calls it before freeing that memory: no callback
// can be using it afterwards.
func (k *Keydir) Barrier() {
	for i := range k.locks {
		k.locks[i].Lock()
		k.locks[i].Unlock() //nolint:staticcheck // an empty critical section is the point
	}
}

func tagOf(h uint64) uint64 { return (h >> 32) & tagMask }

// find returns the slot holding key, or, if absent, the slot where it
// belongs: the first dead slot on its probe path, else the empty one that
// ends it. The table must have at least one empty slot.
func (sh *shard) find(key []byte, h uint64) (int, bool) {
	if len(sh.slots) == 0 {
		return -1, false
	}
	n := sh.slotCount()
	tag := tagOf(h)
	dead := -1
	for i := home(tag, n); ; i = next(i, n) {
		switch s := sh.slots[2*i]; {
		case s == emptySlot:
			if dead >= 0 {
				return dead, false
			}
			return i, false
		case s == deadSlot:
			if dead < 0 {
				dead = i
			}
		case s&tagMask == tag && bytes.Equal(sh.key(s), key):
			return i, true
		}
	}
}

// slotCount returns the size of the table, in slots.
func (sh *shard) slotCount() int { return len(sh.slots) / 2 }

// append adds a record for key to the arena and returns the first word of
// its slot.
func (sh *shard) append(key []byte, e Entry, h uint64) uint64 {
	var keyLen [binary.MaxVarintLen64]byte
	w := binary.PutUvarint(keyLen[:], uint64(len(key)))
	end := sh.arena.n
	off, b := sh.arena.add(w + len(key) + entryLen(e))
	sh.garbage += off - end // the unused end of a block, if the record starts a new one
	copy(b, keyLen[:w])
	copy(b[w:], key)
	encodeEntry(b[w+len(key):], e)
	return uint64(off+1)<<tagBits | tagOf(h)
}

// location returns the second word of the slot of e.
func location(e Entry) uint64 {
	return uint64(e.FileID)<<32 | uint64(min(e.Offset, bigOffset))
}

func (sh *shard) recordOffset(s uint64) int { return int(s>>tagBits) - 1 }

// record returns the arena from the record of the slot whose first word
// is s on; the record is at its start.
func (sh *shard) record(s uint64) []byte { return sh.arena.at(sh.recordOffset(s)) }

func (sh *shard) key(s uint64) []byte {
	rec := sh.record(s)
	n, w := binary.Uvarint(rec)
	return rec[w : w+int(n)]
}

// entryBytes returns the record of s from its entry part on.
func (sh *shard) entryBytes(s uint64) []byte {
	rec := sh.record(s)
	n, w := binary.Uvarint(rec)
	return rec[w+int(n):]
}

// entry returns the entry of the key in slot i.
func (sh *shard) entry(i int) Entry {
	return decodeEntry(sh.entryBytes(sh.slots[2*i]), sh.slots[2*i+1])
}

// recordLen returns the length of the arena record of slot i.
func (sh *shard) recordLen(i int) int {
	n, w := binary.Uvarint(sh.record(sh.slots[2*i]))
	return w + int(n) + entryLen(sh.entry(i))
}

// grow makes room for n keys: it moves the slots of the live keys into a
// new table, dropping dead slots, and compacts the arena too if much of it
// is garbage.
func (sh *shard) grow(n int) {
	if sh.garbage*4 > sh.arena.n {
		sh.rebuild(slotsFor(n))
		return
	}
	old := sh.slots
	size := slotsFor(n)
	sh.slots = newSlots(size)
	sh.used = 0
	for j := 0; j < len(old); j += 2 {
		s := old[j]
		if s == emptySlot || s == deadSlot {
			continue
		}
		i := home(s&tagMask, size)
		for sh.slots[2*i] != emptySlot {
			i = next(i, size)
		}
		sh.slots[2*i], sh.slots[2*i+1] = s, old[j+1]
		sh.used++
	}
}

// rebuild moves the live keys into a table of n slots and a new, compact
// arena, dropping dead slots and the arena bytes of deleted keys.
func (sh *shard) rebuild(n int) {
	old := *sh
	*sh = shard{slots: newSlots(n)}
	sh.arena.reserve(old.arena.n - old.garbage + sizeLen)
	for j := 0; j < len(old.slots); j += 2 {
		s := old.slots[j]
		if s == emptySlot || s == deadSlot {
			continue
		}
		l := old.recordLen(j / 2)
		end := sh.arena.n
		off, rec := sh.arena.add(l)
		sh.garbage += off - end
		copy(rec, old.record(s)[:l])
		i := home(s&tagMask, n)
		for sh.slots[2*i] != emptySlot {
			i = next(i, n)
		}
		sh.slots[2*i], sh.slots[2*i+1] = uint64(off+1)<<tagBits|s&tagMask, old.slots[j+1]
		sh.used++
		sh.live++
	}
}

// newSlots returns a zeroed table of n slots. It writes to each of its
// pages before anything reads them: memory fresh from the kernel that is
// read first is mapped to the shared zero page, and the first write after
// that takes a second page fault and a TLB shootdown, an interrupt to
// every core the process runs on (grow and rebuild probe the new table
// before they write to it). Measured with bench's put worker: 1M puts
// took 27.7k page faults instead of 40.5k; 500k puts went from 1.29M to
// 1.49M/s with 1 writer and from 1.18M to 1.31M/s with 4 (medians of 4
// alternated pairs, every pair won).
func newSlots(n int) []uint64 {
	slots := make([]uint64, 2*n)
	touchPages(slots)
	return slots
}

// touchPages writes a zero to the first word of each 4 KiB page of s.
func touchPages(s []uint64) {
	for i := 0; i < len(s); i += pageWords {
		s[i] = 0
	}
}

// pageWords is the number of slot words in a 4 KiB page.
const pageWords = 4096 / 8

// slotsFor returns a table size that holds n keys at a load of 1/2.
// Tables grow at a load of 3/4, so they run at 1/2 to 3/4. With 16-byte
// slots, growing by doubling (3/8 to 3/4) cost ~5 bytes more per key at
// 1M keys; growing by 1.25 (3/5 to 3/4) saved 2 more but made loading
// 1M keys ~15% slower than this (BenchmarkLoad).
func slotsFor(n int) int {
	return max(minSlots, 2*n+1)
}

// home returns where probing for a key with tag starts in a table of n
// slots: the tag scaled to the table (so that growing needs only the
// tags, and any size works, not only powers of two).
func home(tag uint64, n int) int { return int(tag * uint64(n) >> tagBits) }

// next returns the slot after i in a table of n slots.
func next(i, n int) int {
	if i++; i == n {
		return 0
	}
	return i
}

// entryLen is the room e takes in an arena record.
func entryLen(e Entry) int {
	n := sizeLen
	if e.Offset >= bigOffset {
		n += offsetLen
	}
	if e.Expire != 0 {
		n += expireSize
	}
	return n
}

// encodeEntry writes the arena part of e (its size, and its offset and
// deadline when it needs them) into b.
func encodeEntry(b []byte, e Entry) {
	size := e.Size
	if e.Expire != 0 {
		size |= hasExpire
	}
	binary.LittleEndian.PutUint32(b, size)
	b = b[sizeLen:]
	if e.Offset >= bigOffset {
		binary.LittleEndian.PutUint64(b, uint64(e.Offset))
		b = b[offsetLen:]
	}
	if e.Expire != 0 {
		binary.LittleEndian.PutUint64(b, uint64(e.Expire))
	}
}

// decodeEntry reads an entry from the arena part b and the slot's second
// word loc.
func decodeEntry(b []byte, loc uint64) Entry {
	size := binary.LittleEndian.Uint32(b)
	e := Entry{FileID: uint32(loc >> 32), Size: size &^ hasExpire, Offset: int64(loc & bigOffset)}
	b = b[sizeLen:]
	if e.Offset == bigOffset {
		e.Offset = int64(binary.LittleEndian.Uint64(b))
		b = b[offsetLen:]
	}
	if size&hasExpire != 0 {
		e.Expire = int64(binary.LittleEndian.Uint64(b))
	}
	return e
}

// Shards is the number of shards; RangeShard takes 0 to Shards-1.
const Shards = nShards

// RangeShard is Range over the keys of one shard. Every key belongs to
// exactly one shard, for as long as it exists.
func (k *Keydir) RangeShard(i int, fn func(key []byte, e Entry) bool) {
	sh := &k.shards[i]
	l := &sh.later
	shown := !l.set // the waiting put, if any: shown in place of its key's entry, or at the end
	for j := 0; j < len(sh.slots); j += 2 {
		s := sh.slots[j]
		if s == emptySlot || s == deadSlot {
			continue
		}
		key, e := sh.key(s), sh.entry(j/2)
		if !shown && s&tagMask == tagOf(l.h) && bytes.Equal(key, l.key) {
			e, shown = l.e, true
		}
		if !fn(key, e) {
			return
		}
	}
	if !shown {
		fn(l.key, l.e)
	}
}
