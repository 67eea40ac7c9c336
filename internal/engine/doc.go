// Package engine is where the seed's `go test ./internal/engine -v` runs:
// end-to-end tests of the storage engine through its public API, as the
// seed's README describes it (append-only log, in-memory key directory,
// tombstones, rebuild at start-up, buffered writes).
//
// The engine itself is the root package aetherkv (DB: the write path,
// reads, recovery, merge), with internal/keydir (the key directory),
// internal/storage (the files) and internal/format (the records). It lives
// at the root so that other programs can import it, which they cannot do
// with an internal package; this package holds no code of its own.
package engine
