module github.com/aether-kv/aether-kv

go 1.26.0

require golang.org/x/sys v0.50.0
