package cluster

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkPropose measures writes through a 3-node cluster in this
// process (loopback transport, raft logs fsynced), from 1 and 50
// concurrent writers: ns/op is the time per write overall; p50 and p99
// are the latencies of one write.
func BenchmarkPropose(b *testing.B) {
	for _, writers := range []int{1, 50} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			nodes, _ := startCluster(b, b.TempDir(), 3)
			leader := waitLeader(b, nodes)
			value := make([]byte, 100)
			var mu sync.Mutex
			var lat []time.Duration
			b.ResetTimer()
			var wg sync.WaitGroup
			per := (b.N + writers - 1) / writers
			for g := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					mine := make([]time.Duration, 0, per)
					for i := range per {
						start := time.Now()
						if err := leader.Propose([]Op{{Key: fmt.Appendf(nil, "k%d-%d", g, i), Value: value}}); err != nil {
							b.Error(err)
							return
						}
						mine = append(mine, time.Since(start))
					}
					mu.Lock()
					lat = append(lat, mine...)
					mu.Unlock()
				}()
			}
			wg.Wait()
			b.StopTimer()
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
			}
		})
	}
}
