package cluster

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/redis/go-redis/v9"
)

// kvInput is a GET or a SET of the history; kvOutput what a GET returned.
type kvInput struct {
	set        bool
	key, value string
}

type kvOutput struct{ value string }

// kvModel is a register per key: a SET sets it, a GET returns it ("" when
// unset). Histories are checked key by key.
var kvModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range history {
			k := op.Input.(kvInput).key
			byKey[k] = append(byKey[k], op)
		}
		var out [][]porcupine.Operation
		for _, ops := range byKey {
			out = append(out, ops)
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in := input.(kvInput)
		if in.set {
			return true, in.value
		}
		return output.(kvOutput).value == state.(string), state
	},
	DescribeOperation: func(input, output any) string {
		in := input.(kvInput)
		if in.set {
			return fmt.Sprintf("set(%s, %s)", in.key, in.value)
		}
		return fmt.Sprintf("get(%s) -> %s", in.key, output.(kvOutput).value)
	},
}

// history records operations with the time they began and returned.
type history struct {
	start   time.Time
	mu      sync.Mutex
	ops     []porcupine.Operation
	clients atomic.Int64
}

func (h *history) now() int64 { return int64(time.Since(h.start)) }

func (h *history) add(client int, in kvInput, out kvOutput, call, ret int64) {
	h.mu.Lock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
	h.mu.Unlock()
}

// TestLinearizableUnderLeaderKills records a history of GETs and SETs by
// concurrent clients, each talking to one node (followers forward to the
// leader), while the leader is killed and restarted, and checks it with
// porcupine. A SET whose outcome is unknown (the connection broke, or the
// server said it may or may not have been applied) is recorded as never
// returning, so it may take effect at any time after it began; a failed
// GET, or a command refused with TRYAGAIN (nothing done), is left out.
func TestLinearizableUnderLeaderKills(t *testing.T) {
	c := newTestCluster(t, 3)
	c.waitLeader(15 * time.Second)
	h := &history{start: time.Now()}
	keys := []string{"x", "y", "z"}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	const clients = 6
	var unknown, refused atomic.Int64
	for g := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := int(h.clients.Add(1)) - 1
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				nd := c.nodes[(g+seq/50)%len(c.nodes)] // move to another node now and then
				if !nd.running.Load() {
					time.Sleep(5 * time.Millisecond)
					continue
				}
				cl := nd.client
				in := kvInput{key: keys[rng.IntN(len(keys))]}
				if rng.IntN(2) == 0 {
					in.set, in.value = true, fmt.Sprintf("c%d-%d", g, seq)
				}
				call := h.now()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				var out kvOutput
				var err error
				if in.set {
					err = cl.Set(ctx, in.key, in.value, 0).Err()
				} else {
					out.value, err = cl.Get(ctx, in.key).Result()
					if errors.Is(err, redis.Nil) {
						err = nil
					}
				}
				cancel()
				switch {
				case err == nil:
					h.add(id, in, out, call, h.now())
				case retryable(err):
					refused.Add(1)
					time.Sleep(10 * time.Millisecond)
				case in.set:
					unknown.Add(1)
					h.add(id, in, out, call, math.MaxInt64)
					id = int(h.clients.Add(1)) - 1 // this client's op may still be pending
				default:
					time.Sleep(10 * time.Millisecond)
				}
			}
		}()
	}
	kills := 2
	if *longRun {
		kills = 8
	}
	for range kills {
		time.Sleep(1200 * time.Millisecond)
		leader := c.waitLeader(15 * time.Second)
		c.kill(leader)
		time.Sleep(800 * time.Millisecond)
		c.start(leader)
	}
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	ops := h.ops
	t.Logf("history: %d operations (%d writes of unknown outcome, %d refused with TRYAGAIN) by %d clients, %d leader kills", len(ops), unknown.Load(), refused.Load(), clients, kills)
	if len(ops) < 100 {
		t.Fatalf("only %d operations recorded", len(ops))
	}
	res, info := porcupine.CheckOperationsVerbose(kvModel, ops, 60*time.Second)
	switch res {
	case porcupine.Ok:
	case porcupine.Illegal:
		path := t.TempDir() + "/history.html"
		if err := porcupine.VisualizePath(kvModel, info, path); err == nil {
			t.Logf("visualization: %s", path)
		}
		t.Fatal("the history is not linearizable")
	default:
		t.Fatalf("linearizability check: %v (timed out)", res)
	}
}

// TestModelCatchesStaleRead checks that the model refuses a history with
// a read that misses a write finished before it began, and accepts the
// same read when the two overlap.
func TestModelCatchesStaleRead(t *testing.T) {
	op := func(in kvInput, out string, call, ret int64) porcupine.Operation {
		return porcupine.Operation{Input: in, Output: kvOutput{out}, Call: call, Return: ret}
	}
	stale := []porcupine.Operation{
		op(kvInput{set: true, key: "x", value: "1"}, "", 0, 10),
		op(kvInput{key: "x"}, "", 20, 30),
	}
	if porcupine.CheckOperations(kvModel, stale) {
		t.Error("a read after a finished write that misses it was accepted")
	}
	overlapping := []porcupine.Operation{
		op(kvInput{set: true, key: "x", value: "1"}, "", 0, 25),
		op(kvInput{key: "x"}, "", 20, 30),
	}
	if !porcupine.CheckOperations(kvModel, overlapping) {
		t.Error("a read overlapping a write, returning the old value, was refused")
	}
	pending := []porcupine.Operation{
		op(kvInput{set: true, key: "x", value: "1"}, "", 0, math.MaxInt64),
		op(kvInput{key: "x"}, "", 20, 30),
		op(kvInput{key: "x"}, "1", 40, 50),
		op(kvInput{key: "x"}, "", 60, 70),
	}
	if porcupine.CheckOperations(kvModel, pending) {
		t.Error("a write of unknown outcome seen, then unseen, was accepted")
	}
}
