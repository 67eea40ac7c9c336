package keydir

// arenaBlock is the size of an arena's blocks. Growing an arena adds a
// block and never copies what is there, as growing one slice did: in a
// profile of puts of 1M keys the copying was 6-8% of the samples, though
// the put rate measured moved within noise (6 alternated runs); the heap
// went from 52.5 to 50.4 bytes a key at 1M keys (BenchmarkLoad), since a
// slice grown by append keeps more room unused than the end of a block.
const arenaBlock = 16 << 10

// firstMax is how large first may grow by append (copying) before the
// blocks start: until a shard's arena passes it, the arena is one slice
// as before, so that small and middling stores pay no block's unused end
// (at most one block per shard, 4 MiB in all, which at 200k keys would
// have been ~20 bytes a key).
const firstMax = 64 << 10

// arena holds a shard's key records: first, then blocks of arenaBlock
// bytes. A record never spans two blocks: one that does not fit in what
// is left of the last block starts a new one, and one longer than a block
// gets blocks of its own, the first holding it all and the others nil.
// Offsets count from the start of first, blocks included; block i starts
// at base + i*arenaBlock.
//
// first is appended to (and grows, copying, as a slice does) until it
// would pass firstMax bytes, or the room reserved in it; after that it
// never changes length, and the records go to blocks. An arena read back
// from a saved Keydir is first alone.
type arena struct {
	first  []byte
	base   int // len(first) once blocks started
	blocks [][]byte
	n      int // the end of the last record: the arena's size, unused ends of blocks included
}

// at returns the arena from off to the end of off's block: a record
// starting at off lies wholly in it.
func (a *arena) at(off int) []byte {
	if len(a.blocks) == 0 || off < a.base {
		return a.first[off:]
	}
	r := off - a.base
	return a.blocks[r/arenaBlock][r%arenaBlock:]
}

// add makes room for a record of l bytes and returns its offset and its
// bytes, to be filled in.
func (a *arena) add(l int) (off int, b []byte) {
	if len(a.blocks) == 0 {
		if len(a.first)+l <= max(cap(a.first), firstMax) {
			off = len(a.first)
			a.first = append(a.first, make([]byte, l)...)
			a.n = len(a.first)
			return off, a.first[off:]
		}
		a.base = len(a.first)
	}
	if i := len(a.blocks) - 1; i >= 0 && a.blocks[i] != nil {
		if last := a.blocks[i]; cap(last)-len(last) >= l && cap(last) == arenaBlock {
			off = a.base + i*arenaBlock + len(last)
			a.blocks[i] = last[:len(last)+l]
			a.n = off + l
			return off, a.blocks[i][len(last):]
		}
	}
	span := blocksFor(l)
	off = a.base + len(a.blocks)*arenaBlock
	if span > 1 {
		b = make([]byte, l) // the blocks after it are offsets only
	} else {
		b = make([]byte, l, arenaBlock)
	}
	a.blocks = append(a.blocks, b)
	for range span - 1 {
		a.blocks = append(a.blocks, nil)
	}
	a.n = off + l
	return off, a.blocks[len(a.blocks)-span]
}

// blocksFor returns how many blocks a record of l bytes takes.
func blocksFor(l int) int { return max(1, (l+arenaBlock-1)/arenaBlock) }

// reserve makes room for more bytes of records, if they can go to first.
func (a *arena) reserve(more int) {
	if len(a.blocks) == 0 && cap(a.first)-len(a.first) < more {
		f := make([]byte, len(a.first), len(a.first)+more)
		copy(f, a.first)
		a.first = f
	}
}

// each calls fn with the arena's bytes in order, from offset 0 to n, the
// unused ends of blocks (zeros) included, as a saved Keydir holds them.
func (a *arena) each(fn func([]byte) error) error {
	if err := fn(a.first); err != nil {
		return err
	}
	var zeros []byte
	for i, b := range a.blocks {
		if b == nil {
			continue // the rest of a long record's blocks
		}
		if err := fn(b); err != nil {
			return err
		}
		end := a.base + (i+blocksFor(cap(b)))*arenaBlock // where the next block starts
		if gap := min(end, a.n) - (a.base + i*arenaBlock + len(b)); gap > 0 {
			if len(zeros) < gap {
				zeros = make([]byte, gap)
			}
			if err := fn(zeros[:gap]); err != nil {
				return err
			}
		}
	}
	return nil
}
