package aetherkv

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/aether-kv/aether-kv/internal/keydir"
	"github.com/aether-kv/aether-kv/internal/storage"
	"github.com/aether-kv/aether-kv/internal/vfs"
)

// Key-directory checkpoint: a clean Close writes the key directory as it
// is in memory, with the live bytes of every data file, so that the next
// Open loads it with no work per key instead of reading every hint file.
// It names every data file with its exact size; Open uses it only if the
// data files on disk are exactly those (the active file's id aside: see
// checkCheckpointFiles), and removes it (and syncs the directory) before
// loading anything, whether it used it or not, so that a checkpoint never
// outlives the state it describes; if it cannot, Open fails. Data files
// only ever grow, and are replaced under new ids, so a size that matches
// means the contents Close left. The files without a hint file are still
// read whole, records checked (verifyUnhinted), as Open would without a
// checkpoint; damage at rest in a file with a hint file is found by Get,
// which checks each record, as it was before checkpoints.
//
//	checkpoint: magic "AKVKDIR\x00" | version u32 | flags u32 | file count u32
//	            | file × count | saved keydir | CRC-32C u32
//	file:       id u32 | size u64 | live bytes u64   (ascending ids, the active file last)
//	flags:      bit 0: some key may have a deadline
//
// The saved keydir is laid out in keydir.WriteTo. Integers are
// little-endian; the CRC (Castagnoli) covers every byte before it. A
// checkpoint that is damaged, of another version, or that does not match
// the data files is ignored, never an error: Open loads from the data
// files as it would without one. On-disk format; do not change without
// bumping checkpointVersion.
const (
	checkpointMagic   = "AKVKDIR\x00"
	checkpointVersion = 2 // 2: 16-byte keydir slots
	ckptHasDeadlines  = 1 << 0
	ckptHeaderSize    = len(checkpointMagic) + 4 + 4 + 4
	ckptFileSize      = 4 + 8 + 8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checkpoint is what a checkpoint holds besides the files it names.
type checkpoint struct {
	keys      *keydir.Keydir
	live      map[uint32]int64 // data file id -> live bytes
	deadlines bool
	activeID  uint32 // the id of active.log, which its name does not say
}

// closeCheckpointLocked writes the checkpoint at the end of a clean Close.
// A checkpoint that cannot be written only makes the next Open slower: it
// is logged, not returned.
func (db *DB) closeCheckpointLocked() {
	start := time.Now()
	if err := db.writeCheckpointLocked(); err != nil {
		db.opts.Logger.Warn("key-directory checkpoint not written; the next Open loads from the data files", "dir", db.dir, "err", err)
		return
	}
	db.opts.Logger.Debug("key-directory checkpoint written", "dir", db.dir, "keys", db.mu.keys.Len(), "took", time.Since(start))
}

// writeCheckpointLocked writes the checkpoint of a store that has just closed
// cleanly: its log flushed and fsynced, nothing running. It writes a
// temporary file, fsyncs it, renames it into place and syncs the
// directory. The caller holds db.mu.
func (db *DB) writeCheckpointLocked() error {
	fs := db.opts.fs
	path := filepath.Join(db.dir, storage.CheckpointName)
	tmp := path + storage.TempSuffix
	f, err := fs.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600) // RDWR: crashfs reads back what is synced
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	err = db.encodeCheckpointLocked(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fs.Rename(tmp, path)
	}
	if err != nil {
		fs.Remove(tmp) // else removed at the next Open, as a leftover
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	// The contents were fsynced before the rename: the checkpoint is
	// valid whether or not the rename survives a crash.
	if err := fs.SyncDir(db.dir); err != nil {
		return fmt.Errorf("sync %s: %w", db.dir, err)
	}
	return nil
}

func (db *DB) encodeCheckpointLocked(f vfs.File) error {
	// The live bytes below must count what a held-back put replaced
	// (Keydir.PutLater).
	db.mu.keys.Settle()
	bw := bufio.NewWriterSize(f, 1<<20) // the slots and arenas, larger, go straight to f
	w := &crcWriter{w: bw}
	ids := make([]uint32, 0, len(db.mu.segs))
	for id := range db.mu.segs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var flags uint32
	if len(db.mu.expiries) > 0 { // every key with a deadline has an entry there
		flags |= ckptHasDeadlines
	}
	b := make([]byte, 0, ckptHeaderSize+ckptFileSize*len(ids))
	b = append(b, checkpointMagic...)
	b = binary.LittleEndian.AppendUint32(b, checkpointVersion)
	b = binary.LittleEndian.AppendUint32(b, flags)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ids)))
	for _, id := range ids {
		s := db.mu.segs[id]
		b = binary.LittleEndian.AppendUint32(b, id)
		b = binary.LittleEndian.AppendUint64(b, uint64(s.size))
		b = binary.LittleEndian.AppendUint64(b, uint64(s.live))
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	if _, err := db.mu.keys.WriteTo(w); err != nil {
		return err
	}
	if _, err := bw.Write(binary.LittleEndian.AppendUint32(nil, w.crc)); err != nil {
		return err
	}
	return bw.Flush()
}

// readCheckpoint removes the checkpoint of the data directory, if it has
// one, and returns its contents if it describes exactly the data files
// (files, from storage.ListDataFiles) as they are on disk. It returns nil
// if there is none, or if it is unusable, logging why; an error only if
// it cannot remove it.
func (db *DB) readCheckpoint(files []storage.DataFile) (*checkpoint, error) {
	fs := db.opts.fs
	path := filepath.Join(db.dir, storage.CheckpointName)
	f, err := fs.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	// Whatever happens next, the checkpoint must not be found again: the
	// files it describes are about to change. It is removed while it is
	// read (f keeps it readable), so that the directory sync overlaps the
	// reading; it is done before loading goes on.
	removed := make(chan error, 1)
	go func() { removed <- removeCheckpointFile(fs, db.dir) }()
	var ck *checkpoint
	if err == nil {
		start := time.Now()
		ck, err = db.decodeCheckpoint(f, files)
		// Closing the file, once it is unlinked, frees its blocks, which
		// takes some 10 ms for 1M keys: in the background. Close, and a
		// failing Open, wait for it.
		db.wg.Add(1)
		go func() {
			defer db.wg.Done()
			f.Close()
		}()
		if err == nil {
			db.opts.Logger.Debug("key directory loaded from the checkpoint", "file", path, "keys", ck.keys.Len(), "took", time.Since(start))
		}
	}
	if err != nil {
		db.opts.Logger.Info("key-directory checkpoint ignored; loading from the data files", "file", path, "reason", err)
	}
	if err := <-removed; err != nil {
		db.wg.Wait() // the file's closing: Open fails
		return nil, err
	}
	return ck, nil
}

// verifyUnhinted checks every record of the data files that have no hint
// file: the files Open scans when it loads without a checkpoint, so that
// damage to them stops Open as it did before there were checkpoints. The
// checkpoint spares the key directory's work, not this reading, which is
// cheap: a bad record makes Open load from the files instead, and that
// cuts a torn tail or refuses the store, naming the record. Files are
// checked side by side, large ones in parts: about one scanner per core.
func (db *DB) verifyUnhinted(files []storage.DataFile) error {
	var check []int // indexes of the files to check
	for i, df := range files {
		if i < len(files)-1 {
			if _, err := db.opts.fs.Stat(filepath.Join(db.dir, storage.HintName(df.ID))); err == nil {
				continue
			}
		}
		check = append(check, i)
	}
	if len(check) == 0 {
		return nil
	}
	// About one scanner per core in all: files side by side, and each in
	// parts when there are fewer files than cores.
	cores := runtime.GOMAXPROCS(0)
	parts := max(1, cores/len(check))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	sem := make(chan struct{}, cores)
	for _, i := range check {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = db.verifyFile(files[i], i == len(files)-1, parts)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// verifyFile checks every record of data file df. A large file is
// checked in up to parts parts side by side, each starting at a record
// found near its split (storage.NextValid). A part must end exactly where
// the next begins, so a start that only looked like a record (bytes of a
// value) fails its part; any failure is then settled by checking the file
// in one piece.
func (db *DB) verifyFile(df storage.DataFile, active bool, parts int) error {
	path := filepath.Join(db.dir, df.Name)
	f, err := db.opts.fs.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) && active {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	bounds := []int64{0}
	if size >= verifySplitSize && parts > 1 {
		for i := 1; i < parts; i++ {
			from := max(size*int64(i)/int64(parts), bounds[len(bounds)-1])
			// Look for a record start within a bounded stretch, so that
			// a huge value across the split costs no long search.
			b, err := storage.NextValid(f, from, min(size, from+verifySearch), MaxKeySizeLimit)
			if err != nil {
				return err
			}
			if b > 0 {
				bounds = append(bounds, b)
			}
		}
	}
	bounds = append(bounds, size)
	check := func(from, to int64) error {
		s := storage.NewScannerFrom(f, path, from, to, MaxKeySizeLimit)
		for s.Next() {
		}
		return s.Err()
	}
	errs := make([]error, len(bounds)-1)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { errs[i] = check(bounds[i], bounds[i+1]) })
	}
	wg.Wait()
	err = errors.Join(errs...)
	if err != nil && len(errs) > 1 {
		return check(0, size)
	}
	return err
}

// verifySplitSize is the size from which a file is checked in parts; a
// variable for tests.
var verifySplitSize int64 = 32 << 20

// verifySearch is how far past a split a part's first record is sought.
const verifySearch = 1 << 20

// removeCheckpointFile removes the checkpoint of the data directory dir,
// if it has one, and syncs the directory.
func removeCheckpointFile(fs vfs.FS, dir string) error {
	path := filepath.Join(dir, storage.CheckpointName)
	if err := fs.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	if err := fs.SyncDir(dir); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// errStale is wrapped by the error of a checkpoint that is intact but
// describes other data files than those on disk.
var errStale = errors.New("the data files have changed since it was written")

// decodeCheckpoint reads and verifies a checkpoint file.
func (db *DB) decodeCheckpoint(f vfs.File, files []storage.DataFile) (*checkpoint, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	body := size - 4 // all but the CRC
	if body < int64(ckptHeaderSize) {
		return nil, fmt.Errorf("%d bytes, too short", size)
	}
	// A small buffer: the slots and arenas, tens of KB a shard, are read
	// straight into their slices once the buffer is empty, rather than
	// copied out of a large one.
	r := &crcReader{r: bufio.NewReaderSize(io.NewSectionReader(f, 0, body), 4<<10)}
	hdr := make([]byte, ckptHeaderSize)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, err
	}
	if string(hdr[:len(checkpointMagic)]) != checkpointMagic {
		return nil, fmt.Errorf("not a checkpoint (bad magic)")
	}
	hdr = hdr[len(checkpointMagic):]
	if v := binary.LittleEndian.Uint32(hdr); v != checkpointVersion {
		return nil, fmt.Errorf("version %d, want %d", v, checkpointVersion)
	}
	flags := binary.LittleEndian.Uint32(hdr[4:])
	if n := binary.LittleEndian.Uint32(hdr[8:]); int(n) != len(files) {
		return nil, fmt.Errorf("it names %d data files, the directory holds %d: %w", n, len(files), errStale)
	}
	live, activeID, err := db.checkCheckpointFiles(r, files)
	if err != nil {
		return nil, err
	}
	keys, err := keydir.ReadFrom(r, body-r.n)
	if err != nil {
		return nil, fmt.Errorf("key directory: %w", err)
	}
	if r.n != body {
		return nil, fmt.Errorf("%d bytes after the key directory", body-r.n)
	}
	var sum [4]byte
	if _, err := f.ReadAt(sum[:], body); err != nil {
		return nil, fmt.Errorf("read its checksum: %w", err)
	}
	if got := binary.LittleEndian.Uint32(sum[:]); got != r.crc {
		return nil, fmt.Errorf("checksum %#08x, computed %#08x: %w", got, r.crc, ErrCorrupt)
	}
	return &checkpoint{keys: keys, live: live, deadlines: flags&ckptHasDeadlines != 0, activeID: activeID}, nil
}

// checkCheckpointFiles reads the files a checkpoint names and checks them
// against the data files on disk, returning their live bytes and the id
// of the active file. That one may be above the id ListDataFiles gives
// it (the next after the newest closed file): a merge reserves ids for
// its outputs and starts the new active file after them, and leaves the
// ids it did not use free.
func (db *DB) checkCheckpointFiles(r io.Reader, files []storage.DataFile) (live map[uint32]int64, activeID uint32, err error) {
	live = make(map[uint32]int64, len(files))
	b := make([]byte, ckptFileSize)
	for i, df := range files {
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, 0, err
		}
		id, size := binary.LittleEndian.Uint32(b), int64(binary.LittleEndian.Uint64(b[4:]))
		active := i == len(files)-1
		if id != df.ID && !(active && id > df.ID && id != math.MaxUint32) {
			return nil, 0, fmt.Errorf("it names data file %d where the directory holds %s (id %d): %w", id, df.Name, df.ID, errStale)
		}
		fi, err := db.opts.fs.Stat(filepath.Join(db.dir, df.Name))
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w (%w)", df.Name, err, errStale)
		}
		if fi.Size() != size {
			return nil, 0, fmt.Errorf("%s has %d bytes, the checkpoint says %d: %w", df.Name, fi.Size(), size, errStale)
		}
		live[id] = int64(binary.LittleEndian.Uint64(b[12:]))
		activeID = id
	}
	return live, activeID, nil
}

// crcWriter computes the CRC-32C of what it writes.
type crcWriter struct {
	w   io.Writer
	crc uint32
}

func (w *crcWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.crc = crc32.Update(w.crc, castagnoli, p[:n])
	return n, err
}

// crcReader computes the CRC-32C of what it reads, and counts it.
type crcReader struct {
	r   io.Reader
	crc uint32
	n   int64
}

func (r *crcReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.crc = crc32.Update(r.crc, castagnoli, p[:n])
	r.n += int64(n)
	return n, err
}
