module github.com/aether-kv/aether-kv/bench

go 1.26.0

require github.com/aether-kv/aether-kv v0.0.0

require golang.org/x/sys v0.50.0 // indirect

replace github.com/aether-kv/aether-kv => ../
