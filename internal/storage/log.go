package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"

	"github.com/aether-kv/aether-kv/internal/format"
	"github.com/aether-kv/aether-kv/internal/vfs"
)

// Log is the active data file with its write buffer. Records are encoded
// into the buffer and written to the file when the buffer passes the batch
// size, or on Flush.
//
// Log is not safe for concurrent use: Append, Flush and Close need the
// caller's exclusive lock, View and ReadAt at least a shared one. Sync
// alone may run without the lock, concurrently with the others but not
// with Close; so may FlushedView.
type Log struct {
	f       vfs.File
	id      uint32
	path    string
	batch   int
	buf     []byte
	flushed int64 // bytes of records in the file; the buffer starts here
	err     error // sticky: the first write error
	m       *Mapping

	// written is flushed, for FlushedView: stored once the bytes are in
	// the file.
	written atomic.Int64

	// Preallocation (see Preallocate): the file is filled with zeros up
	// to filled, ahead of the records, chunk bytes at a time, up to limit.
	chunk  int64
	limit  int64
	filled int64 // the file's size: flushed, or more when preallocated
}

// OpenLog opens (creating it, mode 0600) the active file at path for
// appending at its end, which must be the end of its last record (a
// preallocated tail is cut off by recovery before). batch is the buffer
// size past which Append writes. The file is memory-mapped for reading up
// to mapSize bytes, or its size if larger (see Map).
func OpenLog(fs vfs.FS, path string, id uint32, batch int, mapSize int64) (*Log, error) {
	f, err := fs.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	m, err := Map(f, max(mapSize, fi.Size()))
	if err != nil {
		f.Close()
		return nil, err
	}
	l := &Log{f: f, id: id, path: path, batch: batch, flushed: fi.Size(), filled: fi.Size(), buf: make([]byte, 0, batch+256), m: m}
	l.written.Store(l.flushed)
	return l, nil
}

// Preallocate makes the log fill its file with zeros ahead of the records,
// chunk bytes at a time, up to limit bytes in all: the records' writes
// then overwrite blocks the file already has, and an fsync need not
// commit the file system's journal for a new size and new blocks (on ext4
// here, a 100-byte append + fsync took 140-180 us, an overwrite + fsync of
// a preallocated file ~100 us). A preallocated tail left by a crash is
// zeros: recovery cuts it off as it would a torn write. Seal and Close cut
// it off too. A chunk of 0 stops preallocating.
func (l *Log) Preallocate(chunk, limit int64) {
	l.chunk, l.limit = chunk, limit
}

// fill makes sure the file is preallocated past end, when preallocating.
// A failure to preallocate only stops it: the records are then appended
// to the file as without preallocation.
func (l *Log) fill(end int64) {
	if l.chunk <= 0 || end <= l.filled || l.filled >= l.limit {
		return
	}
	to := min(max(end, l.filled)+l.chunk, max(l.limit, end))
	for off := l.filled; off < to; {
		n := min(int64(len(zeros)), to-off)
		if _, err := l.f.WriteAt(zeros[:n], off); err != nil {
			// Most likely a full disk: give up preallocating, and take
			// back what was added. If even that fails, the zeros may
			// reach as far as to: Seal and Close must cut them.
			if l.f.Truncate(l.filled) != nil {
				l.filled = to
			}
			l.chunk = 0
			return
		}
		off += n
	}
	l.filled = to
}

// File returns the open file, for reading; it stays valid after the file
// is renamed.
func (l *Log) File() vfs.File { return l.f }

// ID returns the number of the data file.
func (l *Log) ID() uint32 { return l.id }

// Path returns the file's path.
func (l *Log) Path() string { return l.path }

// Size returns the log's size, buffered bytes included.
func (l *Log) Size() int64 { return l.flushed + int64(len(l.buf)) }

// Flushed returns the number of bytes written to the file.
func (l *Log) Flushed() int64 { return l.flushed }

// Err returns the sticky write error, if any.
func (l *Log) Err() error { return l.err }

// Append encodes a record into the buffer, writing the buffer out if it
// has passed the batch size, and returns the record's offset and size.
// After a write error every Append fails with that error; if the disk was
// full (ENOSPC), the record is taken out again and the error is not
// sticky: the buffer is written by a later Flush once there is space.
func (l *Log) Append(timestamp uint64, flag byte, key, value []byte) (off int64, size int, err error) {
	return l.AppendFunc(func(b []byte) []byte { return format.Append(b, timestamp, flag, key, value) })
}

// AppendFunc is Append for records that encode appends to the buffer: all
// of them go to the buffer before it is written out, so that they reach
// the file in one write, or, on a full disk, are all taken out again.
func (l *Log) AppendFunc(encode func([]byte) []byte) (off int64, size int, err error) {
	if l.err != nil {
		return 0, 0, l.err
	}
	off = l.Size()
	start := len(l.buf)
	l.buf = encode(l.buf)
	size = len(l.buf) - start
	if len(l.buf) >= l.batch {
		if err := l.Flush(); err != nil {
			l.buf = l.buf[:start]
			return 0, 0, err
		}
	}
	return off, size, nil
}

// Flush writes the buffer to the file. A failed or short write is cut off
// the file again, so that the file never ends in part of a record. The
// error becomes sticky, unless it is ENOSPC: a full disk leaves the buffer
// as it was, to be written when space is freed.
func (l *Log) Flush() error {
	if l.err != nil {
		return l.err
	}
	if len(l.buf) == 0 {
		return nil
	}
	l.fill(l.flushed + int64(len(l.buf)))
	n, err := l.f.WriteAt(l.buf, l.flushed)
	if err == nil && n < len(l.buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		terr := l.f.Truncate(l.flushed)
		if terr == nil {
			l.filled = l.flushed
		} else {
			l.filled = max(l.filled, l.flushed+int64(len(l.buf)))
			err = fmt.Errorf("%w (and cutting the partial write failed: %v)", err, terr)
		}
		err = fmt.Errorf("write %s: %w", l.path, err)
		if terr == nil && errors.Is(err, syscall.ENOSPC) {
			return err
		}
		l.err = err
		return l.err
	}
	l.flushed += int64(n)
	l.written.Store(l.flushed)
	l.filled = max(l.filled, l.flushed)
	if cap(l.buf) > 4*l.batch+1<<20 {
		l.buf = make([]byte, 0, l.batch+256) // do not keep a huge buffer after a huge value
	} else {
		l.buf = l.buf[:0]
	}
	return nil
}

// Sync fsyncs the file: everything flushed before the call is durable when
// it returns nil.
func (l *Log) Sync() error {
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", l.path, err)
	}
	return nil
}

// View returns the n bytes at off without copying them, from the buffer or
// the file's mapping, or false if they must be read with ReadAt. The bytes
// are valid until the next Append or Flush.
func (l *Log) View(off, n int64) ([]byte, bool) {
	if off >= l.flushed {
		i := off - l.flushed
		if i+n > int64(len(l.buf)) {
			return nil, false
		}
		return l.buf[i : i+n : i+n], true
	}
	if off+n > l.flushed {
		return nil, false
	}
	return l.m.View(off, n)
}

// FlushedView is View for callers without the lock: it returns the n
// bytes at off from the file's mapping if they were written to the file
// before the call, else false (the bytes may be in the buffer, which only
// View may read). The bytes stay valid until Close, even after Seal.
func (l *Log) FlushedView(off, n int64) ([]byte, bool) {
	if off < 0 || n < 0 || off+n > l.written.Load() {
		return nil, false
	}
	return l.m.View(off, n)
}

// ReadAt reads len(p) bytes at off, from the buffer or the file.
func (l *Log) ReadAt(p []byte, off int64) error {
	if off >= l.flushed {
		i := off - l.flushed
		if i+int64(len(p)) > int64(len(l.buf)) {
			return fmt.Errorf("read %s at %d: past the end: %w", l.path, off, io.ErrUnexpectedEOF)
		}
		copy(p, l.buf[i:])
		return nil
	}
	return readFull(l.f, p, off)
}

// Seal flushes and fsyncs the log for the last time and hands back its
// file, still open, and its mapping, for reading. The Log must not be used
// afterwards.
func (l *Log) Seal() (vfs.File, *Mapping, error) {
	if err := l.Flush(); err != nil {
		return nil, nil, err
	}
	if err := l.cutPreallocated(); err != nil {
		return nil, nil, err
	}
	if err := l.Sync(); err != nil {
		return nil, nil, err
	}
	l.buf = nil
	return l.f, l.m, nil
}

// cutPreallocated cuts the zeros past the last record off the file, so
// that a closed file ends with its last record.
func (l *Log) cutPreallocated() error {
	if l.filled <= l.flushed {
		return nil
	}
	if err := l.f.Truncate(l.flushed); err != nil {
		return fmt.Errorf("cut the preallocated end of %s: %w", l.path, err)
	}
	l.filled = l.flushed
	return nil
}

// SetPath records that the file was renamed.
func (l *Log) SetPath(path string) { l.path = path }

// Close flushes, fsyncs and closes the file. The file is closed even when
// flushing fails.
func (l *Log) Close() error {
	err := l.Flush()
	if err == nil {
		err = l.cutPreallocated()
	}
	if err == nil {
		err = l.Sync()
	}
	if cerr := l.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", l.path, cerr)
	}
	if merr := l.m.Close(); err == nil && merr != nil {
		err = fmt.Errorf("munmap %s: %w", l.path, merr)
	}
	return err
}

// readFull reads len(p) bytes at off from r.
func readFull(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("read at %d: %w", off, err)
}
