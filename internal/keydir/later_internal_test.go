package keydir

import (
	"bytes"
	"testing"
)

// TestPutLaterDropsLongKeyCopies: a shard keeps its copy of a held-back
// key for the next one, but not the copy of a long key.
func TestPutLaterDropsLongKeyCopies(t *testing.T) {
	k := New()
	long := bytes.Repeat([]byte("k"), 1<<20)
	k.PutLater(long, Entry{FileID: 1, Size: 1})
	k.PutLater([]byte("short"), Entry{FileID: 1, Size: 2, Offset: 1}) // makes the long key's put
	k.Settle()
	for i := range k.shards {
		if c := cap(k.shards[i].later.key); c > laterKeyCap {
			t.Errorf("shard %d keeps a copy of %d bytes for the next PutLater", i, c)
		}
	}
	if _, ok := k.Get(long); !ok {
		t.Fatal("the long key is missing")
	}
}
