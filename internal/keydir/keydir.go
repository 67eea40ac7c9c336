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

// Put sets the entry of key, copying the key.
func (k *Keydir) Put(key []byte, e Entry) {
	k.m[string(key)] = e
}

// Delete removes key and reports whether it was present.
func (k *Keydir) Delete(key []byte) bool {
	if _, ok := k.m[string(key)]; !ok {
		return false
	}
	delete(k.m, string(key))
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
