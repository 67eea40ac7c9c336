// Package keydir is the in-memory key directory: for every live key, where
// its newest record lies on disk.
//
// It is built for tens of millions of keys: no Go pointer per key, so the
// garbage collector never walks it, and about 50 bytes per 16-byte key.
// Keys are split by hash into 256 shards; each shard is an open-addressing
// hash table of 8-byte slots (linear probing) over a byte arena that holds,
// for each key, its length, its bytes and its entry:
//
//	arena record: uvarint key length | key | file id u32 | size u32 | offset u64 [| deadline u64]
//	              (the top bit of size says whether a deadline follows)
//	slot:         arena offset + 1 (40 bits) | hash tag (24 bits); 0 = empty
//
// Sharding bounds the pause of a resize or compaction to one shard's
// worth of keys.
package keydir

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"

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
	entrySize  = 16      // file id, size, offset
	expireSize = 8       // the deadline, when the entry has one
	hasExpire  = 1 << 31 // in the size field of the arena record
	tagBits    = 24
	tagMask    = 1<<tagBits - 1
	emptySlot  = 0
	deadSlot   = ^uint64(0) // a deleted key: probing goes on past it
	minSlots   = 16
)

// Keydir maps keys to entries. It is not safe for concurrent use: the DB
// guards it with its lock.
type Keydir struct {
	seed   uint64 // of the hash: random, so that no one can choose keys that collide
	shards [nShards]shard
}

// shard is one open-addressing table and the arena its slots point into.
type shard struct {
	slots   []uint64
	arena   []byte
	used    int // slots that are not empty (live or dead)
	live    int
	garbage int // arena bytes of deleted keys
}

// New returns an empty key directory.
func New() *Keydir {
	return &Keydir{seed: rand.Uint64()}
}

// Grow makes room for n more keys holding keyBytes bytes in all, so that
// loading them does not resize the tables.
func (k *Keydir) Grow(n int, keyBytes int64) {
	per := n/nShards + 1
	perBytes := int(keyBytes/nShards) + per*(entrySize+2)
	for i := range k.shards {
		sh := &k.shards[i]
		if need := sh.used + per; need*4 > len(sh.slots)*3 {
			sh.grow(sh.live + per)
		}
		if cap(sh.arena)-len(sh.arena) < perBytes {
			a := make([]byte, len(sh.arena), len(sh.arena)+perBytes)
			copy(a, sh.arena)
			sh.arena = a
		}
	}
}

// Get returns the entry of key.
func (k *Keydir) Get(key []byte) (Entry, bool) {
	h := k.hash(key)
	sh := k.shard(h)
	i, found := sh.find(key, h)
	if !found {
		return Entry{}, false
	}
	return sh.entry(sh.slots[i]), true
}

// Put sets the entry of key, copying the key, and returns the entry it
// replaced, if any.
func (k *Keydir) Put(key []byte, e Entry) (old Entry, replaced bool) {
	return k.putHashed(key, k.hash(key), e)
}

func (k *Keydir) putHashed(key []byte, h uint64, e Entry) (old Entry, replaced bool) {
	return k.shard(h).put(key, h, e)
}

func (sh *shard) put(key []byte, h uint64, e Entry) (old Entry, replaced bool) {
	if (sh.used+1)*4 > len(sh.slots)*3 {
		sh.grow(sh.live + 1)
	}
	i, found := sh.find(key, h)
	if found {
		old = sh.entry(sh.slots[i])
		sh.set(i, key, old, e, h)
		return old, true
	}
	if sh.slots[i] == emptySlot {
		sh.used++
	}
	sh.slots[i] = sh.append(key, e, h)
	sh.live++
	return Entry{}, false
}

// set replaces the entry old of the key in slot i by e: in place if it
// takes the same room, else in a new arena record.
func (sh *shard) set(i int, key []byte, old, e Entry, h uint64) {
	if entryLen(old) == entryLen(e) {
		encodeEntry(sh.arena[sh.entryOffset(sh.slots[i]):], e)
		return
	}
	sh.garbage += sh.recordLen(sh.slots[i])
	sh.slots[i] = sh.append(key, e, h)
}

// Delete removes key and returns the entry it had, if any.
func (k *Keydir) Delete(key []byte) (old Entry, ok bool) {
	return k.deleteHashed(key, k.hash(key))
}

func (k *Keydir) deleteHashed(key []byte, h uint64) (old Entry, ok bool) {
	return k.shard(h).delete(key, h)
}

func (sh *shard) delete(key []byte, h uint64) (old Entry, ok bool) {
	i, found := sh.find(key, h)
	if !found {
		return Entry{}, false
	}
	s := sh.slots[i]
	old = sh.entry(s)
	sh.slots[i] = deadSlot
	sh.live--
	sh.garbage += sh.recordLen(s)
	if sh.garbage > 4096 && sh.garbage*2 > len(sh.arena) {
		sh.rebuild(slotsFor(sh.live))
	}
	return old, true
}

// CompareAndSwap sets the entry of key to e only if it is still old, and
// reports whether it did.
func (k *Keydir) CompareAndSwap(key []byte, old, e Entry) bool {
	h := k.hash(key)
	sh := k.shard(h)
	i, found := sh.find(key, h)
	if !found {
		return false
	}
	if sh.entry(sh.slots[i]) != old {
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
// middle ones, and a key's place in the table is the tag's low bits, so
// that a table can be resized from its slots alone, without hashing the
// keys again or touching the arena.
// A table of more than 1<<tagBits slots (some 11 million keys in one
// shard, near 3 billion in all, far past what fits in memory at ~50 bytes
// a key) would still be correct, but would start every probe in its lower
// part, and probes would grow long.
func (k *Keydir) shard(h uint64) *shard { return &k.shards[h>>(64-shardBits)] }

func tagOf(h uint64) uint64 { return (h >> 32) & tagMask }

// find returns the slot holding key, or, if absent, the slot where it
// belongs: the first dead slot on its probe path, else the empty one that
// ends it. The table must have at least one empty slot.
func (sh *shard) find(key []byte, h uint64) (int, bool) {
	if len(sh.slots) == 0 {
		return -1, false
	}
	mask := len(sh.slots) - 1
	tag := tagOf(h)
	dead := -1
	for i := int(tag) & mask; ; i = (i + 1) & mask {
		switch s := sh.slots[i]; {
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

// append adds a record for key to the arena and returns its slot value.
func (sh *shard) append(key []byte, e Entry, h uint64) uint64 {
	off := len(sh.arena)
	sh.arena = binary.AppendUvarint(sh.arena, uint64(len(key)))
	sh.arena = append(sh.arena, key...)
	n := entryLen(e)
	sh.arena = append(sh.arena, make([]byte, n)...)
	encodeEntry(sh.arena[len(sh.arena)-n:], e)
	return uint64(off+1)<<tagBits | tagOf(h)
}

func (sh *shard) recordOffset(s uint64) int { return int(s>>tagBits) - 1 }

func (sh *shard) key(s uint64) []byte {
	off := sh.recordOffset(s)
	n, w := binary.Uvarint(sh.arena[off:])
	return sh.arena[off+w : off+w+int(n)]
}

func (sh *shard) entryOffset(s uint64) int {
	off := sh.recordOffset(s)
	n, w := binary.Uvarint(sh.arena[off:])
	return off + w + int(n)
}

func (sh *shard) entry(s uint64) Entry { return decodeEntry(sh.arena[sh.entryOffset(s):]) }

func (sh *shard) recordLen(s uint64) int {
	off := sh.entryOffset(s)
	return off + entryLen(decodeEntry(sh.arena[off:])) - sh.recordOffset(s)
}

// grow makes room for n keys: it moves the slots of the live keys into a
// new table, dropping dead slots, and compacts the arena too if much of it
// is garbage.
func (sh *shard) grow(n int) {
	if sh.garbage*4 > len(sh.arena) {
		sh.rebuild(slotsFor(n))
		return
	}
	old := sh.slots
	sh.slots = make([]uint64, slotsFor(n))
	sh.used = 0
	mask := len(sh.slots) - 1
	for _, s := range old {
		if s == emptySlot || s == deadSlot {
			continue
		}
		i := int(s&tagMask) & mask
		for sh.slots[i] != emptySlot {
			i = (i + 1) & mask
		}
		sh.slots[i] = s
		sh.used++
	}
}

// rebuild moves the live keys into a table of n slots and a new, compact
// arena, dropping dead slots and the arena bytes of deleted keys.
func (sh *shard) rebuild(n int) {
	old := *sh
	*sh = shard{slots: make([]uint64, n), arena: make([]byte, 0, len(old.arena)-old.garbage+entrySize)}
	mask := n - 1
	for _, s := range old.slots {
		if s == emptySlot || s == deadSlot {
			continue
		}
		off := len(sh.arena)
		sh.arena = append(sh.arena, old.arena[old.recordOffset(s):old.recordOffset(s)+old.recordLen(s)]...)
		i := int(s&tagMask) & mask
		for sh.slots[i] != emptySlot {
			i = (i + 1) & mask
		}
		sh.slots[i] = uint64(off+1)<<tagBits | s&tagMask
		sh.used++
		sh.live++
	}
}

// slotsFor returns a table size, a power of two, that holds n keys at a
// load factor of at most two thirds. Tables are rebuilt at three quarters,
// so a table that grows by doubling runs at a load of 3/8 to 3/4.
func slotsFor(n int) int {
	size := minSlots
	for size < n+n/2 {
		size *= 2
	}
	return size
}

// entryLen is the room e takes in an arena record.
func entryLen(e Entry) int {
	if e.Expire != 0 {
		return entrySize + expireSize
	}
	return entrySize
}

func encodeEntry(b []byte, e Entry) {
	binary.LittleEndian.PutUint32(b[0:], e.FileID)
	size := e.Size
	if e.Expire != 0 {
		size |= hasExpire
		binary.LittleEndian.PutUint64(b[16:], uint64(e.Expire))
	}
	binary.LittleEndian.PutUint32(b[4:], size)
	binary.LittleEndian.PutUint64(b[8:], uint64(e.Offset))
}

func decodeEntry(b []byte) Entry {
	e := Entry{
		FileID: binary.LittleEndian.Uint32(b[0:]),
		Size:   binary.LittleEndian.Uint32(b[4:]),
		Offset: int64(binary.LittleEndian.Uint64(b[8:])),
	}
	if e.Size&hasExpire != 0 {
		e.Size &^= hasExpire
		e.Expire = int64(binary.LittleEndian.Uint64(b[16:]))
	}
	return e
}

// Shards is the number of shards; RangeShard takes 0 to Shards-1.
const Shards = nShards

// RangeShard is Range over the keys of one shard. Every key belongs to
// exactly one shard, for as long as it exists.
func (k *Keydir) RangeShard(i int, fn func(key []byte, e Entry) bool) {
	sh := &k.shards[i]
	for _, s := range sh.slots {
		if s == emptySlot || s == deadSlot {
			continue
		}
		if !fn(sh.key(s), sh.entry(s)) {
			return
		}
	}
}
