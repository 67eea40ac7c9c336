// Package storage knows the files of a data directory: their names, the
// lock, the active log with its write buffer, and scanning records back.
// It reaches the disk only through vfs.FS.
//
// A data directory holds data files named *.log, which contain nothing but
// records (see package format), plus a LOCK file. The file being appended
// to is always active.log, as in the seed's layout; closed files are named
// by their number, 000000001.log and up, and the active file's number is
// one more than the highest closed one.
package storage
