package aetherkv

import (
	"bytes"
	"fmt"

	"github.com/aether-kv/aether-kv/internal/format"
	"github.com/aether-kv/aether-kv/internal/keydir"
	"github.com/aether-kv/aether-kv/internal/storage"
)

// replay applies the records of one data file, in order, to a key
// directory, holding back the records of an atomic batch until its commit
// record, so that a batch counts whole or not at all. Open and Check use it.
type replay struct {
	file    uint32
	apply   func(key []byte, tombstone bool, e keydir.Entry)
	pending []pendingRecord
	keys    []byte // keys of pending, one after another
}

type pendingRecord struct {
	keyEnd    int
	tombstone bool
	e         keydir.Entry
}

// errIncompleteBatch is wrapped by the errors of batches that are not
// followed by their commit record.
var errIncompleteBatch = fmt.Errorf("incomplete batch: %w", ErrCorrupt)

// batchError reports the records of a batch that cannot count, from From
// to To in the file.
type batchError struct {
	From, To int64
	msg      string
}

func (e *batchError) Error() string { return e.msg + ": " + errIncompleteBatch.Error() }
func (e *batchError) Unwrap() error { return errIncompleteBatch }

// record takes the next record of the file. It reports a batch that a
// record other than its own commit interrupts, or whose commit counts
// another number of records, as an error wrapping ErrCorrupt: the
// batch's records are then dropped.
func (r *replay) record(rec *storage.Scanned) error {
	h := rec.Header
	e := keydir.Entry{FileID: r.file, Offset: rec.Offset, Size: uint32(h.RecordSize()), Expire: rec.Deadline}
	switch {
	case format.IsBatchMember(h.Flag):
		r.keys = append(r.keys, rec.Key...)
		r.pending = append(r.pending, pendingRecord{keyEnd: len(r.keys), tombstone: format.IsTombstone(h.Flag), e: e})
		return nil
	case h.Flag == format.FlagBatchCommit:
		n := format.BatchCount(rec.Value)
		if int(n) != len(r.pending) {
			from := rec.Offset
			if len(r.pending) > 0 {
				from = r.pending[0].e.Offset
			}
			err := &batchError{From: from, To: rec.Offset + h.RecordSize(),
				msg: fmt.Sprintf("batch commit at offset %d counts %d records, %d precede it", rec.Offset, n, len(r.pending))}
			r.drop()
			return err
		}
		start := 0
		for _, p := range r.pending {
			r.apply(r.keys[start:p.keyEnd], p.tombstone, p.e)
			start = p.keyEnd
		}
		r.drop()
		return nil
	case len(r.pending) > 0:
		err := &batchError{From: r.pending[0].e.Offset, To: rec.Offset,
			msg: fmt.Sprintf("a record at offset %d interrupts the batch begun at %d", rec.Offset, r.pending[0].e.Offset)}
		r.drop()
		r.apply(rec.Key, format.IsTombstone(h.Flag), e)
		return err
	default:
		r.apply(rec.Key, format.IsTombstone(h.Flag), e)
		return nil
	}
}

// open reports where the batch still waiting for its commit begins, if
// one does: at the end of a file, a batch torn by a crash.
func (r *replay) open() (offset int64, ok bool) {
	if len(r.pending) == 0 {
		return 0, false
	}
	return r.pending[0].e.Offset, true
}

func (r *replay) drop() {
	r.pending, r.keys = r.pending[:0], r.keys[:0]
}

// batchValue reports whether a record read for a key holds its value.
func batchValue(rec format.Record, key []byte) bool {
	return format.IsValue(rec.Flag) && bytes.Equal(rec.Key, key)
}
