// Command aether-kv runs the Aether KV shell; see "aether-kv --help".
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/aether-kv/aether-kv/internal/cli"
)

func main() {
	os.Exit(run())
}

// run executes the command line and returns the exit status. SIGINT and
// SIGTERM end the shell like EXIT: the database is closed before exiting.
func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := cli.NewRootCommand(os.Stdin, os.Stdout, os.Stderr, os.LookupEnv)
	root.SetArgs(os.Args[1:])
	return cli.Execute(ctx, root)
}
