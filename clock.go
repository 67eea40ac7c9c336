package aetherkv

import (
	"sync/atomic"
	"time"
)

// clockTick is how long a timestamp read from the wall clock is reused.
const clockTick = time.Millisecond

// clock gives the timestamps of records: the wall clock, read at most
// about once per clockTick while writes go on (reading it costs as much as
// a tenth of a Put), and never moving backwards. Timestamps are for people
// and tools reading the files: recovery orders records by file and offset,
// never by timestamp.
type clock struct {
	cached atomic.Int64 // the last reading in Unix nanoseconds; 0 once clockTick has passed
	last   int64        // the last timestamp given; guarded by db.mu
	timer  *time.Timer  // clears cached clockTick after a reading
}

func newClock() *clock {
	c := &clock{}
	c.timer = time.AfterFunc(time.Hour, func() { c.cached.Store(0) })
	c.timer.Stop()
	return c
}

// stampLocked returns the timestamp for a record written now. The caller
// holds db.mu exclusively.
func (c *clock) stampLocked() uint64 {
	t := c.cached.Load()
	if t == 0 {
		t = time.Now().UnixNano()
		c.cached.Store(t)
		c.timer.Reset(clockTick)
	}
	c.last = max(c.last, t)
	return uint64(c.last)
}

// stop stops the timer, for Close.
func (c *clock) stop() { c.timer.Stop() }
