package aetherkv

import (
	"errors"

	"github.com/aether-kv/aether-kv/internal/format"
	"github.com/aether-kv/aether-kv/internal/storage"
)

// ErrNotFound is returned by Get when the key has no value, and by Delete
// when there is no value to delete.
var ErrNotFound = errors.New("aetherkv: key not found")

// ErrClosed is returned by every method called after Close.
var ErrClosed = errors.New("aetherkv: database closed")

// ErrCorrupt is returned when bytes on disk fail their checksum or do not
// form a valid record. It is always wrapped with the file and offset of the
// damage; test for it with errors.Is.
var ErrCorrupt = format.ErrCorrupt

// ErrKeyEmpty is returned by Put and Delete when the key has no bytes.
var ErrKeyEmpty = errors.New("aetherkv: key is empty")

// ErrKeyTooLarge is returned by Put and Delete when the key is longer than
// Options.MaxKeySize.
var ErrKeyTooLarge = errors.New("aetherkv: key too large")

// ErrValueTooLarge is returned by Put when the value is longer than
// Options.MaxValueSize.
var ErrValueTooLarge = errors.New("aetherkv: value too large")

// ErrLocked is returned by Open when another process (or another DB in this
// process) already has the data directory open.
var ErrLocked = storage.ErrLocked
