package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/dfe-nightshift/nightshift/schemas"
)

func (a *app) docsCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "docs",
		Short: "Write the data dictionary (Markdown) from the entity contracts",
		Long: `Write the data dictionary of every entity nightshift loads: what a row is, where it comes
from, and for each column its type, whether it can be NULL, its PII class (none,
personal, special) and its description, with the names of coded values. It is generated
from the same contracts that create the warehouse tables and their COMMENTs, so the
dictionary, the tables and the data always agree. Needs no database.`,
		Example: `  nightshift docs --out docs/data-dictionary.md`,
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if out == "" || out == "-" {
				return schemas.WriteDictionary(a.stdout, schemas.All())
			}
			f, err := os.Create(out)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("--out: %w", err))
			}
			if err := schemas.WriteDictionary(f, schemas.All()); err != nil {
				_ = f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote %s (%d entities)\n", out, len(schemas.All()))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write (default standard output)")
	return cmd
}
