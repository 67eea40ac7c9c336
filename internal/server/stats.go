package server

import (
	"sync"
	"sync/atomic"
	"time"
)

// serverStats are the counters INFO and the metrics report. It is safe
// for concurrent use.
type serverStats struct {
	connsReceived  atomic.Int64 // connections accepted, rejected ones too
	rejected       atomic.Int64 // connections refused at MaxClients
	commands       atomic.Int64 // commands run, rejected ones too
	netIn          atomic.Int64 // bytes read from clients
	netOut         atomic.Int64 // bytes written to clients
	hits           atomic.Int64 // reads that found their key
	misses         atomic.Int64 // reads that did not
	protocolErrors atomic.Int64 // connections closed for a bad request
	forwarded      atomic.Int64 // commands forwarded to the leader (cluster mode)
	errorReplies   atomic.Int64 // error replies sent
	rewriteFailed  atomic.Bool  // the last BGREWRITEAOF merge failed

	perCommand []commandStats // by commandSpec.index

	errMu struct {
		sync.Mutex                  // Guards byCode.
		byCode     map[string]int64 // error replies by their first word
	}

	opsMu struct {
		sync.Mutex           // Guards the samples.
		samples    [16]int64 // commands per second, the last 16 samples
		next       int
		lastCount  int64
		lastAt     time.Time
	}
}

// commandStats are one command's figures.
type commandStats struct {
	calls    atomic.Int64 // runs, failed ones included
	usec     atomic.Int64 // microseconds spent running it
	failed   atomic.Int64 // runs that replied with an error
	rejected atomic.Int64 // requests refused before running: arity, NOAUTH
}

func newServerStats() *serverStats {
	st := &serverStats{perCommand: make([]commandStats, len(commandList))}
	st.errMu.byCode = make(map[string]int64)
	return st
}

// countError counts an error reply by its code.
func (st *serverStats) countError(code string) {
	st.errorReplies.Add(1)
	st.errMu.Lock()
	if _, ok := st.errMu.byCode[code]; ok || len(st.errMu.byCode) < 128 {
		st.errMu.byCode[code]++
	}
	st.errMu.Unlock()
}

// setRewriteResult records how the last BGREWRITEAOF merge ended.
func (st *serverStats) setRewriteResult(err error) { st.rewriteFailed.Store(err != nil) }

// errorCounts returns a copy of the error replies by code.
func (st *serverStats) errorCounts() map[string]int64 {
	st.errMu.Lock()
	defer st.errMu.Unlock()
	m := make(map[string]int64, len(st.errMu.byCode))
	for k, v := range st.errMu.byCode {
		m[k] = v
	}
	return m
}

// sampleOps records the rate of commands every 100 ms, for INFO's
// instantaneous_ops_per_sec, until the server stops.
func (s *Server) sampleOps() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.stats.sample(now)
		}
	}
}

func (st *serverStats) sample(now time.Time) {
	n := st.commands.Load()
	st.opsMu.Lock()
	defer st.opsMu.Unlock()
	if !st.opsMu.lastAt.IsZero() {
		if dt := now.Sub(st.opsMu.lastAt); dt > 0 {
			st.opsMu.samples[st.opsMu.next] = (n - st.opsMu.lastCount) * int64(time.Second) / int64(dt)
			st.opsMu.next = (st.opsMu.next + 1) % len(st.opsMu.samples)
		}
	}
	st.opsMu.lastCount, st.opsMu.lastAt = n, now
}

// opsPerSec returns the mean of the recent samples.
func (st *serverStats) opsPerSec() int64 {
	st.opsMu.Lock()
	defer st.opsMu.Unlock()
	var sum int64
	for _, v := range st.opsMu.samples {
		sum += v
	}
	return sum / int64(len(st.opsMu.samples))
}
