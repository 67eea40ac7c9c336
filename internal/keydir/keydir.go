// Package keydir is the in-memory key directory: for every live key, where
// its newest record lies on disk.
package keydir

// Entry locates a key's newest record.
type Entry struct {
	FileID uint32 // data file holding the record
	Size   uint32 // size of the whole record, header included
	Offset int64  // offset of the record in its file
}

// Keydir maps keys to entries. It is not safe for concurrent use: the DB
// guards it with its lock.
type Keydir struct {
	m map[string]Entry
}

// New returns an empty key directory.
func New() *Keydir {
	return &Keydir{m: make(map[string]Entry)}
}

// Get returns the entry of key.
func (k *Keydir) Get(key []byte) (Entry, bool) {
	e, ok := k.m[string(key)]
	return e, ok
}

// Put sets the entry of key, copying the key, and returns the entry it
// replaced, if any.
func (k *Keydir) Put(key []byte, e Entry) (old Entry, replaced bool) {
	old, replaced = k.m[string(key)]
	k.m[string(key)] = e
	return old, replaced
}

// Delete removes key and returns the entry it had, if any.
func (k *Keydir) Delete(key []byte) (old Entry, ok bool) {
	old, ok = k.m[string(key)]
	if ok {
		delete(k.m, string(key))
	}
	return old, ok
}

// CompareAndSwap sets the entry of key to e only if it is still old, and
// reports whether it did.
func (k *Keydir) CompareAndSwap(key []byte, old, e Entry) bool {
	if cur, ok := k.m[string(key)]; !ok || cur != old {
		return false
	}
	k.m[string(key)] = e
	return true
}

// Len returns the number of keys.
func (k *Keydir) Len() int { return len(k.m) }

// Range calls fn for every key until fn returns false. The key must not be
// retained or modified. The order is unspecified.
func (k *Keydir) Range(fn func(key []byte, e Entry) bool) {
	for s, e := range k.m {
		if !fn([]byte(s), e) {
			return
		}
	}
}
