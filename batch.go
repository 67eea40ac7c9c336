package aetherkv

import (
	"fmt"
	"iter"
	"time"

	"github.com/aether-kv/aether-kv/internal/format"
	"github.com/aether-kv/aether-kv/internal/keydir"
)

// Batch collects puts and deletes that DB.Write applies atomically: after
// a crash at any moment, either every operation of the batch is there or
// none is, and readers never see part of a batch. Operations apply in the
// order they were added. A Batch is not safe for concurrent use; it may be
// reused after Reset.
type Batch struct {
	ops  []batchOp
	data []byte // keys and values, one after another
	size int    // bytes the batch takes in the log
}

type batchOp struct {
	keyEnd, valueEnd int // in data; the key starts where the previous op's value ends
	del              bool
	deadline         int64 // Unix nanoseconds; 0 for none
}

// NewBatch returns an empty batch.
func (db *DB) NewBatch() *Batch { return &Batch{} }

// Put adds the setting of key to value. The batch copies both.
func (b *Batch) Put(key, value []byte) { b.add(key, value, false, 0) }

// PutWithTTL adds the setting of key to value until ttl after the call to
// PutWithTTL. A ttl that is not positive makes Write fail with
// ErrInvalidTTL.
func (b *Batch) PutWithTTL(key, value []byte, ttl time.Duration) {
	deadline := time.Now().Add(ttl).UnixNano()
	if ttl <= 0 {
		deadline = -1 // refused by Write
	}
	b.add(key, value, false, deadline)
}

// Delete adds the deletion of key. Deleting a key that has no value is
// not an error in a batch.
func (b *Batch) Delete(key []byte) { b.add(key, nil, true, 0) }

// Len returns the number of operations in the batch.
func (b *Batch) Len() int { return len(b.ops) }

// Reset empties the batch, keeping its memory.
func (b *Batch) Reset() { b.ops, b.data, b.size = b.ops[:0], b.data[:0], 0 }

func (b *Batch) add(key, value []byte, del bool, deadline int64) {
	b.data = append(b.data, key...)
	keyEnd := len(b.data)
	b.data = append(b.data, value...)
	b.ops = append(b.ops, batchOp{keyEnd: keyEnd, valueEnd: len(b.data), del: del, deadline: deadline})
	b.size += format.Size(key, value)
	if deadline != 0 {
		b.size += format.DeadlineSize
	}
}

// each calls fn for every operation, in order.
func (b *Batch) each(fn func(i int, key, value []byte, op batchOp) error) error {
	start := 0
	for i, op := range b.ops {
		if err := fn(i, b.data[start:op.keyEnd], b.data[op.keyEnd:op.valueEnd], op); err != nil {
			return err
		}
		start = op.valueEnd
	}
	return nil
}

// keys returns the keys of the batch's operations, in order.
func (b *Batch) keys() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		start := 0
		for _, op := range b.ops {
			if !yield(b.data[start:op.keyEnd]) {
				return
			}
			start = op.valueEnd
		}
	}
}

// Write applies the batch atomically: its records and a commit record go
// to the log in one piece, and the key directory takes them all under one
// lock. In SyncModeAlways, Write returns once the batch is
// durable. An empty batch does nothing. Every key and value is checked
// first; if one is refused, nothing is written.
func (db *DB) Write(b *Batch) error {
	if len(b.ops) == 0 {
		if db.closed.Load() {
			return ErrClosed
		}
		return nil
	}
	err := b.each(func(i int, key, value []byte, op batchOp) error {
		if op.deadline < 0 {
			return fmt.Errorf("batch operation %d: %w", i, ErrInvalidTTL)
		}
		if err := db.checkKey(key); err != nil {
			return fmt.Errorf("batch operation %d: %w", i, err)
		}
		if len(value) > db.opts.MaxValueSize {
			return fmt.Errorf("batch operation %d: value of %d bytes, limit %d: %w", i, len(value), db.opts.MaxValueSize, ErrValueTooLarge)
		}
		return nil
	})
	if err != nil {
		return err
	}
	db.mu.Lock()
	end, err := db.writeBatchLocked(b)
	db.mu.Unlock()
	if err != nil || db.opts.SyncMode != SyncModeAlways {
		return err
	}
	return db.syncTo(end)
}

func (db *DB) writeBatchLocked(b *Batch) (end int64, err error) {
	if db.closed.Load() {
		return 0, ErrClosed
	}
	if db.mu.err != nil {
		return 0, db.mu.err
	}
	total := int64(b.size + format.HeaderSize + format.BatchCommitKeySize + format.BatchCommitValueSize)
	if n := db.mu.log.Size(); n > 0 && n+total > db.opts.MaxFileSize {
		if err := db.rotateLocked(db.mu.log.ID() + 1); err != nil {
			return 0, err
		}
	}
	log := db.mu.log
	ts := db.clock.stampLocked()
	db.mu.batchSeq++
	seq := db.mu.batchSeq
	off, size, err := log.AppendFunc(func(dst []byte) []byte {
		b.each(func(_ int, key, value []byte, op batchOp) error {
			switch {
			case op.del:
				dst = format.Append(dst, ts, format.FlagBatchTombstone, key, nil)
			case op.deadline != 0:
				dst = format.AppendWithDeadline(dst, ts, format.FlagBatchValueTTL, key, op.deadline, value)
			default:
				dst = format.Append(dst, ts, format.FlagBatchValue, key, value)
			}
			return nil
		})
		return format.AppendBatchCommit(dst, ts, seq, uint32(len(b.ops)))
	})
	if err != nil {
		return 0, db.writeFailedLocked("batch write", err)
	}
	db.mu.segs[log.ID()].size += int64(size)
	recOff := off
	db.mu.keys.Hold(b.keys()) // readers see all of the batch or none of it
	defer db.mu.keys.Release()
	b.each(func(_ int, key, value []byte, op batchOp) error {
		e := keydir.Entry{FileID: log.ID(), Offset: recOff, Size: uint32(format.Size(key, value)), Expire: op.deadline}
		if op.deadline != 0 {
			e.Size += format.DeadlineSize
		}
		recOff += int64(e.Size)
		db.applyLocked(key, e, op.del)
		return nil
	})
	return db.kickLocked(off, size), nil
}
