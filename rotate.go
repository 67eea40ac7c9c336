package aetherkv

import (
	"fmt"
	"math"
	"path/filepath"

	"github.com/aether-kv/aether-kv/internal/storage"
)

// rotateLocked closes the active file for good, renames it to its numbered
// name, and opens a new active file with id next. The caller holds db.mu.
//
// Crash safety: the old file is fsynced before it is renamed, and the
// directory is synced after the rename and after the new file's creation.
// A crash between the steps leaves either the old active.log, or its
// numbered copy and no active.log (Open then starts a new one): both open
// with the same data.
func (db *DB) rotateLocked(next uint32) error {
	old := db.mu.log
	if next <= old.ID() || next == math.MaxUint32 {
		// Ids only grow, and a closed file's name holds at most
		// MaxUint32-1: a wrapped id would sort the new file first. Nothing
		// has changed yet; the write that asked is refused.
		return fmt.Errorf("aetherkv: file ids are used up (the active file is %d, and ids only grow)", old.ID())
	}
	if err := old.Flush(); err != nil { // nothing has changed yet: a full disk is not fatal
		return db.writeFailedLocked("rotation", err)
	}
	f, m, err := old.Seal()
	if err != nil {
		return db.failLocked("rotation", err)
	}
	closedPath := filepath.Join(db.dir, storage.ClosedName(old.ID()))
	fs := db.opts.fs
	if err := fs.Rename(old.Path(), closedPath); err != nil {
		return db.failLocked("rotation", fmt.Errorf("rename %s: %w", old.Path(), err))
	}
	old.SetPath(closedPath)
	seg := db.mu.segs[old.ID()]
	seg.f, seg.m, seg.path = f, m, closedPath
	db.mu.base += old.Size()
	db.advanceSynced(db.mu.base) // Seal fsynced everything written so far
	if err := fs.SyncDir(db.dir); err != nil {
		return db.failLocked("rotation", fmt.Errorf("sync %s: %w", db.dir, err))
	}
	activePath := filepath.Join(db.dir, storage.ActiveName)
	log, err := db.openLog(activePath, next)
	if err != nil {
		return db.failLocked("rotation", err)
	}
	if err := fs.SyncDir(db.dir); err != nil {
		log.Close()
		return db.failLocked("rotation", fmt.Errorf("sync %s: %w", db.dir, err))
	}
	db.mu.log = log
	db.mu.segs[next] = &segment{path: activePath}
	db.publishFilesLocked()
	return nil
}

// openLog opens the active file at path, preallocating its space in
// SyncModeAlways.
func (db *DB) openLog(path string, id uint32) (*storage.Log, error) {
	log, err := storage.OpenLog(db.opts.fs, path, id, db.opts.BatchSize, db.opts.MaxFileSize)
	if err == nil && db.opts.SyncMode == SyncModeAlways && db.opts.preallocate > 0 {
		log.Preallocate(db.opts.preallocate, db.opts.MaxFileSize)
	}
	return log, err
}
