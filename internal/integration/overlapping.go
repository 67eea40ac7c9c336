package integration

// The overlapping mode.

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	aetherkv "github.com/aether-kv/aether-kv"
)

// opRecord is one Put or Delete done by a writer, with the logical times
// just before it was called and just after it returned.
type opRecord struct {
	key        string
	value      string // empty for a delete
	del        bool
	start, end int64
}

// attempts holds every value a writer was about to put, per key, with its
// sequence number. Writers add to it before calling Put, so a reader that
// sees a value can always find it.
type attempts struct {
	mu sync.RWMutex
	m  map[string]map[string]int
}

func (a *attempts) add(key, value string, seq int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m[key] == nil {
		a.m[key] = make(map[string]int)
	}
	a.m[key][value] = seq
}

func (a *attempts) lookup(key, value string) (seq int, ok bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	seq, ok = a.m[key][value]
	return seq, ok
}

const soloKeys = 20

func sharedKey(i int) string { return fmt.Sprintf("shared-%03d", i) }
func soloKey(i int) string   { return fmt.Sprintf("solo-%02d", i) }

// overlapValue names the key, writer and sequence number, with a filler of
// varying length so that records differ in size.
func overlapValue(key string, w, seq int) string {
	return fmt.Sprintf("key=%s w=%d seq=%d ", key, w, seq) + strings.Repeat(".", seq%41)
}

func runOverlapping(cfg config, root string, r *report) {
	if err := overlapping(cfg, filepath.Join(root, "db"), r); err != nil {
		r.fail(err)
	}
}

// overlapping runs cfg.writers writers over shared keys (every fourth one
// also deletes), one single writer over its own keys, readers checking
// every Get and a goroutine calling Sync, all at once; then it checks the
// final state against the history, and again after a reopen.
func overlapping(cfg config, dir string, r *report) error {
	db, err := aetherkv.Open(dir, nil)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer func() {
		if db != nil {
			db.Close()
		}
	}()

	var clock atomic.Int64
	written := &attempts{m: make(map[string]map[string]int)}
	histories := make([][]opRecord, cfg.writers)
	writerErrs := make([]error, cfg.writers+1)
	lastSolo := make(map[string]string)
	done := make(chan struct{})
	readerErrs := make([]error, cfg.readers+1)
	reads := make([]int, cfg.readers)

	gate := make(chan struct{}) // closed to start every goroutine at once
	var writers, others sync.WaitGroup
	for w := range cfg.writers {
		writers.Go(func() {
			<-gate
			histories[w], writerErrs[w] = sharedWriter(db, cfg, w, &clock, written)
		})
	}
	writers.Go(func() {
		<-gate
		writerErrs[cfg.writers] = soloWriter(db, cfg.writers, cfg.ops, written, lastSolo)
	})
	for i := range cfg.readers {
		others.Go(func() {
			<-gate
			reads[i], readerErrs[i] = reader(db, cfg, i, written, done)
		})
	}
	others.Go(func() { <-gate; readerErrs[cfg.readers] = syncer(db, done) })
	start := time.Now()
	close(gate)
	writers.Wait()
	elapsed := time.Since(start)
	close(done)
	others.Wait()
	if err := errors.Join(writerErrs...); err != nil {
		return fmt.Errorf("writers: %w", err)
	}
	if err := errors.Join(readerErrs...); err != nil {
		return fmt.Errorf("concurrent readers: %w", err)
	}

	var puts, dels int
	for _, h := range histories {
		for _, op := range h {
			if op.del {
				dels++
			} else {
				puts++
			}
		}
	}
	totalReads := 0
	for _, n := range reads {
		totalReads += n
	}
	r.ok("%d writers on %d shared keys (%d puts, %d deletes) + 1 single writer (%d puts on %d keys) in %v: %.0f writes/s",
		cfg.writers, cfg.sharedKeys, puts, dels, cfg.ops, soloKeys, elapsed.Round(time.Millisecond),
		perSecond(puts+dels+cfg.ops, elapsed))
	r.ok("%d readers did %d concurrent Gets: each was ErrNotFound or a value written for that key; single-writer keys never went back in sequence",
		cfg.readers, totalReads)

	final, present, avgCand, err := checkSharedFinal(db, cfg.sharedKeys, histories)
	if err != nil {
		return fmt.Errorf("before close: %w", err)
	}
	r.ok("before close: each of %d shared keys holds the value of a write that may have been last (or is absent after a delete that may have been last); %d present, %d absent; %.1f possible last operations per key",
		cfg.sharedKeys, present, cfg.sharedKeys-present, avgCand)
	for k, v := range lastSolo {
		final[k] = &v
	}
	if err := checkState(db, final, "before close"); err != nil {
		return err
	}
	r.ok("before close: every single-writer key holds exactly its last write (last write wins)")

	err = db.Close()
	db = nil
	if err != nil {
		return fmt.Errorf("close: %w", err)
	}
	db, err = aetherkv.Open(dir, nil)
	if err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	if err := checkState(db, final, "after reopen"); err != nil {
		return err
	}
	if got, want := db.Len(), present+soloKeys; got != want {
		return fmt.Errorf("after reopen: Len() = %d, want %d (%d shared keys present + %d single-writer keys)",
			got, want, present, soloKeys)
	}
	r.ok("after reopen: all %d keys as before close (%d shared present, %d single-writer with their last value); Len() = %d",
		cfg.sharedKeys+soloKeys, present, soloKeys, present+soloKeys)
	err = db.Close()
	db = nil
	if err != nil {
		return fmt.Errorf("final close: %w", err)
	}
	return nil
}

// sharedWriter does cfg.ops operations on random shared keys. Writers whose
// number is 3 mod 4 delete a quarter of the time.
func sharedWriter(db *aetherkv.DB, cfg config, w int, clock *atomic.Int64, written *attempts) ([]opRecord, error) {
	rng := rand.New(rand.NewPCG(uint64(w), 42))
	deleter := w%4 == 3
	history := make([]opRecord, 0, cfg.ops)
	for seq := range cfg.ops {
		key := sharedKey(rng.IntN(cfg.sharedKeys))
		if deleter && rng.IntN(4) == 0 {
			start := clock.Add(1)
			err := db.Delete([]byte(key))
			end := clock.Add(1)
			if err != nil && !errors.Is(err, aetherkv.ErrNotFound) {
				return nil, fmt.Errorf("writer %d: Delete(%s): %w", w, key, err)
			}
			history = append(history, opRecord{key: key, del: true, start: start, end: end})
			continue
		}
		value := overlapValue(key, w, seq)
		written.add(key, value, seq)
		start := clock.Add(1)
		err := db.Put([]byte(key), []byte(value))
		end := clock.Add(1)
		if err != nil {
			return nil, fmt.Errorf("writer %d: Put(%s): %w", w, key, err)
		}
		history = append(history, opRecord{key: key, value: value, start: start, end: end})
	}
	return history, nil
}

// soloWriter is the only writer of the solo keys: it puts increasing
// sequence numbers to them in turn, and fills last with the last value put
// to each.
func soloWriter(db *aetherkv.DB, w, ops int, written *attempts, last map[string]string) error {
	for seq := range ops {
		key := soloKey(seq % soloKeys)
		value := overlapValue(key, w, seq)
		written.add(key, value, seq)
		if err := db.Put([]byte(key), []byte(value)); err != nil {
			return fmt.Errorf("single writer: Put(%s): %w", key, err)
		}
		last[key] = value
	}
	return nil
}

// reader does Gets on random keys until done, checking that each returns
// ErrNotFound or a value written for that key, and that a single-writer
// key, once seen, never vanishes nor goes back in sequence.
func reader(db *aetherkv.DB, cfg config, id int, written *attempts, done <-chan struct{}) (int, error) {
	rng := rand.New(rand.NewPCG(uint64(id), 7))
	seen := make(map[string]int) // single-writer key -> highest sequence seen
	for n := 0; ; n++ {
		select {
		case <-done:
			return n, nil
		default:
			runtime.Gosched() // leave the writers room on few CPUs
		}
		var key string
		solo := rng.IntN(4) == 0
		if solo {
			key = soloKey(rng.IntN(soloKeys))
		} else {
			key = sharedKey(rng.IntN(cfg.sharedKeys))
		}
		v, err := db.Get([]byte(key))
		if errors.Is(err, aetherkv.ErrNotFound) {
			if prev, ok := seen[key]; ok {
				return n, fmt.Errorf("reader %d: Get(%s) = ErrNotFound after it returned seq %d; nothing deletes it", id, key, prev)
			}
			continue
		}
		if err != nil {
			return n, fmt.Errorf("reader %d: Get(%s): %w", id, key, err)
		}
		seq, ok := written.lookup(key, string(v))
		if !ok {
			return n, fmt.Errorf("reader %d: Get(%s) = %q, a value never written for that key", id, key, clip(v))
		}
		if solo {
			if prev, ok := seen[key]; ok && seq < prev {
				return n, fmt.Errorf("reader %d: Get(%s) returned seq %d after seq %d from the single writer", id, key, seq, prev)
			}
			seen[key] = seq
		}
	}
}

// syncer calls Sync every millisecond until done, so that flushes and
// fsyncs run among the writes and reads.
func syncer(db *aetherkv.DB, done <-chan struct{}) error {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-t.C:
			if err := db.Sync(); err != nil {
				return fmt.Errorf("Sync during writes: %w", err)
			}
		}
	}
}

// checkSharedFinal checks that each shared key holds the value of an
// operation that may have been the last on that key: one that returned
// after every other operation on the key had started. A Put leaves its
// value, a Delete (even one that found nothing) leaves the key absent. It
// returns the state found (nil for absent), the number of keys present and
// the mean number of possible last operations.
func checkSharedFinal(db *aetherkv.DB, nkeys int, histories [][]opRecord) (map[string]*string, int, float64, error) {
	byKey := make(map[string][]opRecord)
	for _, h := range histories {
		for _, op := range h {
			byKey[op.key] = append(byKey[op.key], op)
		}
	}
	state := make(map[string]*string)
	present, candidates := 0, 0
	for i := range nkeys {
		key := sharedKey(i)
		ops := byKey[key]
		var lastStart int64
		for _, op := range ops {
			lastStart = max(lastStart, op.start)
		}
		mayBeLast := map[string]bool{} // values; "" for a delete
		for _, op := range ops {
			if op.end > lastStart {
				mayBeLast[op.value] = true
				candidates++
			}
		}
		if len(ops) == 0 {
			mayBeLast[""] = true // never written: absent
		}
		v, err := db.Get([]byte(key))
		switch {
		case errors.Is(err, aetherkv.ErrNotFound):
			if !mayBeLast[""] {
				return nil, 0, 0, fmt.Errorf("Get(%s) = ErrNotFound, but no delete can have been its last operation (%d possible last: %s)",
					key, len(mayBeLast), describe(mayBeLast))
			}
			state[key] = nil
		case err != nil:
			return nil, 0, 0, fmt.Errorf("Get(%s): %w", key, err)
		case !mayBeLast[string(v)]:
			return nil, 0, 0, fmt.Errorf("Get(%s) = %q, not the value of any operation that can have been last (%s)",
				key, clip(v), describe(mayBeLast))
		default:
			s := string(v)
			state[key] = &s
			present++
		}
	}
	return state, present, float64(candidates) / float64(nkeys), nil
}

func describe(values map[string]bool) string {
	var s []string
	for v := range values {
		if v == "" {
			v = "<delete>"
		}
		s = append(s, strconv.Quote(v))
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}

// checkState checks that each key of want holds exactly its value, or is
// absent where the value is nil.
func checkState(db *aetherkv.DB, want map[string]*string, when string) error {
	for key, w := range want {
		got, err := db.Get([]byte(key))
		switch {
		case w == nil && errors.Is(err, aetherkv.ErrNotFound):
		case w == nil && err == nil:
			return fmt.Errorf("%s: Get(%s) = %q, want ErrNotFound", when, key, clip(got))
		case err != nil:
			return fmt.Errorf("%s: Get(%s): %w", when, key, err)
		case string(got) != *w:
			return fmt.Errorf("%s: Get(%s) = %q, want %q", when, key, clip(got), clip([]byte(*w)))
		}
	}
	return nil
}
