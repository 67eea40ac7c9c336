// Command test is Aether KV's integration program, the seed's:
//
//	go run tests/test.go 100k-write    # 100,000 puts, reopen, verify; throughput
//	go run tests/test.go overlapping   # concurrent writers, deleters, readers
//	go run tests/test.go integrity     # damage on disk: refused, cut, or reported
//	go run tests/test.go all           # the three
//
// The checks live in package internal/integration.
package main

import (
	"os"

	"github.com/aether-kv/aether-kv/internal/integration"
)

func main() {
	os.Exit(integration.Main(os.Args[1:]))
}
