package keydir

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unsafe"
)

// A saved Keydir is its tables as they are in memory, so that reading it
// back costs no work per key: no hashing, no probing, no arena appends.
//
//	saved keydir: seed u64 | shard × 256
//	shard:        used u64 | live u64 | garbage u64 | slot count u64 | arena n u64 | slots | arena
//	slots:        slot count × (arena offset and tag u64 | location u64)
//	arena:        arena n bytes, flat: the unused ends of its blocks are zeros
//
// Every integer, the slots included, is little-endian. On-disk format,
// part of the store's key-directory checkpoint; do not change without
// bumping its version.

// ErrBigEndian is returned by WriteTo and ReadFrom on a big-endian host,
// where the slots cannot be written or read as they lie in memory.
var ErrBigEndian = errors.New("keydir: saving needs a little-endian host")

// errInvalid is wrapped by ReadFrom's errors for counts that cannot be.
var errInvalid = errors.New("keydir: invalid saved table")

const shardHeaderSize = 5 * 8

var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// WriteTo writes k to w as ReadFrom reads it. It changes nothing in k but
// to make the put that PutLater holds back, if any.
func (k *Keydir) WriteTo(w io.Writer) (int64, error) {
	if !littleEndian {
		return 0, ErrBigEndian
	}
	k.Settle()
	var n int64
	write := func(b []byte) error {
		m, err := w.Write(b)
		n += int64(m)
		return err
	}
	if err := write(binary.LittleEndian.AppendUint64(nil, k.seed)); err != nil {
		return n, err
	}
	hdr := make([]byte, 0, shardHeaderSize)
	for i := range k.shards {
		sh := &k.shards[i]
		hdr = hdr[:0]
		for _, v := range []int{sh.used, sh.live, sh.garbage, sh.slotCount(), sh.arena.n} {
			hdr = binary.LittleEndian.AppendUint64(hdr, uint64(v))
		}
		if err := write(hdr); err != nil {
			return n, err
		}
		if err := write(slotBytes(sh.slots)); err != nil {
			return n, err
		}
		if err := sh.arena.each(write); err != nil {
			return n, err
		}
	}
	return n, nil
}

// ReadFrom reads a Keydir that WriteTo wrote, reading the slots and arena
// of each shard straight into slices of their size. limit bounds the bytes
// it may read, so that a damaged count cannot make it allocate more
// memory than the input holds. It checks that the counts agree with the
// slots (which costs one pass over them), but trusts the arena: the
// caller must have a checksum over the input, and check it before using
// the Keydir.
func ReadFrom(r io.Reader, limit int64) (*Keydir, error) {
	if !littleEndian {
		return nil, ErrBigEndian
	}
	var b [shardHeaderSize]byte
	if limit < 8 {
		return nil, fmt.Errorf("seed: %w", io.ErrUnexpectedEOF)
	}
	if _, err := io.ReadFull(r, b[:8]); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	limit -= 8
	k := &Keydir{seed: binary.LittleEndian.Uint64(b[:8])}
	for i := range k.shards {
		if limit < shardHeaderSize {
			return nil, fmt.Errorf("shard %d: %w", i, io.ErrUnexpectedEOF)
		}
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("shard %d: %w", i, err)
		}
		limit -= shardHeaderSize
		n, err := readShard(r, &k.shards[i], b[:], limit)
		if err != nil {
			return nil, fmt.Errorf("shard %d: %w", i, err)
		}
		limit -= n
	}
	return k, nil
}

// readShard reads the slots and arena of a shard whose header is hdr, and
// returns how many bytes it read.
func readShard(r io.Reader, sh *shard, hdr []byte, limit int64) (int64, error) {
	var v [5]uint64
	for j := range v {
		v[j] = binary.LittleEndian.Uint64(hdr[8*j:])
	}
	used, live, garbage, nSlots, nArena := v[0], v[1], v[2], v[3], v[4]
	switch {
	case nSlots > uint64(limit)/16 || nArena > uint64(limit)-16*nSlots:
		return 0, fmt.Errorf("%d slots and %d arena bytes, %d bytes left: %w", nSlots, nArena, limit, io.ErrUnexpectedEOF)
	case nSlots != 0 && nSlots < minSlots:
		return 0, fmt.Errorf("%d slots, fewer than %d: %w", nSlots, minSlots, errInvalid)
	case nArena >= 1<<(64-tagBits)-1:
		return 0, fmt.Errorf("arena of %d bytes: %w", nArena, errInvalid)
	case live > used || (nSlots > 0 && used >= nSlots) || (nSlots == 0 && used > 0) || garbage > nArena:
		return 0, fmt.Errorf("counts used %d, live %d, garbage %d for %d slots, %d arena bytes: %w",
			used, live, garbage, nSlots, nArena, errInvalid)
	}
	*sh = shard{used: int(used), live: int(live), garbage: int(garbage)}
	if nSlots > 0 {
		sh.slots = make([]uint64, 2*nSlots)
		if _, err := io.ReadFull(r, slotBytes(sh.slots)); err != nil {
			return 0, fmt.Errorf("slots: %w", err)
		}
	}
	if nArena > 0 {
		sh.arena = arena{first: make([]byte, nArena), n: int(nArena)}
		if _, err := io.ReadFull(r, sh.arena.first); err != nil {
			return 0, fmt.Errorf("arena: %w", err)
		}
	}
	if err := sh.checkSlots(); err != nil {
		return 0, err
	}
	return int64(16*nSlots + nArena), nil
}

// checkSlots checks that the slots agree with the counts, and point into
// the arena. It is written without branches on the slots, which are
// empty or not at random: a third of the time of a switch.
func (sh *shard) checkSlots() error {
	used, dead := 0, 0
	var top uint64 // the highest arena offset + 1 of a live slot
	for i := 0; i < len(sh.slots); i += 2 {
		s := sh.slots[i] // the location, slots[i+1], is not checked
		isDead := b2i(s == deadSlot)
		used += b2i(s != emptySlot)
		dead += isDead
		top = max(top, (s>>tagBits)*uint64(1-isDead))
	}
	if top > uint64(sh.arena.n) {
		return fmt.Errorf("a slot points at arena offset %d of %d: %w", top-1, sh.arena.n, errInvalid)
	}
	if used != sh.used || used-dead != sh.live {
		return fmt.Errorf("%d slots used, %d live; the counts say %d and %d: %w", used, used-dead, sh.used, sh.live, errInvalid)
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// slotBytes returns the memory of slots as bytes, in the host's byte order.
func slotBytes(slots []uint64) []byte {
	if len(slots) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&slots[0])), 8*len(slots))
}
