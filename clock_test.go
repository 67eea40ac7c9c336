package aetherkv

import (
	"testing"
	"time"
)

func TestClockStamps(t *testing.T) {
	c := newClock()
	defer c.stop()
	before := time.Now().UnixNano()
	first := c.stampLocked()
	if int64(first) < before || int64(first) > time.Now().UnixNano() {
		t.Fatalf("first stamp %d, want the time of the call (%d or later)", first, before)
	}
	prev := first
	for range 1000 {
		if s := c.stampLocked(); s < prev {
			t.Fatalf("stamp %d after %d: the clock went backwards", s, prev)
		}
	}
	time.Sleep(20 * clockTick)
	if s := c.stampLocked(); s <= first {
		t.Fatalf("stamp %d after %v, want later than %d", s, 20*clockTick, first)
	}
	c.last = 1 << 62 // a wall clock that has stepped back behind the last stamp
	c.cached.Store(0)
	if s := c.stampLocked(); s != 1<<62 {
		t.Fatalf("stamp %d after the wall clock stepped back, want %d", s, uint64(1<<62))
	}
}
