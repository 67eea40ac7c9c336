package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	aetherkv "github.com/aether-kv/aether-kv"
)

// newMergeCommand returns the "merge" command: compact the data directory
// of a store that no other process has open.
func newMergeCommand(p *program) *cobra.Command {
	return &cobra.Command{
		Use:   "merge",
		Short: "Compact the data files: keep only live records, write hint files",
		Long: `Merge opens the data directory, copies the live records of every data
file into new files with hint files, and removes the files it replaced.
It shows a progress bar on a terminal and prints a one-line summary.
A running shell or server holds the directory: use its MERGE command.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := p.open(cmd)
			if err != nil {
				return err
			}
			err = runMerge(db, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if cerr := db.Close(); err == nil {
				err = cerr
			}
			return err
		},
	}
}

// runMerge merges db, drawing a progress bar on progress when it is a
// terminal, and writes a summary to out.
func runMerge(db *aetherkv.DB, out, progress io.Writer) error {
	before := db.Stats()
	report, done := progressBar(progress, "merging")
	start := time.Now()
	err := db.MergeWithProgress(report)
	done()
	if err != nil {
		return err
	}
	after := db.Stats()
	fmt.Fprintf(out, "merged %s: %d keys, %d data files -> %d, %d bytes -> %d (reclaimed %d) in %s\n",
		db.Dir(), after.Keys, before.DataFiles, after.DataFiles, before.DataBytes, after.DataBytes,
		after.LastMergeReclaimed, time.Since(start).Round(time.Millisecond))
	return nil
}

// newStatsCommand returns the "stats" command.
func newStatsCommand(p *program) *cobra.Command {
	return &cobra.Command{
		Use:   "stats",
		Short: "Print the store's keys, bytes, files and merges on one line",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := p.open(cmd)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), FormatStats(db.Stats()))
			return db.Close()
		},
	}
}
