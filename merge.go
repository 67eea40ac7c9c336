package aetherkv

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/aether-kv/aether-kv/internal/format"
	"github.com/aether-kv/aether-kv/internal/keydir"
	"github.com/aether-kv/aether-kv/internal/storage"
	"github.com/aether-kv/aether-kv/internal/vfs"
)

// ErrMergeRunning is returned by Merge when a merge, or a backup, is
// already running.
var ErrMergeRunning = errors.New("aetherkv: a merge is already running")

// A merge holds the DB's lock, shared or exclusive, for one batch at a
// time; small batches keep the wait of a writer short.
const (
	liveCheckBatch = 16   // records checked against the key directory under one read lock
	switchBatch    = 1024 // moved keys made readable with one write(2), then switched...
	switchChunk    = 16   // ...this many under one write lock
)

// mergeStats is what Stats reports of merges.
type mergeStats struct {
	runs      int64
	last      time.Time
	duration  time.Duration
	reclaimed int64
}

// Merge compacts the store: it closes the active file, so that everything
// written before the merge began is included, copies the live records of
// every closed file into new data files, each with a hint file, and removes
// the files it replaced. Reads and writes go on while it runs; writers wait
// only for the switch-over of each batch of moved keys.
//
// A crash at any moment of a merge leaves a store that opens with exactly
// the data it held. Only one merge runs at a time: a second one returns
// ErrMergeRunning.
func (db *DB) Merge() error { return db.MergeWithProgress(nil) }

// MergeWithProgress is Merge, calling progress (if not nil) with the bytes
// of input read so far and the total, from the merging goroutine.
func (db *DB) MergeWithProgress(progress func(done, total int64)) error {
	if !db.maint.TryLock() {
		return ErrMergeRunning
	}
	defer db.maint.Unlock()
	db.merging.Store(true)
	defer db.merging.Store(false)
	start := time.Now()
	m, err := db.planMerge()
	if err != nil || m == nil {
		return err
	}
	defer db.wg.Done()
	m.progress = progress
	if err := m.run(); err != nil {
		m.abort()
		return fmt.Errorf("aetherkv: merge: %w", err)
	}
	db.mu.Lock()
	db.mu.merges.runs++
	db.mu.merges.last = start
	db.mu.merges.duration = time.Since(start)
	db.mu.merges.reclaimed = m.inputBytes - m.outputBytes
	db.mu.Unlock()
	db.opts.Logger.Info("merge done", "dir", db.dir, "inputs", len(m.inputs),
		"read", m.inputBytes, "written", m.outputBytes, "took", time.Since(start))
	return nil
}

// mergeInput is a closed data file being merged.
type mergeInput struct {
	id  uint32
	seg *segment
}

// mergeOutput is the data file a merge is writing, with its hint file.
type mergeOutput struct {
	id       uint32
	dataPath string // final names; the files are written under name+TempSuffix
	hintPath string
	dataW    *writer
	hintW    *writer
	hintCRC  uint32
	entries  uint64
	seg      *segment
}

// move is a key whose record a merge copied, to switch in the key
// directory if the key still points at the old record.
type move struct {
	keyStart, keyEnd int // the key, in merger.movedKeys
	old, new         keydir.Entry
}

type merger struct {
	db          *DB
	inputs      []mergeInput
	nextID      uint32 // next output file id
	lastID      uint32 // last id reserved for outputs
	out         *mergeOutput
	pending     []move
	movedKeys   []byte      // keys of pending moves
	batch       []candidate // records waiting for the liveness check
	arena       []byte      // the batch's records, encoded
	buf         []byte
	progress    func(done, total int64)
	inputBytes  int64
	outputBytes int64
	done        int64
}

// planMerge rotates the active file and returns a merger over every closed
// file, or nil if the store is empty. The ids between the old active file
// and the new one are reserved for the merge's outputs, so that they sort
// after every input and before every file written during the merge.
func (db *DB) planMerge() (*merger, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed.Load() {
		return nil, ErrClosed
	}
	if db.mu.err != nil {
		return nil, db.mu.err
	}
	if len(db.mu.unremoved) > 0 { // inputs an earlier merge could not remove, oldest first
		for len(db.mu.unremoved) > 0 {
			if err := removeFile(db.opts.fs, db.mu.unremoved[0]); err != nil {
				return nil, err
			}
			db.mu.unremoved = db.mu.unremoved[1:]
		}
		// Durably gone before this merge drops a tombstone that shadows
		// their values.
		if err := db.opts.fs.SyncDir(db.dir); err != nil {
			return nil, fmt.Errorf("sync %s: %w", db.dir, err)
		}
	}
	db.sweepLocked(time.Now().UnixNano()) // what has expired is not copied
	var total int64
	for _, s := range db.mu.segs {
		total += s.size
	}
	if total == 0 {
		return nil, nil
	}
	active := db.mu.log.ID()
	// Outputs are filled up to MaxFileSize, so any two in a row hold more
	// than MaxFileSize: 2*total/MaxFileSize+1 of them at most, and never
	// more than one per record. The inputs may hold more per file than
	// that (a batch larger than MaxFileSize, or a MaxFileSize lowered
	// since they were written).
	outputs := min(2*total/db.opts.MaxFileSize, total/format.HeaderSize) + 1
	reserve := uint32(min(int64(len(db.mu.segs))+outputs, math.MaxUint32/4)) + 1
	// rotateLocked refuses an id that would wrap (reserve is at most
	// MaxUint32/4+1, so a wrapped sum is below active).
	if err := db.rotateLocked(active + reserve + 1); err != nil {
		return nil, err
	}
	m := &merger{db: db, nextID: active + 1, lastID: active + reserve}
	for id, s := range db.mu.segs {
		if id <= active {
			m.inputs = append(m.inputs, mergeInput{id: id, seg: s})
			m.inputBytes += s.size
		}
	}
	slices.SortFunc(m.inputs, func(a, b mergeInput) int { return int(a.id) - int(b.id) })
	db.wg.Add(1) // Close waits for the merge to stop
	return m, nil
}

// run copies the live records of every input, then retires the inputs.
func (m *merger) run() error {
	for _, in := range m.inputs {
		if err := m.copyFile(in); err != nil {
			return err
		}
	}
	if err := m.finishOutput(); err != nil {
		return err
	}
	return m.retireInputs()
}

// copyFile copies the records of one input that the key directory still
// points at. Tombstones are dropped: every file that could hold an older
// value of their key is an input too, and is removed with them. Records are
// checked against the key directory in batches, so that the merge takes
// the read lock once per batch rather than once per record.
func (m *merger) copyFile(in mergeInput) error {
	db := m.db
	s := storage.NewScanner(in.seg.f, in.seg.path, in.seg.size, MaxKeySizeLimit)
	s.KeepValues()
	for s.Next() {
		select {
		case <-db.stop:
			return ErrClosed
		default:
		}
		r := s.Record()
		size := r.Header.RecordSize()
		m.done += size
		if m.progress != nil {
			m.progress(m.done, m.inputBytes)
		}
		if !format.IsValue(r.Header.Flag) {
			continue // tombstones and batch commits: dropped with their files
		}
		// A value written by a batch is copied as a plain value: its batch
		// was committed, or the key directory would not point at it.
		h := r.Header
		h.Flag = format.FlagValue
		if format.HasDeadline(r.Header.Flag) {
			h.Flag = format.FlagValueTTL // the value field keeps the deadline
		}
		start := len(m.arena)
		m.arena = format.Append(m.arena, h.Timestamp, h.Flag, r.Key, r.Value)
		m.batch = append(m.batch, candidate{
			old:   keydir.Entry{FileID: in.id, Offset: r.Offset, Size: uint32(size), Expire: r.Deadline},
			hdr:   h,
			start: start,
		})
		if len(m.batch) >= liveCheckBatch || len(m.arena) >= 1<<20 {
			if err := m.copyBatch(); err != nil {
				return err
			}
		}
	}
	if err := s.Err(); err != nil {
		return err
	}
	return m.copyBatch()
}

// candidate is a record read from an input, encoded in merger.arena, that
// is copied if the key directory still points at it.
type candidate struct {
	old   keydir.Entry
	hdr   format.Header
	start int // offset of the encoded record in the arena
	live  bool
}

func (c *candidate) record(arena []byte) (rec, key []byte) {
	rec = arena[c.start : c.start+int(c.old.Size)]
	return rec, rec[format.HeaderSize : format.HeaderSize+int(c.hdr.KeySize)]
}

// copyBatch copies the candidates that are still live.
func (m *merger) copyBatch() error {
	db := m.db
	db.mu.RLock()
	for i := range m.batch {
		c := &m.batch[i]
		_, key := c.record(m.arena)
		cur, ok := db.mu.keys.Get(key)
		c.live = ok && cur == c.old // else overwritten or deleted since
	}
	db.mu.RUnlock()
	runtime.Gosched() // let a waiting writer in before the next hold
	for i := range m.batch {
		if c := &m.batch[i]; c.live {
			rec, key := c.record(m.arena)
			if err := m.copyRecord(rec, key, c.hdr, c.old); err != nil {
				return err
			}
		}
	}
	m.batch, m.arena = m.batch[:0], m.arena[:0]
	return nil
}

// copyRecord appends an encoded record to the current output, and its
// entry to the output's hint file.
func (m *merger) copyRecord(rec, key []byte, h format.Header, old keydir.Entry) error {
	size := int64(len(rec))
	if m.out == nil || (m.out.dataW.n > 0 && m.out.dataW.n+size > m.db.opts.MaxFileSize) {
		if err := m.finishOutput(); err != nil {
			return err
		}
		if err := m.newOutput(); err != nil {
			return err
		}
	}
	out := m.out
	off := out.dataW.n
	if err := out.dataW.write(rec); err != nil {
		return err
	}
	m.buf = format.AppendHint(m.buf[:0], format.HintEntry{
		Timestamp: h.Timestamp, ValueSize: h.ValueSize, Offset: off, Flag: h.Flag, Key: key, Deadline: old.Expire,
	})
	out.hintCRC = format.UpdateChecksum(out.hintCRC, m.buf)
	out.entries++
	if err := out.hintW.write(m.buf); err != nil {
		return err
	}
	keyStart := len(m.movedKeys)
	m.movedKeys = append(m.movedKeys, key...)
	m.pending = append(m.pending, move{
		keyStart: keyStart, keyEnd: len(m.movedKeys), old: old,
		new: keydir.Entry{FileID: out.id, Offset: off, Size: old.Size, Expire: old.Expire},
	})
	if len(m.pending) >= switchBatch {
		return m.switchPending()
	}
	return nil
}

// switchPending makes the copies written so far readable, then points the
// key directory at them, for every key that has not changed since it was
// copied. Writers wait only for this switch, never for the copying.
func (m *merger) switchPending() error {
	if err := m.out.dataW.flush(); err != nil {
		return err
	}
	db := m.db
	for start := 0; start < len(m.pending); start += switchChunk {
		chunk := m.pending[start:min(len(m.pending), start+switchChunk)]
		db.mu.Lock()
		m.out.seg.size = m.out.dataW.n
		for _, mv := range chunk {
			if db.mu.keys.CompareAndSwap(m.movedKeys[mv.keyStart:mv.keyEnd], mv.old, mv.new) {
				db.accountLocked(mv.old, true, mv.new, true)
			}
		}
		db.mu.Unlock()
		runtime.Gosched() // let a waiting writer in before the next hold
	}
	m.pending, m.movedKeys = m.pending[:0], m.movedKeys[:0]
	return nil
}

// newOutput creates the next output data file and its hint file under
// temporary names, and makes the data file readable as a segment.
func (m *merger) newOutput() error {
	if m.nextID > m.lastID {
		return fmt.Errorf("merge output needs more than the %d file ids reserved", m.lastID-m.inputs[len(m.inputs)-1].id)
	}
	db := m.db
	id := m.nextID
	m.nextID++
	out := &mergeOutput{
		id:       id,
		dataPath: filepath.Join(db.dir, storage.ClosedName(id)),
		hintPath: filepath.Join(db.dir, storage.HintName(id)),
	}
	data, err := createFile(db, out.dataPath+storage.TempSuffix)
	if err != nil {
		return err
	}
	hint, err := createFile(db, out.hintPath+storage.TempSuffix)
	if err != nil {
		data.Close()
		return err
	}
	out.dataW, out.hintW = newWriter(data), newWriter(hint)
	out.seg = &segment{f: data, path: out.dataPath + storage.TempSuffix}
	db.mu.Lock()
	db.mu.segs[id] = out.seg
	db.mu.Unlock()
	m.out = out
	return nil
}

// finishOutput completes the current output: switches its pending keys,
// fsyncs it, completes and fsyncs its hint file, and renames both into
// place. The directory is synced once, before any input is removed.
func (m *merger) finishOutput() error {
	out := m.out
	if out == nil {
		return nil
	}
	if err := m.switchPending(); err != nil {
		return err
	}
	if err := out.dataW.sync(); err != nil {
		return err
	}
	trailer := format.AppendHintTrailer(nil, out.entries, out.dataW.n, out.hintCRC)
	if err := out.hintW.write(trailer); err != nil {
		return err
	}
	if err := out.hintW.sync(); err != nil {
		return err
	}
	if err := out.hintW.f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", out.hintPath, err)
	}
	fs := m.db.opts.fs
	if err := fs.Rename(out.dataPath+storage.TempSuffix, out.dataPath); err != nil {
		return fmt.Errorf("rename merge output: %w", err)
	}
	if err := fs.Rename(out.hintPath+storage.TempSuffix, out.hintPath); err != nil {
		return fmt.Errorf("rename merge hint: %w", err)
	}
	mapping, err := storage.Map(out.seg.f, out.dataW.n)
	if err != nil {
		return err
	}
	m.db.mu.Lock()
	out.seg.path, out.seg.m = out.dataPath, mapping
	m.db.publishFilesLocked()
	m.db.mu.Unlock()
	m.outputBytes += out.dataW.n
	m.out = nil
	return nil
}

// retireInputs removes the merged files, once the outputs' names are
// durable. Inputs are removed oldest first: should a crash stop this half
// way, the files left are the newest inputs, which with the outputs still
// open with the same data (no deleted key comes back, since every tombstone
// left is newer than every value it deletes).
func (m *merger) retireInputs() error {
	db := m.db
	fs := db.opts.fs
	if err := fs.SyncDir(db.dir); err != nil {
		return fmt.Errorf("sync %s: %w", db.dir, err)
	}
	db.pauseSyncs(func() { // no fsync of a retired file may be in flight
		db.mu.Lock()
		for _, in := range m.inputs {
			delete(db.mu.segs, in.id)
		}
		db.publishFilesLocked()
		db.mu.Unlock()
	})
	db.mu.keys.Barrier() // no Get is still reading an input (see read.go)
	var failed error
	for _, in := range m.inputs {
		in.seg.close()
		hint := filepath.Join(db.dir, storage.HintName(in.id))
		if failed == nil {
			failed = removeFile(fs, hint)
		}
		if failed == nil {
			failed = removeFile(fs, in.seg.path)
		}
		if failed != nil {
			// Still on disk, but no longer merged: the next merge would
			// drop tombstones that shadow its values. Remove it first.
			db.mu.Lock()
			db.mu.unremoved = append(db.mu.unremoved, hint, in.seg.path)
			db.mu.Unlock()
		}
	}
	if failed != nil {
		return failed
	}
	if err := fs.SyncDir(db.dir); err != nil {
		return fmt.Errorf("sync %s: %w", db.dir, err)
	}
	return nil
}

// abort leaves a failed merge in a state that is consistent in memory and
// on disk: it tries to complete the current output (so that the keys
// already switched to it stay readable after a restart too); the inputs
// are kept. An output that cannot be completed keeps serving reads, and is
// removed at the next Open, where its data is found in the inputs.
func (m *merger) abort() {
	if m.out == nil {
		return
	}
	if err := m.finishOutput(); err != nil {
		m.db.opts.Logger.Error("merge: cannot complete an output after a failure", "file", m.out.dataPath, "err", err)
	}
}

// removeFile removes path; a file already gone is not an error.
func removeFile(fs vfs.FS, path string) error {
	if err := fs.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}
