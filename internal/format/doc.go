// Package format encodes and decodes Aether KV log records. It knows bytes
// and nothing else: no files, no locks.
//
// Every record is a 21-byte little-endian header followed by the key and
// then the value:
//
//	+---------+-----------+----------+------------+------+-----+-------+
//	| CRC32   | timestamp | key size | value size | flag | key | value |
//	| 4 bytes | 8 bytes   | 4 bytes  | 4 bytes    | 1    | ... | ...   |
//	+---------+-----------+----------+------------+------+-----+-------+
//	 [0:4]     [4:12]      [12:16]    [16:20]      [20]   [21:21+k] [21+k:]
//
// The CRC is CRC-32 (IEEE) of bytes [4:] of the record, from the timestamp
// to the end of the value. The timestamp is Unix nanoseconds (the store
// reads the clock about once a millisecond while writing, so records close
// in time may share it; recovery never orders records by it). The flag is
// FlagValue (0) or FlagTombstone (1), the seed's two kinds; a tombstone
// carries no value (value size 0).
//
// Extensions, which a reader of the seed's format rejects as unknown flags
// rather than misreading: an atomic batch is written as its records with
// FlagBatchValue (2) and FlagBatchTombstone (3), laid out exactly as flags 0
// and 1, followed at once, in the same file, by a commit record
// (FlagBatchCommit, 4) whose key is the batch's 8-byte sequence number and
// whose value is the 4-byte count of the records before it. A batch counts
// only if its commit record is read back whole. A value with a deadline
// (expiry) has flag FlagValueTTL (5), or FlagBatchValueTTL (6) in a batch,
// and its value field is the 8-byte deadline (Unix nanoseconds) followed by
// the value. Any other flag is rejected as corrupt.
//
// This layout is the seed specification's and is the on-disk format: do not
// change it. Golden files in testdata pin its exact bytes.
package format
