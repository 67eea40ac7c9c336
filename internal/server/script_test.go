package server

import (
	"strings"
	"testing"
)

// step is one request of a script and the exact reply it must get.
type step struct {
	args []string
	want string
}

// s builds a step from a request written as words (no quoting: a word is
// an argument) and the reply.
func s(req, want string) step { return step{strings.Fields(req), want} }

// sa builds a step from explicit arguments.
func sa(want string, args ...string) step { return step{args, want} }

// runScripts runs each script on a fresh server, over one connection.
func runScripts(t *testing.T, cfg Config, scripts map[string][]step) {
	t.Helper()
	for name, steps := range scripts {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, cfg)
			rc := ts.raw(t)
			for _, st := range steps {
				if got := rc.do(st.args...); got != st.want {
					t.Errorf("%q = %q, want %q", st.args, got, st.want)
				}
			}
		})
	}
}
