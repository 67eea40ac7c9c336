package aetherkv

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/aether-kv/aether-kv/internal/vfs"
	"github.com/aether-kv/aether-kv/internal/vfs/crashfs"
)

var powerCuts = flag.Int("power.cuts", 150, "simulated power cuts in TestPowerLoss")

// powerOp is one operation of TestPowerLoss's writer: puts and deletes,
// applied together when batch is set.
type powerOp struct {
	keys   []string
	values []string // "" deletes
	batch  bool
	merge  bool
	sync   bool
	reopen bool // Close (which writes the key-directory checkpoint) and Open (which reads and removes it)
}

// TestPowerLoss cuts the power (crashfs: only what was fsynced survives,
// directory entries only once their directory was fsynced, sometimes with
// a torn tail of unsynced bytes) at a random change to the disk while one
// writer puts, deletes, writes batches and merges, with tiny files so that
// rotations and merges are frequent. After each cut the store must open.
// In SyncModeAlways it must hold every acknowledged write, and nothing
// else but, whole or not at all, the operation under way. In
// SyncModeInterval, where the writer also calls Sync, it must hold the
// state after some operation between the last Sync and the cut: nothing
// acknowledged by a Sync lost, no operation after one that is lost, no
// batch in part.
func TestPowerLoss(t *testing.T) {
	for _, mode := range []SyncMode{SyncModeAlways, SyncModeInterval} {
		t.Run(mode.String(), func(t *testing.T) { testPowerLoss(t, mode) })
	}
}

func testPowerLoss(t *testing.T, mode SyncMode) {
	for cut := range *powerCuts {
		rng := rand.New(rand.NewPCG(uint64(cut), 99))
		dir, out := t.TempDir(), t.TempDir()
		fs := crashfs.New(vfs.Default)
		fs.CrashAfter(1 + rng.IntN(400))
		opts := &Options{SyncMode: mode, SyncInterval: time.Hour, MaxFileSize: 2048, MergeRatio: -1, BatchSize: 256, preallocate: 700}
		opts.fs = fs
		model := map[string]string{}
		states := []map[string]string{{}} // in SyncModeInterval: the states since the last Sync
		var inflight *powerOp
		db, err := Open(dir, opts)
		if err == nil {
			for i := 0; i < 300 && inflight == nil; i++ {
				op := randomPowerOp(rng, i, mode)
				if err := applyPowerOp(&db, dir, opts, op); err != nil {
					if !fs.Crashed() {
						t.Fatalf("cut %d: op %d failed before the power cut: %v", cut, i, err)
					}
					inflight = &op
					break
				}
				model = withOp(model, &op)
				if op.sync || op.merge || op.reopen { // a merge syncs too: it rotates first
					states = states[:0]
				}
				states = append(states, maps.Clone(model))
			}
			fs.CrashNow()
			db.Close() // fails: the power is out
		} else if !fs.Crashed() {
			t.Fatalf("cut %d: Open: %v", cut, err)
		}
		fs.CrashNow()
		if err := fs.Materialize(out, rng); err != nil {
			t.Fatal(err)
		}
		after, err := Open(out, &Options{MergeRatio: -1})
		if err != nil {
			t.Fatalf("cut %d: the store does not open after the power cut: %v", cut, err)
		}
		if mode == SyncModeAlways {
			checkPowerState(t, cut, after, model, inflight)
		} else {
			checkPowerPrefix(t, cut, after, states, inflight)
		}
		if err := after.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func randomPowerOp(rng *rand.Rand, i int, mode SyncMode) powerOp {
	key := func() string { return fmt.Sprintf("k%02d", rng.IntN(40)) }
	value := func() string { return fmt.Sprintf("v%d-%d", i, rng.IntN(1000)) }
	switch r := rng.IntN(100); {
	case r < 3:
		return powerOp{merge: true}
	case r < 5:
		return powerOp{reopen: true}
	case r < 8 && mode != SyncModeAlways:
		return powerOp{sync: true}
	case r < 15:
		op := powerOp{batch: true}
		for range 1 + rng.IntN(5) {
			op.keys = append(op.keys, key())
			v := value()
			if rng.IntN(4) == 0 {
				v = ""
			}
			op.values = append(op.values, v)
		}
		return op
	case r < 25:
		return powerOp{keys: []string{key()}, values: []string{""}}
	default:
		return powerOp{keys: []string{key()}, values: []string{value()}}
	}
}

// applyPowerOp applies op to *pdb, the store open in dir, which a reopen
// replaces.
func applyPowerOp(pdb **DB, dir string, opts *Options, op powerOp) error {
	db := *pdb
	switch {
	case op.reopen:
		if err := db.Close(); err != nil {
			return err
		}
		again, err := Open(dir, opts)
		if err != nil {
			return err
		}
		*pdb = again
		return nil
	case op.merge:
		return db.Merge()
	case op.sync:
		return db.Sync()
	case op.batch:
		b := db.NewBatch()
		for j, k := range op.keys {
			if op.values[j] == "" {
				b.Delete([]byte(k))
			} else {
				b.Put([]byte(k), []byte(op.values[j]))
			}
		}
		return db.Write(b)
	case op.values[0] == "":
		if err := db.Delete([]byte(op.keys[0])); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		return nil
	default:
		return db.Put([]byte(op.keys[0]), []byte(op.values[0]))
	}
}

// checkPowerState checks that db holds model, or model with the whole of
// inflight applied.
func checkPowerState(t *testing.T, cut int, db *DB, model map[string]string, inflight *powerOp) {
	t.Helper()
	got := readEvery(t, cut, db)
	if equalMaps(got, model) {
		return
	}
	if inflight != nil && !inflight.merge && equalMaps(got, withOp(model, inflight)) {
		return
	}
	for k, v := range model {
		if got[k] != v {
			t.Errorf("cut %d: %s = %q after the power cut, want %q (acknowledged)", cut, k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := model[k]; !ok {
			t.Errorf("cut %d: %s = %q after the power cut, deleted or never acknowledged", cut, k, v)
		}
	}
	t.Fatalf("cut %d: state after the power cut is neither the acknowledged one nor it plus the operation under way (%+v)", cut, inflight)
}

// readEvery returns every key and value of db.
func readEvery(t *testing.T, cut int, db *DB) map[string]string {
	t.Helper()
	got := map[string]string{}
	for key, err := range db.Keys(nil) {
		if err != nil {
			t.Fatalf("cut %d: Keys: %v", cut, err)
		}
		v, err := db.Get(key)
		if err != nil {
			t.Fatalf("cut %d: Get(%s): %v", cut, key, err)
		}
		got[string(key)] = string(v)
	}
	return got
}

// checkPowerPrefix checks that db holds one of states (those since the
// last Sync, the last one acknowledged), or the last with the whole of
// inflight applied.
func checkPowerPrefix(t *testing.T, cut int, db *DB, states []map[string]string, inflight *powerOp) {
	t.Helper()
	got := readEvery(t, cut, db)
	for _, s := range states {
		if equalMaps(got, s) {
			return
		}
	}
	if inflight != nil && !inflight.merge && !inflight.sync && !inflight.reopen && equalMaps(got, withOp(states[len(states)-1], inflight)) {
		return
	}
	t.Fatalf("cut %d: state after the power cut %v is not one of the %d states since the last Sync (first %v, last %v), nor the last plus %+v",
		cut, got, len(states), states[0], states[len(states)-1], inflight)
}

// withOp returns a copy of m with op's puts and deletes applied.
func withOp(m map[string]string, op *powerOp) map[string]string {
	m = maps.Clone(m)
	for j, k := range op.keys {
		if op.values[j] == "" {
			delete(m, k)
		} else {
			m[k] = op.values[j]
		}
	}
	return m
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestPowerLossConcurrentWriters cuts the power at a random change while
// 16 writers put in SyncModeAlways, sharing fsyncs: every acknowledged Put
// survives.
func TestPowerLossConcurrentWriters(t *testing.T) {
	for cut := 0; cut < 40; cut++ {
		rng := rand.New(rand.NewPCG(uint64(cut), 7))
		dir, out := t.TempDir(), t.TempDir()
		fs := crashfs.New(vfs.Default)
		fs.CrashAfter(20 + rng.IntN(400))
		opts := &Options{SyncMode: SyncModeAlways, MaxFileSize: 4096, MergeRatio: -1, BatchSize: 256, preallocate: 1000}
		opts.fs = fs
		db, err := Open(dir, opts)
		if err != nil {
			continue
		}
		var mu sync.Mutex
		acked := map[string]bool{}
		var wg sync.WaitGroup
		for w := range 16 {
			wg.Go(func() {
				for i := 0; ; i++ {
					k := fmt.Sprintf("w%d-%d", w, i)
					if err := db.Put([]byte(k), []byte("v")); err != nil {
						return
					}
					mu.Lock()
					acked[k] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		db.Close()
		if err := fs.Materialize(out, rng); err != nil {
			t.Fatal(err)
		}
		after, err := Open(out, &Options{MergeRatio: -1})
		if err != nil {
			t.Fatalf("cut %d: open: %v", cut, err)
		}
		for k := range acked {
			if _, err := after.Get([]byte(k)); err != nil {
				t.Errorf("cut %d: acknowledged %s lost: %v", cut, k, err)
			}
		}
		after.Close()
	}
}
