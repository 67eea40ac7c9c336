package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newBackupCommand returns the "backup" command.
func newBackupCommand(p *program) *cobra.Command {
	return &cobra.Command{
		Use:   "backup DEST",
		Short: "Write a consistent copy of the data directory into DEST",
		Long: `Backup writes a copy of the store into DEST (which must not exist or be
empty) that opens as a store of its own. Closed data files are hard-linked
when DEST is on the same file system, else copied.

This command opens the data directory itself, so no other process may be
using it. A running server holds the directory: send it the BACKUP DEST
command instead (redis-cli -p PORT BACKUP DEST).`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := p.open(cmd)
			if err != nil {
				return err
			}
			st, err := db.Backup(args[0])
			if cerr := db.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backup of %s in %s: %d files, %d bytes (%d hard-linked)\n",
				db.Dir(), args[0], st.Files, st.Bytes, st.Linked)
			return nil
		},
	}
}
