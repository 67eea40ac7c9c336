// Package aetherkv is Aether KV, an embeddable log-structured hash table
// key-value store in the manner of Bitcask.
//
// # Basics
//
// Every write is appended to a log file in the data directory; an
// in-memory key directory maps each live key to its newest record, so a
// Get costs one lookup and at most one read. Deletes append a tombstone.
// At Open the key directory is rebuilt by scanning the log.
//
//	db, err := aetherkv.Open("./data", nil)
//	if err != nil { ... }
//	defer db.Close()
//	err = db.Put([]byte("user:1"), []byte("John Doe"))
//	v, err := db.Get([]byte("user:1"))
//
// Writes are collected in a buffer of Options.BatchSize bytes and written
// to the file when it fills; a background loop flushes and fsyncs every
// Options.SyncInterval; Sync and Close flush and fsync at once. With
// SyncModeAlways, Put and Delete return only once their record is fsynced,
// and concurrent writers share each fsync; with SyncModeNever the store
// never fsyncs on its own.
//
// A DB is safe for concurrent use by multiple goroutines. Only one DB, in
// one process, can have a data directory open at a time: the directory is
// locked with flock(2).
//
// # Durability
//
// A write acknowledged by Put is visible to every later Get at once. It
// survives a crash of the process once it has been written to the file
// (the buffer filled, or Sync, Close or the sync loop ran), and a power
// loss once it has been fsynced. A single writer's buffered writes survive
// a crash as a prefix of the order they were made in. A Batch applied
// with Write is atomic, across crashes too.
//
// # Files
//
// The active file is closed and a new one begun past Options.MaxFileSize.
// Merge (also started in the background past Options.MergeRatio of dead
// bytes) rewrites the live records of the closed files with hint files
// that make Open fast; Check verifies a stopped store and Repair salvages a
// damaged one; Backup copies a live one. A clean Close also writes a
// checkpoint of the key directory (the file KEYDIR), which the next Open
// loads instead of reading hint files or scanning, if the data files are
// exactly as Close left them; Open removes it in any case.
//
// # Caveats
//
// All keys live in memory, about 52 bytes per 16-byte key. A record
// damaged in the middle of the log makes Open fail with ErrCorrupt naming
// the file and offset (Repair keeps every valid record), when Open reads
// that file: it reads no file with a hint file, checkpoint or not; Get and
// Check find damage there. A record or batch torn at the very end of the
// log by a crash is cut off at Open. Every data file stays open and
// memory-mapped.
package aetherkv
