package aetherkv

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/aether-kv/aether-kv/internal/vfs"
)

// Default values of Options. A zero field in Options means its default.
const (
	// DefaultBatchSize is the write buffer size, in bytes, past which
	// buffered writes are flushed to the operating system.
	DefaultBatchSize = 4096
	// DefaultSyncInterval is how often buffered writes are flushed and
	// fsynced by the background loop.
	DefaultSyncInterval = 5 * time.Second
	// DefaultMaxKeySize is the largest key accepted, in bytes.
	DefaultMaxKeySize = 64 << 10
	// DefaultMaxValueSize is the largest value accepted, in bytes.
	DefaultMaxValueSize = 64 << 20
	// DefaultMaxFileSize is the size past which the active data file is
	// closed and a new one started. 256 MiB keeps each merge step and each
	// file's scan at start-up short, while a terabyte is still only 4096
	// files.
	DefaultMaxFileSize = 256 << 20
	// DefaultMergeRatio is the fraction of dead bytes in a closed data file
	// that starts a merge in the background.
	DefaultMergeRatio = 0.5
)

// Hard limits of the on-disk format and of this implementation.
const (
	// MaxBatchSizeLimit is the largest BatchSize that Validate accepts.
	MaxBatchSizeLimit = 1 << 30
	// MaxKeySizeLimit is the largest MaxKeySize that Validate accepts.
	MaxKeySizeLimit = 16 << 20
	// MaxValueSizeLimit is the largest MaxValueSize that Validate accepts.
	MaxValueSizeLimit = 1 << 30
	// MaxFileSizeLimit is the largest MaxFileSize that Validate accepts.
	MaxFileSizeLimit = 1 << 40
)

// SyncMode says when the store fsyncs what it writes, which decides what a
// crash of the process or of the machine can take.
type SyncMode uint8

const (
	// SyncModeInterval flushes and fsyncs in the background every
	// SyncInterval, and sooner when 8 MiB are unsynced. A crash of the
	// process loses the writes still in the buffer (at most BatchSize
	// bytes, or SyncInterval's worth); a power loss loses the writes made
	// since the last fsync. This is the seed's behaviour and the default.
	SyncModeInterval SyncMode = iota
	// SyncModeAlways acknowledges a write only once it is fsynced;
	// concurrent writers share each fsync (group commit). Nothing
	// acknowledged is lost, by a crash or a power loss.
	SyncModeAlways
	// SyncModeNever writes the buffer to the operating system every
	// SyncInterval but never fsyncs on its own: the operating system
	// decides when data reaches the disk. A crash of the process loses what
	// SyncModeInterval loses; a power loss can lose anything not yet
	// written back. Sync and Close still fsync when called.
	SyncModeNever
)

// String returns the mode's configuration name: interval, always or never.
func (m SyncMode) String() string {
	switch m {
	case SyncModeInterval:
		return "interval"
	case SyncModeAlways:
		return "always"
	case SyncModeNever:
		return "never"
	}
	return fmt.Sprintf("SyncMode(%d)", m)
}

// Options configure a DB. The zero value, and a nil *Options passed to
// Open, mean the defaults.
type Options struct {
	// BatchSize is the number of buffered bytes past which writes are
	// flushed from the process to the operating system. Until then a write
	// lives only in the process: a crash of the process loses it. The
	// default is DefaultBatchSize (4096).
	BatchSize int

	// SyncMode says when writes are fsynced: see SyncModeInterval,
	// SyncModeAlways and SyncModeNever. The default is SyncModeInterval.
	SyncMode SyncMode

	// SyncInterval is how often a background loop flushes buffered writes
	// (and, in SyncModeInterval, fsyncs them), bounding what a crash or a
	// power loss can take. The default is DefaultSyncInterval (5s). It is
	// not used in SyncModeAlways.
	SyncInterval time.Duration

	// MaxKeySize is the largest key, in bytes, that Put and Delete accept.
	// The default is DefaultMaxKeySize (64 KiB).
	MaxKeySize int

	// MaxValueSize is the largest value, in bytes, that Put accepts. The
	// default is DefaultMaxValueSize (64 MiB).
	MaxValueSize int

	// MaxFileSize is the size in bytes past which the active data file is
	// closed for good and a new one opened. A record larger than this gets
	// a file of its own. The default is DefaultMaxFileSize (256 MiB).
	MaxFileSize int64

	// MergeRatio is the fraction of dead bytes (overwritten or deleted
	// values, tombstones) in a closed data file past which a merge starts
	// in the background. A negative value turns automatic merges off; Merge
	// still works. The default is DefaultMergeRatio (0.5).
	MergeRatio float64

	// Logger receives warnings, such as a torn record cut from the end of
	// the log at start-up. The default discards them.
	Logger *slog.Logger

	// mergeCheck is how often the background loop looks at MergeRatio;
	// tests shorten it.
	mergeCheck time.Duration

	// fs is the file system under the store; tests replace it to inject
	// faults. The default is the operating system's.
	fs vfs.FS

	// preallocate is how many bytes of zeros SyncModeAlways writes into
	// the active file at a time, ahead of its records, so that its fsyncs
	// overwrite blocks the file has (see storage.Log.Preallocate); tests
	// shorten it, and a negative value turns it off.
	preallocate int64
}

// defaultPreallocate: at ~240k durable 137-byte puts/s, one 8 MiB fill
// every ~250 ms.
//
// The other modes do not preallocate, though it would make buffered puts
// faster (a 4 KiB pwrite over zeros written 64 KiB at a time took 2.7-3.2
// us here, one that grows the file 4.2-5.0 us; puts of 2M keys 1.79M ->
// 2.05M/s with 256 KiB ahead): their periodic fsync makes the zeros
// durable, and records written over them for up to SyncInterval may then
// reach the disk in any order. A power cut can leave a lost sector with a
// valid record after it, which Open cannot tell from damage, so it
// refuses to open. A file that only grows reaches the disk as a prefix.
// In SyncModeAlways the records over the zeros are unsynced for one
// group commit at most.
const defaultPreallocate = 8 << 20

// DefaultOptions returns the options that a nil *Options stands for.
func DefaultOptions() *Options {
	return &Options{
		BatchSize:    DefaultBatchSize,
		SyncInterval: DefaultSyncInterval,
		MaxKeySize:   DefaultMaxKeySize,
		MaxValueSize: DefaultMaxValueSize,
		MaxFileSize:  DefaultMaxFileSize,
		MergeRatio:   DefaultMergeRatio,
		Logger:       slog.New(slog.DiscardHandler),
		mergeCheck:   5 * time.Second,
		fs:           vfs.Default,
	}
}

// Validate reports the first option that is out of range. Zero fields are
// valid: they stand for their defaults.
func (o *Options) Validate() error {
	switch {
	case o.BatchSize < 0 || o.BatchSize > MaxBatchSizeLimit:
		return fmt.Errorf("aetherkv: BatchSize %d out of range; want 1 to %d bytes", o.BatchSize, MaxBatchSizeLimit)
	case o.SyncMode > SyncModeNever:
		return fmt.Errorf("aetherkv: SyncMode %d unknown; want SyncModeInterval, SyncModeAlways or SyncModeNever", o.SyncMode)
	case o.SyncInterval < 0:
		return fmt.Errorf("aetherkv: SyncInterval %v is negative; want a positive duration", o.SyncInterval)
	case o.MaxKeySize < 0 || o.MaxKeySize > MaxKeySizeLimit:
		return fmt.Errorf("aetherkv: MaxKeySize %d out of range; want 1 to %d bytes", o.MaxKeySize, MaxKeySizeLimit)
	case o.MaxValueSize < 0 || o.MaxValueSize > MaxValueSizeLimit:
		return fmt.Errorf("aetherkv: MaxValueSize %d out of range; want 1 to %d bytes", o.MaxValueSize, MaxValueSizeLimit)
	case o.MaxFileSize < 0 || o.MaxFileSize > MaxFileSizeLimit:
		return fmt.Errorf("aetherkv: MaxFileSize %d out of range; want 1 to %d bytes", o.MaxFileSize, int64(MaxFileSizeLimit))
	case o.MergeRatio > 1 || o.MergeRatio != o.MergeRatio:
		return fmt.Errorf("aetherkv: MergeRatio %v out of range; want a fraction up to 1, or negative to turn automatic merges off", o.MergeRatio)
	}
	return nil
}

// withDefaults returns a copy of o with every zero field set to its default.
func (o *Options) withDefaults() *Options {
	d := DefaultOptions()
	if o == nil {
		return d
	}
	c := *o
	if c.BatchSize == 0 {
		c.BatchSize = d.BatchSize
	}
	if c.SyncInterval == 0 {
		c.SyncInterval = d.SyncInterval
	}
	if c.MaxKeySize == 0 {
		c.MaxKeySize = d.MaxKeySize
	}
	if c.MaxValueSize == 0 {
		c.MaxValueSize = d.MaxValueSize
	}
	if c.MaxFileSize == 0 {
		c.MaxFileSize = d.MaxFileSize
	}
	if c.MergeRatio == 0 {
		c.MergeRatio = d.MergeRatio
	}
	if c.mergeCheck == 0 {
		c.mergeCheck = d.mergeCheck
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}
	if c.fs == nil {
		c.fs = d.fs
	}
	if c.preallocate == 0 {
		c.preallocate = defaultPreallocate
	}
	return &c
}
