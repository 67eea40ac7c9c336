package cluster

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/raft"

	aetherkv "github.com/aether-kv/aether-kv"
)

// A snapshot stream is
//
//	magic (8 bytes) | registry entries | 0 | records | 0 | record count (uvarint)
//
// where a registry entry is 1, then a node id and an address, and a record
// is 1, then a key, a value and a deadline (varint Unix ns, 0 for none);
// ids, addresses, keys and values are a uvarint length and bytes. Raft's
// snapshot store checks the stream with a CRC of its own.
var snapshotMagic = [8]byte{'A', 'E', 'T', 'H', 'S', 'N', 'P', '1'}

// ErrBadSnapshot is returned for a snapshot stream that cannot be read.
var ErrBadSnapshot = errors.New("cluster: bad snapshot")

// fsmSnapshot is a copy of the store taken by fsm.Snapshot.
type fsmSnapshot struct {
	dir  string
	opts aetherkv.Options
	reg  map[string]string
}

// Persist opens the copy and streams its live keys to sink.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.write(sink); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *fsmSnapshot) write(w io.Writer) error {
	opts := s.opts
	opts.MergeRatio = 0
	opts.Logger = nil
	db, err := aetherkv.Open(filepath.Join(s.dir, "data"), &opts)
	if err != nil {
		return fmt.Errorf("cluster: snapshot: open the copy: %w", err)
	}
	defer db.Close()
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.Write(snapshotMagic[:])
	for id, addr := range s.reg {
		bw.WriteByte(1)
		writeBytes(bw, []byte(id))
		writeBytes(bw, []byte(addr))
	}
	bw.WriteByte(0)
	var n uint64
	var value []byte
	for key, err := range db.Keys(nil) {
		if err != nil {
			return fmt.Errorf("cluster: snapshot: list the keys: %w", err)
		}
		deadline, err := db.ExpiresAt(key)
		if errors.Is(err, aetherkv.ErrNotFound) {
			continue // expired meanwhile
		}
		if err != nil {
			return fmt.Errorf("cluster: snapshot: %w", err)
		}
		value, err = db.GetInto(value[:0], key)
		if errors.Is(err, aetherkv.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("cluster: snapshot: %w", err)
		}
		bw.WriteByte(1)
		writeBytes(bw, key)
		writeBytes(bw, value)
		var d int64
		if !deadline.IsZero() {
			d = deadline.UnixNano()
		}
		bw.Write(binary.AppendVarint(nil, d))
		n++
	}
	bw.WriteByte(0)
	bw.Write(binary.AppendUvarint(nil, n))
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("cluster: snapshot: write: %w", err)
	}
	return nil
}

// Release removes the copy.
func (s *fsmSnapshot) Release() { os.RemoveAll(s.dir) }

func writeBytes(w *bufio.Writer, b []byte) {
	w.Write(binary.AppendUvarint(nil, uint64(len(b))))
	w.Write(b)
}

// readSnapshot reads a snapshot stream into db, in batches, and returns
// its registry and its number of records.
func readSnapshot(r io.Reader, db *aetherkv.DB) (map[string]string, uint64, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var magic [8]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil || magic != snapshotMagic {
		return nil, 0, fmt.Errorf("%w: no magic number (%v)", ErrBadSnapshot, err)
	}
	reg := map[string]string{}
	for {
		more, err := br.ReadByte()
		if err != nil {
			return nil, 0, fmt.Errorf("%w: registry: %v", ErrBadSnapshot, err)
		}
		if more == 0 {
			break
		}
		id, err1 := readBytes(br)
		addr, err2 := readBytes(br)
		if err := errors.Join(err1, err2); err != nil {
			return nil, 0, fmt.Errorf("%w: registry: %v", ErrBadSnapshot, err)
		}
		reg[string(id)] = string(addr)
	}
	b := db.NewBatch()
	var n uint64
	size := 0
	for {
		more, err := br.ReadByte()
		if err != nil {
			return nil, 0, fmt.Errorf("%w: record %d: %v", ErrBadSnapshot, n, err)
		}
		if more == 0 {
			break
		}
		key, err1 := readBytes(br)
		value, err2 := readBytes(br)
		d, err3 := binary.ReadVarint(br)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, 0, fmt.Errorf("%w: record %d: %v", ErrBadSnapshot, n, err)
		}
		var deadline time.Time
		if d != 0 {
			deadline = time.Unix(0, d)
		}
		b.PutWithDeadline(key, value, deadline)
		n++
		size += len(key) + len(value)
		if size >= maxApplyBatch || b.Len() >= 4096 {
			if err := db.Write(b); err != nil {
				return nil, 0, fmt.Errorf("cluster: restore: %w", err)
			}
			b.Reset()
			size = 0
		}
	}
	if err := db.Write(b); err != nil {
		return nil, 0, fmt.Errorf("cluster: restore: %w", err)
	}
	count, err := binary.ReadUvarint(br)
	if err != nil || count != n {
		return nil, 0, fmt.Errorf("%w: %d records read, trailer says %d (%v)", ErrBadSnapshot, n, count, err)
	}
	return reg, n, nil
}

// maxSnapshotField bounds a length read from a snapshot, against a damaged
// stream making the reader allocate without limit.
const maxSnapshotField = 1 << 30

func readBytes(r *bufio.Reader) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > maxSnapshotField {
		return nil, fmt.Errorf("field of %d bytes", n)
	}
	b := make([]byte, n)
	_, err = io.ReadFull(r, b)
	return b, err
}
