package cli

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	aetherkv "github.com/aether-kv/aether-kv"
)

// errDamaged is returned by "check" when it found something wrong, so that
// the program exits non-zero after printing the report.
var errDamaged = errors.New("the data directory is damaged; run \"aether-kv check --repair\" to keep every valid record and set the rest aside")

// newCheckCommand returns the "check" command.
func newCheckCommand(p *program) *cobra.Command {
	var repair bool
	cmd := &cobra.Command{
		Use:   "check [--repair]",
		Short: "Verify every record and hint file; with --repair, salvage what is valid",
		Long: `Check reads every data and hint file of the data directory (which no
other process may have open), verifies every record's checksum and every
hint file, and prints what it found: files, records, live keys, and each
damaged region with its file and offset. It exits 1 if anything is wrong.
A torn write at the end of active.log is reported but is not an error:
the store cuts it when it opens.

With --repair, each damaged data file is rewritten with every valid
record, including those after a damaged region, and invalid hint files
are moved aside. The original of every file changed is kept in a
repair-<time> folder inside the data directory; nothing is deleted.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := p.config(cmd)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			progress, done := progressBar(cmd.ErrOrStderr(), "checking")
			defer done()
			if repair {
				found, rep, err := aetherkv.Repair(cfg.DataDir, p.options(cmd, cfg), progress)
				done()
				if found != nil {
					printCheck(out, cfg.DataDir, found)
				}
				if rep != nil {
					printRepair(out, rep)
				}
				return err
			}
			r, err := aetherkv.Check(cfg.DataDir, p.options(cmd, cfg), progress)
			done()
			if err != nil {
				return err
			}
			printCheck(out, cfg.DataDir, r)
			if r.Corrupt() {
				return errDamaged
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&repair, "repair", false, "rewrite damaged files with their valid records, keeping the originals")
	return cmd
}

// progressBar returns a progress callback drawing a bar on w when it is a
// terminal (else doing nothing), and a function that ends the bar.
func progressBar(w io.Writer, what string) (func(done, total int64), func()) {
	if !isTerminal(w) {
		return nil, func() {}
	}
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish())
	return func(done, total int64) {
			bar.ChangeMax64(total)
			bar.Set64(done)
		}, func() {
			bar.Finish()
		}
}

func printCheck(w io.Writer, dir string, r *aetherkv.CheckReport) {
	for _, f := range r.Files {
		fmt.Fprintf(w, "%s: %d bytes, %d records (%d tombstones)", f.Name, f.Size, f.Records, f.Tombstones)
		switch {
		case f.HintErr != nil:
			fmt.Fprintf(w, ", hint file INVALID: %v", f.HintErr)
		case f.HasHint:
			fmt.Fprint(w, ", hint file valid")
		}
		if f.Preallocated > 0 {
			fmt.Fprintf(w, ", %d preallocated bytes at the end (cut when the store opens)", f.Preallocated)
		}
		fmt.Fprintln(w)
		for _, d := range f.Damage {
			kind := "DAMAGED"
			if d.Torn {
				kind = "torn write at the end (cut when the store opens)"
			}
			fmt.Fprintf(w, "  %s: %s at offset %d, %d bytes: %v\n", f.Name, kind, d.Offset, d.Length, d.Reason)
		}
	}
	status := "OK"
	if r.Corrupt() {
		status = "DAMAGED"
	}
	fmt.Fprintf(w, "%s: %d data files, %d valid records, %d live keys: %s\n", dir, len(r.Files), r.Records, r.LiveKeys, status)
}

func printRepair(w io.Writer, rep *aetherkv.RepairReport) {
	if len(rep.Files) == 0 {
		fmt.Fprintln(w, "repair: nothing to do")
		return
	}
	for _, f := range rep.Files {
		var dropped int64
		for _, d := range f.Dropped {
			dropped += d.Length
		}
		fmt.Fprintf(w, "repair: %s: kept %d records, dropped %d bytes in %d regions", f.Name, f.Kept, dropped, len(f.Dropped))
		if f.HintRemoved {
			fmt.Fprint(w, ", hint file moved aside")
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "repair: the originals are kept in %s\n", rep.Backup)
}
