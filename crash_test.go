package aetherkv

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// The crash test re-executes the test binary as a writer child (TestMain),
// kills it with SIGKILL at a random moment, reopens the store and checks
// what survived against a model of the child's deterministic operations.

var crashPoints = flag.Int("crash.points", 60, "kill -9 points per durability mode in TestCrash")

const (
	childEnv   = "AETHER_CRASH_CHILD" // dir,seed,mode
	crashKeys  = 300
	crashOpMax = 200000
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(crashChild(spec))
	}
	os.Exit(m.Run())
}

// crashOp is the i-th operation of the child seeded with seed: a put of a
// value of varying size, or a delete (value nil).
func crashOps(seed uint64) func() (key string, value []byte) {
	r := rand.New(rand.NewPCG(seed, 42))
	i := 0
	return func() (string, []byte) {
		i++
		key := "key" + strconv.Itoa(r.IntN(crashKeys))
		if r.IntN(10) == 0 {
			return key, nil
		}
		v := fmt.Appendf(nil, "s%d-i%d-", seed, i)
		return key, append(v, bytes.Repeat([]byte{byte('a' + r.IntN(26))}, r.IntN(600))...)
	}
}

// crashChild applies operations until killed, printing the number of
// acknowledged operations after each one.
func crashChild(spec string) int {
	var dir, mode string
	var seed uint64
	if _, err := fmt.Sscanf(spec, "%s %d %s", &dir, &seed, &mode); err != nil {
		fmt.Fprintln(os.Stderr, "bad spec:", err)
		return 2
	}
	opts := &Options{SyncMode: SyncModeAlways, BatchSize: 1024, MergeRatio: -1}
	switch mode {
	case "buffered":
		opts.SyncMode = SyncModeInterval
	case "never":
		opts.SyncMode = SyncModeNever
	}
	if mode == "merge" {
		opts.MaxFileSize, opts.MergeRatio = 32<<10, -1
	}
	db, err := Open(dir, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 1
	}
	if mode == "merge" {
		go func() { // merge without pause, so that kills land at every step of it
			for {
				if err := db.Merge(); err != nil {
					fmt.Fprintln(os.Stderr, "merge:", err)
					os.Exit(1)
				}
			}
		}()
	}
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, "ready")
	out.Flush()
	next := crashOps(seed)
	if mode == "batch" {
		return crashBatches(db, out, next, seed)
	}
	for n := 1; n <= crashOpMax; n++ {
		key, value := next()
		if value == nil {
			err = db.Delete([]byte(key))
			if errors.Is(err, ErrNotFound) {
				err = nil
			}
		} else {
			err = db.Put([]byte(key), value)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "write:", err)
			return 1
		}
		fmt.Fprintln(out, n)
		out.Flush()
	}
	db.Close()
	return 0
}

// batchSizes returns the sizes of the child's batches in batch mode.
func batchSizes(seed uint64) func() int {
	r := rand.New(rand.NewPCG(seed, 7))
	return func() int { return 1 + r.IntN(20) }
}

// crashBatches applies the operations in atomic batches, printing the
// number of operations acknowledged after each batch.
func crashBatches(db *DB, out *bufio.Writer, next func() (string, []byte), seed uint64) int {
	size := batchSizes(seed)
	b := db.NewBatch()
	for n := 0; n < crashOpMax; {
		b.Reset()
		for range size() {
			key, value := next()
			if value == nil {
				b.Delete([]byte(key))
			} else {
				b.Put([]byte(key), value)
			}
			n++
		}
		if err := db.Write(b); err != nil {
			fmt.Fprintln(os.Stderr, "write:", err)
			return 1
		}
		fmt.Fprintln(out, n)
		out.Flush()
	}
	db.Close()
	return 0
}

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 crash test skipped in -short mode")
	}
	for _, mode := range []string{"always", "buffered", "never", "merge", "batch"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			state := map[string]string{} // what the store held after the last reopen
			lost := 0
			for point := range *crashPoints {
				seed := uint64(point + 1)
				acked := runAndKill(t, dir, seed, mode, time.Duration(rand.IntN(60)+2)*time.Millisecond)
				db, err := Open(dir, nil)
				if err != nil {
					t.Fatalf("point %d: Open after kill -9 = %v", point, err)
				}
				got := readAll(t, db)
				// Compact what the child left, so that the store does not grow
				// with every point (and merges run on crash-made stores).
				if err := db.Merge(); err != nil {
					t.Fatalf("point %d: Merge after the crash = %v", point, err)
				}
				if again := readAll(t, db); !maps.Equal(again, got) {
					t.Fatalf("point %d: the merge changed the store's contents", point)
				}
				db.Close()
				boundary := func(int) bool { return true }
				if mode == "batch" {
					boundary = batchBoundaries(seed)
				}
				durable := mode != "buffered" && mode != "never"
				k, ok := matchPrefix(state, got, seed, acked, durable, boundary)
				if !ok {
					t.Fatalf("point %d (seed %d, %d acked): the store matches no prefix of the writes it was sent that keeps every durable one", point, seed, acked)
				}
				lost += max(0, acked-k)
				state = got
			}
			t.Logf("%s: %d kill -9 points, every reopen held an exact prefix of the writes; acknowledged but lost (buffered only): %d", mode, *crashPoints, lost)
		})
	}
}

// runAndKill starts a child writer, lets it run for d after it is ready,
// kills it with SIGKILL and returns how many operations it acknowledged.
func runAndKill(t *testing.T, dir string, seed uint64, mode string, d time.Duration) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %s", childEnv, dir, seed, mode))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "ready" {
		cmd.Wait()
		t.Fatalf("child did not start: %q", lines.Text())
	}
	acks := make(chan int)
	go func() {
		n := 0
		for lines.Scan() {
			n, _ = strconv.Atoi(lines.Text())
		}
		acks <- n
	}()
	time.Sleep(d)
	cmd.Process.Signal(syscall.SIGKILL)
	n := <-acks // every ack the child printed before it died
	cmd.Wait()
	return n
}

func readAll(t *testing.T, db *DB) map[string]string {
	t.Helper()
	m := map[string]string{}
	for i := range crashKeys {
		key := "key" + strconv.Itoa(i)
		v, err := db.Get([]byte(key))
		switch {
		case err == nil:
			m[key] = string(v)
		case !errors.Is(err, ErrNotFound):
			t.Fatalf("Get(%q) after crash = %v", key, err)
		}
	}
	return m
}

// batchBoundaries reports which operation counts end a batch in batch
// mode: the only states a store may be left in.
func batchBoundaries(seed uint64) func(k int) bool {
	ends := map[int]bool{0: true}
	size := batchSizes(seed)
	for n := 0; n < crashOpMax; {
		n += size()
		ends[n] = true
	}
	return func(k int) bool { return ends[k] }
}

// matchPrefix replays the child's operations on start and returns the
// number k of operations after which the model equals got; k must be a
// boundary (the end of a batch: no half batch may survive). When durable,
// k must be at least acked (the child may have done one more, unacked).
func matchPrefix(start, got map[string]string, seed uint64, acked int, durable bool, boundary func(int) bool) (int, bool) {
	model := make(map[string]string, len(start))
	for k, v := range start {
		model[k] = v
	}
	diff := 0 // keys where model and got differ
	for i := range crashKeys {
		key := "key" + strconv.Itoa(i)
		if !sameEntry(model, got, key) {
			diff++
		}
	}
	next := crashOps(seed)
	for k := 0; k <= crashOpMax; k++ {
		if diff == 0 && (!durable || k >= acked) && boundary(k) {
			return k, true
		}
		key, value := next()
		before := sameEntry(model, got, key)
		if value == nil {
			delete(model, key)
		} else {
			model[key] = string(value)
		}
		if after := sameEntry(model, got, key); before != after {
			if after {
				diff--
			} else {
				diff++
			}
		}
	}
	return 0, false
}

func sameEntry(a, b map[string]string, key string) bool {
	va, oka := a[key]
	vb, okb := b[key]
	return oka == okb && va == vb
}
