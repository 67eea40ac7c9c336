package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	aetherkv "github.com/aether-kv/aether-kv"
	"github.com/aether-kv/aether-kv/internal/config"
)

// Exit statuses of the aether-kv program.
const (
	ExitOK    = 0 // success, including EXIT, QUIT and the end of input
	ExitError = 1 // a failure: bad configuration, Open or Close failed
	ExitUsage = 2 // bad flags or arguments
)

// globalFlags are the flags that every aether-kv command accepts.
type globalFlags struct {
	configFile string // --config
	dataDir    string // --data-dir; "" keeps the configured DATA_DIR
}

// program is what the commands take from the process, so that tests can
// supply their own, and the values of the global flags.
type program struct {
	stdin  io.Reader
	stdout io.Writer
	getenv func(string) (string, bool)
	flags  globalFlags
}

// NewRootCommand returns the aether-kv command. Run with no arguments, or
// as "aether-kv shell", it opens the database and runs the shell on stdin
// and stdout. Configuration comes from the embedded template or --config,
// with environment variables read through getenv (os.LookupEnv in the
// program); --data-dir overrides DATA_DIR. Execute runs the command and
// turns its error into an exit status.
func NewRootCommand(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) (string, bool)) *cobra.Command {
	p := &program{stdin: stdin, stdout: stdout, getenv: getenv}
	root := &cobra.Command{
		Use:   "aether-kv",
		Short: "Aether KV, a log-structured key-value store",
		Long: `Aether KV is a log-structured key-value store in the manner of Bitcask.

Run with no command, aether-kv opens the data directory and starts the
shell (see "aether-kv shell --help").`,
		Args:          usageArgs(cobra.NoArgs),
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE:          p.runShell,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	flags := root.PersistentFlags()
	flags.StringVar(&p.flags.configFile, "config", "", "read the configuration from `FILE` instead of the built-in template")
	flags.StringVar(&p.flags.dataDir, "data-dir", "", "keep the data in `DIR` (overrides DATA_DIR)")
	root.AddCommand(newShellCommand(p), newMergeCommand(p), newStatsCommand(p))
	root.AddCommand(newCheckCommand(p), newServeCommand(p))
	root.AddCommand(newBackupCommand(p))
	return root
}

// newShellCommand returns the "shell" command.
func newShellCommand(p *program) *cobra.Command {
	return &cobra.Command{
		Use:   "shell",
		Short: "Run the interactive shell (the default command)",
		Long: `Shell opens the data directory and reads commands, one per line:

  PUT <key> <value>   store value under key
  GET <key>           print the value of key
  DELETE <key>        delete key
  HELP                list the commands
  EXIT | QUIT         leave the shell

Commands are case-insensitive. Arguments are split as redis-cli splits
them: double quotes keep spaces and read \n, \xHH and other escapes, and
single quotes keep everything literally.

On a terminal the shell prompts with "> " and keeps a history in
$AETHER_HISTFILE (default ~/.aether_kv_history). Otherwise it prints only
the reply to each line, as soon as the line has run. The end of input acts
as EXIT; the database is then flushed, synced and closed.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: p.runShell,
	}
}

// runShell opens the database, runs the shell until it ends or cmd's
// context is done, and closes the database.
func (p *program) runShell(cmd *cobra.Command, _ []string) error {
	db, err := p.open(cmd)
	if err != nil {
		return err
	}
	interactive := isTerminal(p.stdin)
	sh := New(db, p.stdin, p.stdout, interactive)
	if interactive {
		sh.HistoryFile = HistoryPath(p.getenv)
	}
	runErr := sh.RunContext(cmd.Context())
	if runErr != nil {
		runErr = fmt.Errorf("shell: %w", runErr)
	}
	return errors.Join(runErr, db.Close())
}

// open loads the configuration, applies the flags and opens the database.
func (p *program) open(cmd *cobra.Command) (*aetherkv.DB, error) {
	cfg, err := p.config(cmd)
	if err != nil {
		return nil, err
	}
	return aetherkv.Open(cfg.DataDir, p.options(cmd, cfg))
}

// options returns the store's options for cfg, with a logger that writes
// warnings and errors to standard error: what Open cut from a torn log,
// a hint file it could not use, a failed background sync. The shell's
// standard output stays the session's replies alone.
func (p *program) options(cmd *cobra.Command, cfg *config.Config) *aetherkv.Options {
	opts := cfg.Options()
	opts.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	return opts
}

// config loads the configuration and applies the flags.
func (p *program) config(cmd *cobra.Command) (*config.Config, error) {
	return p.configWith(cmd, nil)
}

// configWith is config with more flags (setting name -> value) applied
// before the settings are checked.
func (p *program) configWith(cmd *cobra.Command, flags map[string]string) (*config.Config, error) {
	setDataDir := cmd.Flags().Changed("data-dir")
	if setDataDir && p.flags.dataDir == "" {
		return nil, usageError{errors.New("--data-dir must not be empty")}
	}
	if setDataDir {
		if flags == nil {
			flags = map[string]string{}
		}
		flags["DATA_DIR"] = p.flags.dataDir
	}
	return config.LoadWithFlags(p.flags.configFile, p.getenv, flags)
}

// Execute runs cmd, a command from NewRootCommand, with ctx, and returns
// the exit status: ExitOK, ExitError or ExitUsage. It reports an error on
// cmd's standard error as one line, "aether-kv: <error>".
func Execute(ctx context.Context, cmd *cobra.Command) int {
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", cmd.Name(), oneLine(err.Error()))
	if errors.As(err, new(usageError)) {
		return ExitUsage
	}
	return ExitError
}

// usageError marks an error in the command line, which exits with
// ExitUsage.
type usageError struct{ err error }

func (u usageError) Error() string {
	return u.err.Error() + " (see aether-kv --help)"
}

func (u usageError) Unwrap() error { return u.err }

// usageArgs makes the errors of an argument check usage errors.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
