package main

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"testing"
)

// TestAdapters puts a few keys into every adapter, buffered and durable,
// reads them back, reopens, merges, and reads them again, so that a broken
// adapter is caught before a long comparison.
func TestAdapters(t *testing.T) {
	const n = 300
	for _, a := range adapters() {
		for _, durable := range []bool{false, true} {
			name := a.name + "/buffered"
			if durable {
				name = a.name + "/durable"
			}
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir() + "/data"
				s, err := a.open(Config{Dir: dir, Durable: durable, Writers: 2})
				if err != nil {
					t.Fatal(err)
				}
				err = parallel(2, func(w int) error {
					from, to := split(n, 2, w)
					return writeRange(s, from, to, 0)
				})
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Flush(); err != nil {
					t.Fatal(err)
				}
				checkAll(t, s, n, 0)
				if _, err := s.Get(benchKey(n), nil); !errors.Is(err, errNotFound) {
					t.Errorf("Get of a missing key: %v, want errNotFound", err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}

				s, err = a.open(Config{Dir: dir, Durable: durable, Writers: 1})
				if err != nil {
					t.Fatal(err)
				}
				checkAll(t, s, n, 0)
				if err := writeRange(s, 0, n/2, 1); err != nil { // overwrite half
					t.Fatal(err)
				}
				if err := s.Flush(); err != nil {
					t.Fatal(err)
				}
				if m, ok := s.(Merger); ok {
					if err := m.Merge(); err != nil {
						t.Fatalf("merge: %v", err)
					}
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}

				s, err = a.open(Config{Dir: dir})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				checkAll(t, s, n/2, 1)
				for i := n / 2; i < n; i++ {
					checkKey(t, s, i, 0)
				}
			})
		}
	}
}

func checkAll(t *testing.T, s Store, n, round int) {
	t.Helper()
	for i := range n {
		checkKey(t, s, i, round)
	}
}

func checkKey(t *testing.T, s Store, i, round int) {
	t.Helper()
	v, err := s.Get(benchKey(i), make([]byte, 0, 8))
	if err != nil {
		t.Fatalf("get %d: %v", i, err)
	}
	if !bytes.Equal(v, benchValue(i, round)) {
		t.Fatalf("get %d: wrong value", i)
	}
}

// TestSteps runs every worker step in this process on a small store, the
// way compare runs them in workers.
func TestSteps(t *testing.T) {
	for _, store := range []string{"aether", "bbolt"} {
		t.Run(store, func(t *testing.T) {
			base := t.TempDir()
			steps := []job{
				{Step: "put", Dir: base + "/put", Keys: 2000, Threads: 4},
				{Step: "load", Dir: base + "/gets", Keys: 2000, Threads: 1},
				{Step: "get", Dir: base + "/gets", Keys: 2000, Threads: 2},
				{Step: "load", Dir: base + "/mixed", Keys: 2000, Threads: 1},
				{Step: "mixed", Dir: base + "/mixed", Keys: 2000, Threads: 1, Duration: 10e9},
				{Step: "open", Dir: base + "/gets", Keys: 2000, Threads: 1},
				{Step: "merge", Dir: base + "/gets", Keys: 2000, Threads: 1},
				{Step: "durable", Dir: base + "/durable", Keys: 2000, Threads: 8, Duration: 50e6},
				{Step: "space", Dir: base + "/space", Keys: 2000, Threads: 1},
			}
			for _, j := range steps {
				j.Store = store
				m, err := runJob(j)
				if err != nil {
					t.Fatalf("%s: %v", j.Step, err)
				}
				if len(m) == 0 {
					t.Fatalf("%s: no metrics", j.Step)
				}
				if j.Step == "mixed" && (m["ops_per_sec"] <= 0 || m["p99_seconds"] <= 0) {
					t.Fatalf("mixed: %v", m)
				}
			}
		})
	}
}

func TestValues(t *testing.T) {
	if k := benchKey(42); string(k) != "key-000000000042" || len(k) != keySize {
		t.Errorf("benchKey(42) = %q", k)
	}
	a, b := benchValue(1, 0), benchValue(1, 1)
	if len(a) != valueSize || bytes.Equal(a, b) || bytes.Equal(a, benchValue(2, 0)) {
		t.Errorf("values not distinct: %x %x", a, b)
	}
	if !bytes.Equal(a, benchValue(1, 0)) {
		t.Error("values not deterministic")
	}
}

func TestParseStrace(t *testing.T) {
	dir := t.TempDir()
	summary := `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 90.00    0.002867          57        50           fdatasync
 10.00    0.000100          10        10         2 fsync
------ ----------- ----------- --------- --------- ----------------
100.00    0.002967          49        60         2 total
`
	if err := writeFile(dir+"/s", summary); err != nil {
		t.Fatal(err)
	}
	n, err := parseStrace(dir + "/s")
	if err != nil || n != 60 {
		t.Errorf("parseStrace = %d, %v; want 60", n, err)
	}
}

func TestMedianOf(t *testing.T) {
	if m := medianOf([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median of 3 = %v", m)
	}
	if m := medianOf([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median of 4 = %v", m)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }

func TestDataset(t *testing.T) {
	d := newDataset(1000, 1100, 3)
	for n := range 100 {
		k, v := d.pair(n)
		if !bytes.Equal(k, benchKey(1000+n)) || !bytes.Equal(v, benchValue(1000+n, 3)) {
			t.Fatalf("pair(%d) = %q, %x; want key %d of round 3", n, k, v, 1000+n)
		}
		if cap(k) != keySize || cap(v) != valueSize {
			t.Fatalf("pair(%d): capacities %d, %d; a store appending to them would overwrite the next pair", n, cap(k), cap(v))
		}
	}
}

func TestReadSet(t *testing.T) {
	d := newReadSet(500, 1000, 2, rand.New(rand.NewPCG(1, 1)))
	rng := rand.New(rand.NewPCG(1, 1))
	for n := range 500 {
		i := rng.IntN(1000)
		k, v := d.pair(n)
		if !bytes.Equal(k, benchKey(i)) || !bytes.Equal(v, benchValue(i, 2)) {
			t.Fatalf("pair(%d) = %q; want key %d of round 2, the %d-th drawn", n, k, i, n)
		}
	}
}
