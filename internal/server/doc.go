// Package server serves an Aether KV store over the Redis protocol, so
// that redis-cli, redis-benchmark and the Redis client libraries of every
// language can use it.
//
// # Basics
//
// New returns a Server of an open store; Serve accepts connections on a
// listener until Shutdown. Each connection has a goroutine that reads a
// request, runs it and buffers the reply; the replies are sent when the
// connection would wait for the next request, so a pipeline is answered
// with as few writes as it arrived in. Clients speak RESP2, or RESP3 after
// HELLO 3, and may send inline commands ("PING\r\n").
//
// The commands are Redis's, with Redis's replies and error messages:
// PING, ECHO, GET, SET (NX, XX, GET, EX, PX, EXAT, PXAT, KEEPTTL), SETNX,
// SETEX, PSETEX, GETDEL, MGET, MSET, STRLEN, APPEND, INCR, DECR, INCRBY,
// DECRBY, DEL, UNLINK, EXISTS, TYPE, EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT,
// PERSIST, TTL, PTTL, EXPIRETIME, PEXPIRETIME, KEYS, SCAN, DBSIZE, FLUSHDB,
// FLUSHALL, SELECT 0, HELLO, AUTH, QUIT, CLIENT (ID, SETNAME, GETNAME,
// SETINFO, INFO), COMMAND (COUNT, DOCS, INFO, LIST), CONFIG GET, INFO,
// SAVE, BGSAVE and BGREWRITEAOF, which starts a merge. Deadlines are the
// store's: they survive restarts, and an expired key is gone for every
// command at once. APPEND and INCR keep a key's deadline; SET and MSET
// drop it, as in Redis.
//
// The store applies each write, and each batch of writes, atomically, but
// has no read-modify-write: the server serializes the writes to each key
// with striped locks, so that INCR, APPEND, SET NX and the like never lose
// a concurrent update. MSET is one atomic batch, and MGET reads its keys
// under their locks, so it sees an MSET whole or not at all.
//
// With Config.SyncWrites, a connection syncs the store before it sends the
// replies to the writes it has run, once per batch of pipelined commands,
// and concurrent connections share each fsync: every write acknowledged is
// durable, as with Redis's appendfsync always.
//
// # Limits
//
// Requests are read by a reader of this package, not by redcon's (whose
// reply encoding and inline splitting it uses): redcon has no limits, and
// its buffer grows with whatever a client sends. Every size a request
// declares is checked before anything of that size is allocated, and a
// request over a limit gets "-ERR Protocol error: ..." and its connection
// is closed: at most MaxArgs arguments, none longer than the larger of the
// store's MaxKeySize and MaxValueSize, MaxInline bytes for an inline
// request, and MinRequestLimit bytes in all (more if the largest key and
// value need it). Until a client has authenticated, when a password is
// set, a request may have at most MaxArgsUnauth arguments of MaxBulkUnauth
// bytes. Replies are sent once 64 KiB are buffered, so a client that asks
// much and reads slowly holds little memory; one that stops reading is
// disconnected after Config.RequestTimeout. Config.MaxClients bounds the
// connections, and Config.IdleTimeout closes idle ones.
//
// A client that sends "POST" or "Host:" as a command, as a browser tricked
// into a cross-protocol attack does, is disconnected, as Redis does.
//
// # Caveats
//
// DEL of several keys deletes them one after another, and
// FLUSHDB deletes in batches of flushBatch keys: a reader, or a crash, may
// see a part of their work. MGET reads every value into memory before it
// replies, as Redis builds the whole reply. INFO's keyspace line reports
// expires=0: the store does not count the keys that have a deadline. A
// deadline is kept in Unix nanoseconds, so none can be later than 2262.
// Only database 0 exists. There are no lists, hashes, sets,
// transactions, scripts or Pub/Sub.
package server
