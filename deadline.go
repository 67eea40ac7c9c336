package aetherkv

import (
	"errors"
	"iter"
	"math"
	"time"
)

// PutWithDeadline sets the value of key until deadline; from then on the
// key is gone. A zero deadline makes it Put. A deadline already past is
// written all the same: the key is gone at once, and so is any older
// value. Unlike PutWithTTL, the outcome does not depend on when it is
// called, which is what a replica applying a log needs.
func (db *DB) PutWithDeadline(key, value []byte, deadline time.Time) error {
	if err := db.checkPut(key, value); err != nil {
		return err
	}
	return db.write(key, value, deadlineNanos(deadline), false)
}

// PutWithDeadline adds the setting of key to value until deadline, as
// DB.PutWithDeadline.
func (b *Batch) PutWithDeadline(key, value []byte, deadline time.Time) {
	b.add(key, value, false, deadlineNanos(deadline))
}

// deadlineNanos returns deadline in Unix nanoseconds, 0 for the zero time,
// and at least 1 otherwise: 0 means no deadline, and negative ones are
// refused. A deadline past what Unix nanoseconds hold (the year 2262) is
// that last instant: time.UnixNano is undefined there, and gave a deadline
// in the past, so that a value meant to live for centuries was gone at
// once.
func deadlineNanos(deadline time.Time) int64 {
	switch {
	case deadline.IsZero():
		return 0
	case !deadline.After(time.Unix(0, 0)):
		return 1 // long past
	case deadline.After(lastDeadline):
		return math.MaxInt64
	}
	return deadline.UnixNano()
}

// lastDeadline is the latest deadline a record can hold.
var lastDeadline = time.Unix(0, math.MaxInt64)

// BatchOp is one operation of a Batch, as All yields it.
type BatchOp struct {
	Key, Value []byte    // Value is nil for a delete
	Delete     bool      // the operation deletes Key
	Deadline   time.Time // zero for none
}

// All yields the operations of the batch in order. The slices point into
// the batch: they are valid until it is changed or reset.
func (b *Batch) All() iter.Seq[BatchOp] {
	return func(yield func(BatchOp) bool) {
		b.each(func(_ int, key, value []byte, op batchOp) error {
			bo := BatchOp{Key: key, Delete: op.del}
			if !op.del {
				bo.Value = value
			}
			if op.deadline > 0 {
				bo.Deadline = time.Unix(0, op.deadline)
			}
			if !yield(bo) {
				return errStopEach
			}
			return nil
		})
	}
}

// errStopEach stops Batch.each early.
var errStopEach = errors.New("stop")
