package aetherkv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aether-kv/aether-kv/internal/format"
	"github.com/aether-kv/aether-kv/internal/storage"
	"github.com/aether-kv/aether-kv/internal/vfs"
	"github.com/aether-kv/aether-kv/internal/vfs/crashfs"
)

// logRecorder is a slog.Handler that keeps the messages logged.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecorder) WithGroup(string) slog.Handler            { return h }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		msg += " " + a.String()
		return true
	})
	h.msgs = append(h.msgs, msg)
	return nil
}

// logged reports whether a message containing s was logged.
func (h *logRecorder) logged(s string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.msgs {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

const (
	ckptUsed    = "key directory loaded from the checkpoint"
	ckptIgnored = "key-directory checkpoint ignored"
)

// openLogged opens dir with a logger that records what Open logs.
func openLogged(t *testing.T, dir string, opts Options) (*DB, *logRecorder) {
	t.Helper()
	h := &logRecorder{}
	opts.Logger = slog.New(h)
	return mustOpenDir(t, dir, &opts), h
}

func ckptPath(dir string) string { return filepath.Join(dir, storage.CheckpointName) }

func wantNoCheckpoint(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(ckptPath(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("checkpoint after Open: Stat = %v, want it removed", err)
	}
}

// modelEntry is what the store must hold for a key.
type modelEntry struct {
	value    string
	deadline int64 // Unix nanoseconds; 0 if none
}

// fillRandom writes a random mix of puts, overwrites, deletes and puts
// with a deadline, some of 1 ms if short is set, and updates the model of
// the store. Without short deadlines, the same seed makes the same records.
func fillRandom(t *testing.T, db *DB, seed uint64, ops int, short bool, model map[string]modelEntry) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 11))
	for i := range ops {
		key := fmt.Sprintf("key-%d", r.IntN(ops/2+1))
		switch n := r.IntN(10); {
		case n < 2:
			err := db.Delete([]byte(key))
			e, ok := model[key]
			if ok && e.deadline != 0 && e.deadline <= time.Now().UnixNano() {
				ok = err == nil // expired about when Delete ran: either is right
			}
			if ok != (err == nil) {
				t.Fatalf("Delete(%q) = %v, present %t", key, err, ok)
			}
			delete(model, key)
		case n < 4:
			ttl := time.Hour
			if short && n == 2 && r.IntN(4) == 0 {
				ttl = time.Millisecond // expired before the reopen
			}
			value := fmt.Sprintf("ttl-%d-%s", i, strings.Repeat("x", r.IntN(200)))
			if err := db.PutWithTTL([]byte(key), []byte(value), ttl); err != nil {
				t.Fatal(err)
			}
			d, err := db.ExpiresAt([]byte(key))
			if err != nil {
				if ttl == time.Millisecond && errors.Is(err, ErrNotFound) {
					delete(model, key)
					continue
				}
				t.Fatal(err)
			}
			model[key] = modelEntry{value: value, deadline: d.UnixNano()}
		default:
			value := fmt.Sprintf("v-%d-%s", i, strings.Repeat("y", r.IntN(200)))
			mustPut(t, db, key, value)
			model[key] = modelEntry{value: value}
		}
	}
}

// wantEntries checks every key, value and deadline of db against model,
// dropping from model the keys whose deadline has passed.
func wantEntries(t *testing.T, db *DB, model map[string]modelEntry) {
	t.Helper()
	dropExpired(model)
	seen := 0
	for key, err := range db.Keys(nil) {
		if err != nil {
			t.Fatalf("Keys: %v", err)
		}
		want, ok := model[string(key)]
		if !ok {
			t.Fatalf("Keys gave %q, which the store should not hold", key)
		}
		seen++
		wantValue(t, db, string(key), want.value)
		d, err := db.ExpiresAt(key)
		if err != nil {
			t.Fatalf("ExpiresAt(%q) = %v", key, err)
		}
		if got := d.UnixNano(); (want.deadline == 0 && !d.IsZero()) || (want.deadline != 0 && got != want.deadline) {
			t.Fatalf("ExpiresAt(%q) = %v, want %d", key, d, want.deadline)
		}
	}
	if seen != len(model) {
		t.Fatalf("Keys gave %d keys, want %d", seen, len(model))
	}
	if got := db.Len(); got != len(model) {
		t.Fatalf("Len() = %d, want %d", got, len(model))
	}
}

// dropExpired removes from model the keys whose deadline has passed.
func dropExpired(model map[string]modelEntry) {
	now := time.Now().UnixNano()
	for k, e := range model {
		if e.deadline != 0 && e.deadline <= now {
			delete(model, k)
		}
	}
}

// copyDir copies the regular files of src into a new directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == storage.LockName || !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// sameStats compares the figures of a store opened from its checkpoint
// with one opened from its data files.
func sameStats(t *testing.T, fromCkpt, fromFiles *DB) {
	t.Helper()
	a, b := fromCkpt.Stats(), fromFiles.Stats()
	if a.Keys != b.Keys || a.LiveBytes != b.LiveBytes || a.DeadBytes != b.DeadBytes || a.DataBytes != b.DataBytes || a.DataFiles != b.DataFiles {
		t.Fatalf("Stats from the checkpoint %+v, from the data files %+v", a, b)
	}
	// File by file, in order, but not by id: after a merge, Close leaves
	// the active file's id above the next free one, which a load from the
	// data files gives it, and the files that follow it are numbered on
	// from there.
	a1, a2 := segList(fromCkpt), segList(fromFiles)
	for i := range max(len(a1), len(a2)) {
		if i >= len(a1) || i >= len(a2) || a1[i].size != a2[i].size || a1[i].live != a2[i].live {
			t.Fatalf("data files from the checkpoint %+v, from the data files %+v", a1, a2)
		}
	}
}

type segFigures struct {
	id         uint32
	size, live int64
}

func segList(db *DB) []segFigures {
	var l []segFigures
	for id, s := range db.mu.segs {
		l = append(l, segFigures{id, s.size, s.live})
	}
	slices.SortFunc(l, func(a, b segFigures) int { return int(a.id) - int(b.id) })
	return l
}

// TestCheckpointSameAsLoad: a store reopened from its checkpoint holds
// exactly what it holds reopened from its data files (a copy of the
// directory without the checkpoint), and both what the model says: keys,
// values, deadlines, and the byte accounting of each file. Then both take
// the same writes, and a second Close and Open, alike.
func TestCheckpointSameAsLoad(t *testing.T) {
	tests := []struct {
		name       string
		ops        int
		merge      bool
		afterMerge int // ops after the merge
	}{
		{"empty", 0, false, 0},
		{"one file", 200, false, 0},
		{"rotations", 5000, false, 0},
		{"merge, then writes", 5000, true, 1250},
		{"merge last", 5000, true, 0}, // the active file's id is above the next free one
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{MaxFileSize: 64 << 10, MergeRatio: -1}
			dir := t.TempDir()
			db, err := Open(dir, &opts)
			if err != nil {
				t.Fatal(err)
			}
			model := map[string]modelEntry{}
			fillRandom(t, db, 1, tt.ops, true, model)
			if tt.merge {
				if err := db.Merge(); err != nil {
					t.Fatal(err)
				}
				fillRandom(t, db, 2, tt.afterMerge, true, model)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(ckptPath(dir)); err != nil {
				t.Fatalf("no checkpoint after Close: %v", err)
			}
			plain := copyDir(t, dir)
			if err := os.Remove(ckptPath(plain)); err != nil {
				t.Fatal(err)
			}
			models := []map[string]modelEntry{model, maps.Clone(model)} // from the checkpoint, from the data files
			for round := range 2 {
				time.Sleep(2 * time.Millisecond) // the 1 ms deadlines pass
				fromCkpt, h := openLogged(t, dir, opts)
				if !h.logged(ckptUsed) {
					t.Fatalf("round %d: Open did not use the checkpoint; it logged %q", round, h.msgs)
				}
				wantNoCheckpoint(t, dir)
				fromFiles, h2 := openLogged(t, plain, opts)
				if h2.logged(ckptUsed) {
					t.Fatalf("round %d: Open of the copy without the checkpoint used one", round)
				}
				sameStats(t, fromCkpt, fromFiles)
				for i, db := range []*DB{fromCkpt, fromFiles} {
					wantEntries(t, db, models[i])
					fillRandom(t, db, uint64(10+round), tt.ops/4, false, models[i]) // the same writes to both
					if err := db.Close(); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.Remove(ckptPath(plain)); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// closedStore returns a directory holding a closed store, with its
// checkpoint, and the model of what it holds.
func closedStore(t *testing.T, opts Options) (string, map[string]modelEntry) {
	t.Helper()
	dir := t.TempDir()
	db, err := Open(dir, &opts)
	if err != nil {
		t.Fatal(err)
	}
	model := map[string]modelEntry{}
	fillRandom(t, db, 3, 3000, true, model)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, model
}

// TestCheckpointDamaged: a checkpoint that is damaged, or that no longer
// matches the data files, is ignored (and logged), Open loads from the
// data files and gets everything right, and the checkpoint is gone.
func TestCheckpointDamaged(t *testing.T) {
	opts := Options{MaxFileSize: 64 << 10, MergeRatio: -1}
	flip := func(at func(n int) int) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			b, err := os.ReadFile(ckptPath(dir))
			if err != nil {
				t.Fatal(err)
			}
			b[at(len(b))] ^= 0x10
			if err := os.WriteFile(ckptPath(dir), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	truncate := func(at func(n int) int) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			fi, err := os.Stat(ckptPath(dir))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(ckptPath(dir), int64(at(int(fi.Size())))); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
	}{
		{"magic", flip(func(int) int { return 0 })},
		{"version", flip(func(int) int { return 8 })},
		{"file list", flip(func(int) int { return ckptHeaderSize + 5 })},
		{"live bytes", flip(func(int) int { return ckptHeaderSize + 13 })},
		{"seed", flip(func(int) int { return ckptHeaderSize + 2*ckptFileSize + 1 })},
		{"middle", flip(func(n int) int { return n / 2 })},
		{"checksum", flip(func(n int) int { return n - 1 })},
		{"truncated to nothing", truncate(func(int) int { return 0 })},
		{"truncated in half", truncate(func(n int) int { return n / 2 })},
		{"last byte cut", truncate(func(n int) int { return n - 1 })},
		{"a byte more", truncate(func(n int) int { return n + 1 })},
		{"data file grown", func(t *testing.T, dir string) {
			// The checkpoint of an earlier Close, while the files have
			// taken writes since.
			old, err := os.ReadFile(ckptPath(dir))
			if err != nil {
				t.Fatal(err)
			}
			db := mustOpenDir(t, dir, &opts)
			mustPut(t, db, "key-0", "after the checkpoint")
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(ckptPath(dir), old, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"data files merged", func(t *testing.T, dir string) {
			old, err := os.ReadFile(ckptPath(dir))
			if err != nil {
				t.Fatal(err)
			}
			db := mustOpenDir(t, dir, &opts)
			if err := db.Merge(); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(ckptPath(dir), old, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"active file gone", func(t *testing.T, dir string) {
			// Same size, but an empty active.log missing: the file list
			// differs.
			if err := os.Rename(filepath.Join(dir, storage.ActiveName), filepath.Join(dir, "elsewhere")); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, model := closedStore(t, opts)
			tt.damage(t, dir)
			if tt.name == "data file grown" {
				model["key-0"] = modelEntry{value: "after the checkpoint"}
			}
			if tt.name == "active file gone" {
				// Its records are gone too: compare with a store opened
				// without the checkpoint instead.
				plain := copyDir(t, dir)
				os.Remove(ckptPath(plain))
				db := mustOpenDir(t, plain, &opts)
				model = map[string]modelEntry{}
				for key, err := range db.Keys(nil) {
					if err != nil {
						t.Fatal(err)
					}
					v, _ := db.Get(key)
					d, _ := db.ExpiresAt(key)
					e := modelEntry{value: string(v)}
					if !d.IsZero() {
						e.deadline = d.UnixNano()
					}
					model[string(key)] = e
				}
			}
			db, h := openLogged(t, dir, opts)
			if h.logged(ckptUsed) || !h.logged(ckptIgnored) {
				t.Fatalf("Open logged %q, want the checkpoint ignored", h.msgs)
			}
			wantNoCheckpoint(t, dir)
			wantEntries(t, db, model)
		})
	}
}

// TestNoCheckpointAfterCrash: a store that did not close cleanly leaves
// no checkpoint; nor does one that opened from a checkpoint and then
// crashed, since Open removed it durably.
func TestNoCheckpointAfterCrash(t *testing.T) {
	tests := []struct {
		name string
		ckpt bool // the store opens from a checkpoint before it crashes
	}{
		{"fresh store", false},
		{"opened from a checkpoint", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, out := t.TempDir(), t.TempDir()
			fs := crashfs.New(vfs.Default)
			opts := &Options{MergeRatio: -1} // no rotation: the only directory sync after Open is Open's
			opts.fs = fs
			model := map[string]modelEntry{}
			h := &logRecorder{}
			opts.Logger = slog.New(h)
			if tt.ckpt {
				db, err := Open(dir, opts)
				if err != nil {
					t.Fatal(err)
				}
				fillRandom(t, db, 4, 500, true, model)
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
			}
			db, err := Open(dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			if h.logged(ckptUsed) != tt.ckpt {
				t.Fatalf("Open logged %q; want the checkpoint used: %t", h.msgs, tt.ckpt)
			}
			fillRandom(t, db, 5, 20, true, model)
			if err := db.Sync(); err != nil {
				t.Fatal(err)
			}
			fs.CrashNow()
			if err := db.Close(); err == nil {
				t.Fatal("Close after the power cut = nil, want an error")
			}
			if err := fs.Materialize(out, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(ckptPath(out)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("checkpoint after the crash: Stat = %v, want none", err)
			}
			after, h := openLogged(t, out, Options{MergeRatio: -1})
			if h.logged(ckptUsed) {
				t.Fatal("Open after the crash used a checkpoint")
			}
			wantEntries(t, after, model)
		})
	}
}

// TestCheckpointExpiry: keys loaded from a checkpoint still expire, and
// are swept from the key directory: both those whose deadline passed while
// the store was closed and those whose deadline comes after Open.
func TestCheckpointExpiry(t *testing.T) {
	dir := t.TempDir()
	db := mustOpenDir(t, dir, nil)
	mustPut(t, db, "forever", "v")
	for _, k := range []string{"gone-at-open", "gone-later", "stays"} {
		ttl := map[string]time.Duration{"gone-at-open": 50 * time.Millisecond, "gone-later": 400 * time.Millisecond, "stays": time.Hour}[k]
		if err := db.PutWithTTL([]byte(k), []byte("v"), ttl); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	db, h := openLogged(t, dir, Options{})
	if !h.logged(ckptUsed) {
		t.Fatalf("Open did not use the checkpoint; it logged %q", h.msgs)
	}
	// Swept at Open: not in the key directory at all.
	if _, ok := db.mu.keys.Get([]byte("gone-at-open")); ok {
		t.Fatal("a key whose deadline passed while the store was closed is still in the key directory")
	}
	wantValue(t, db, "gone-later", "v")
	if got := db.Len(); got != 3 {
		t.Fatalf("Len() = %d, want 3", got)
	}
	time.Sleep(400 * time.Millisecond)
	if got := db.Len(); got != 2 { // Len sweeps: the key is removed only if its deadline is known
		t.Fatalf("Len() after the second deadline = %d, want 2", got)
	}
	wantNotFound(t, db, "gone-later")
	wantValue(t, db, "stays", "v")
}

// TestCheckIgnoresCheckpoint: Check and Repair see only data and hint
// files; a checkpoint beside them is not corruption.
func TestCheckIgnoresCheckpoint(t *testing.T) {
	dir, model := closedStore(t, Options{MergeRatio: -1})
	time.Sleep(2 * time.Millisecond) // the 1 ms deadlines pass
	dropExpired(model)
	rep, err := Check(dir, nil, nil)
	if err != nil || rep.Corrupt() {
		t.Fatalf("Check = %+v, %v", rep, err)
	}
	if rep.LiveKeys != len(model) {
		t.Fatalf("Check found %d live keys, want %d", rep.LiveKeys, len(model))
	}
}

// TestCheckpointDamageAtRest: damage done to a data file after a clean
// Close, without changing its size. In a file Open would scan without a
// checkpoint (no hint file: here the active one) it stops Open as it did
// before checkpoints, since Open still checks such files' records. In a
// file with a hint file, Open uses the checkpoint, as it used the hint,
// and Get and Check find the damage.
func TestCheckpointDamageAtRest(t *testing.T) {
	for _, hinted := range []bool{false, true} {
		t.Run(fmt.Sprintf("hinted=%v", hinted), func(t *testing.T) {
			dir := t.TempDir()
			db := mustOpenDir(t, dir, &Options{MergeRatio: -1})
			for i := range 10 {
				mustPut(t, db, fmt.Sprintf("k%d", i), strings.Repeat("v", 20))
			}
			if hinted {
				if err := db.Merge(); err != nil {
					t.Fatal(err)
				}
			}
			db.mu.RLock()
			e, _ := db.mu.keys.Get([]byte("k4"))
			db.mu.RUnlock()
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			path := activeLog(dir)
			if hinted {
				path = filepath.Join(dir, storage.ClosedName(e.FileID))
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b[e.Offset+int64(e.Size)-1] ^= 1 // the value's last byte
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if rep, err := Check(dir, nil, nil); err != nil || !rep.Corrupt() {
				t.Fatalf("Check = corrupt %t, %v; want the damage reported", rep != nil && rep.Corrupt(), err)
			}

			// Repair removes the checkpoint: the files it describes change.
			repaired := copyDir(t, dir)
			if _, _, err := Repair(repaired, nil, nil); err != nil {
				t.Fatal(err)
			}
			wantNoCheckpoint(t, repaired)
			rdb := mustOpenDir(t, repaired, nil)
			wantNotFound(t, rdb, "k4")
			wantValue(t, rdb, "k5", strings.Repeat("v", 20))

			if !hinted {
				if _, err := Open(dir, nil); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Open = %v; want ErrCorrupt for the damaged record, checkpoint or not", err)
				}
				wantNoCheckpoint(t, dir)
				return
			}
			db, h := openLogged(t, dir, Options{})
			if !h.logged(ckptUsed) {
				t.Fatalf("Open did not use the checkpoint; it logged %q", h.msgs)
			}
			if v, err := db.Get([]byte("k4")); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Get(k4) = %q, %v; want ErrCorrupt", v, err)
			}
			wantValue(t, db, "k5", strings.Repeat("v", 20))
		})
	}
}

// TestCheckpointSyncAlways: in SyncModeAlways the active file is
// preallocated; Close cuts the zeros, so its size matches the checkpoint.
func TestCheckpointSyncAlways(t *testing.T) {
	opts := Options{SyncMode: SyncModeAlways, MergeRatio: -1}
	dir := t.TempDir()
	db := mustOpenDir(t, dir, &opts)
	model := map[string]modelEntry{}
	fillRandom(t, db, 7, 300, false, model)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, h := openLogged(t, dir, opts)
	if !h.logged(ckptUsed) {
		t.Fatalf("Open did not use the checkpoint; it logged %q", h.msgs)
	}
	wantEntries(t, db, model)
	fillRandom(t, db, 8, 100, false, model)
	wantEntries(t, db, model)
}

// TestCheckpointVerifiesInParts: a file large enough is checked in parts
// in parallel (verifyFile). Damage in any part makes Open load from the
// files, which refuses the store, as a check in one piece would; a part
// that starts inside a value, at bytes that look like a record, fails
// its check, and the file checked in one piece passes: the checkpoint is
// used, with every value right.
func TestCheckpointVerifiesInParts(t *testing.T) {
	defer func(n int64) { verifySplitSize = n }(verifySplitSize)
	verifySplitSize = 1 << 10
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4)) // several parts, whatever the machine

	t.Run("clean", func(t *testing.T) {
		dir := t.TempDir()
		db := mustOpenDir(t, dir, &Options{MergeRatio: -1})
		for i := range 2000 {
			mustPut(t, db, fmt.Sprintf("k%04d", i), strings.Repeat("v", i%50))
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db, h := openLogged(t, dir, Options{})
		if !h.logged(ckptUsed) {
			t.Fatalf("Open did not use the checkpoint; it logged %q", h.msgs)
		}
		wantValue(t, db, "k1999", strings.Repeat("v", 1999%50))
	})

	t.Run("several files, each in parts", func(t *testing.T) {
		dir := t.TempDir()
		db := mustOpenDir(t, dir, &Options{MergeRatio: -1, MaxFileSize: 64 << 10})
		for i := range 2000 {
			mustPut(t, db, fmt.Sprintf("k%04d", i), strings.Repeat("v", 30))
		}
		db.mu.RLock()
		e, _ := db.mu.keys.Get([]byte("k0300")) // in the first, closed file
		db.mu.RUnlock()
		if e.FileID == db.mu.log.ID() {
			t.Fatal("k0300 is in the active file")
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		clean := copyDir(t, dir)
		db, h := openLogged(t, clean, Options{MaxFileSize: 64 << 10})
		if !h.logged(ckptUsed) || h.logged("checkpoint not used") {
			t.Fatalf("Open did not use the checkpoint; it logged %q", h.msgs)
		}
		wantValue(t, db, "k0300", strings.Repeat("v", 30))

		path := filepath.Join(dir, storage.ClosedName(e.FileID))
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b[e.Offset+int64(e.Size)-1] ^= 1
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(dir, &Options{MaxFileSize: 64 << 10}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), fmt.Sprintf("offset %d", e.Offset)) {
			t.Fatalf("Open = %v, want ErrCorrupt naming offset %d", err, e.Offset)
		}
	})

	t.Run("damage in each part", func(t *testing.T) {
		for _, at := range []float64{0.1, 0.4, 0.6, 0.9} {
			dir := t.TempDir()
			db := mustOpenDir(t, dir, &Options{MergeRatio: -1})
			for i := range 2000 {
				mustPut(t, db, fmt.Sprintf("k%04d", i), strings.Repeat("v", 30))
			}
			victim := []byte(fmt.Sprintf("k%04d", int(at*2000)))
			db.mu.RLock()
			e, _ := db.mu.keys.Get(victim)
			db.mu.RUnlock()
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(activeLog(dir))
			if err != nil {
				t.Fatal(err)
			}
			b[e.Offset+int64(e.Size)-1] ^= 1
			if err := os.WriteFile(activeLog(dir), b, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err = Open(dir, nil)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), fmt.Sprintf("offset %d", e.Offset)) {
				t.Fatalf("damage at %.0f%% (offset %d): Open = %v, want ErrCorrupt naming the offset", at*100, e.Offset, err)
			}
		}
	})

	// Each value here is 8 whole records: every split lands inside one
	// and takes an inner record for a start (its part then fails, before
	// the file is checked in one piece).
	t.Run("values that hold records", func(t *testing.T) {
		dir := t.TempDir()
		db := mustOpenDir(t, dir, &Options{MergeRatio: -1})
		var inner []byte
		for j := range 8 {
			inner = format.Append(inner, 1, format.FlagValue, []byte(fmt.Sprintf("inner%d", j)), []byte("x"))
		}
		for i := range 200 {
			mustPut(t, db, fmt.Sprintf("k%04d", i), string(inner))
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db, h := openLogged(t, dir, Options{})
		if h.logged(ckptIgnored) || h.logged("checkpoint not used") || !h.logged(ckptUsed) {
			t.Fatalf("Open did not use the checkpoint of a clean file; it logged %q", h.msgs)
		}
		for i := range 200 {
			wantValue(t, db, fmt.Sprintf("k%04d", i), string(inner))
		}
		if n := db.Len(); n != 200 {
			t.Fatalf("Len = %d, want 200", n)
		}
	})
}
