package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/dfe-nightshift/nightshift/schemas"
	nssql "github.com/dfe-nightshift/nightshift/sql"
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
dictionary, the tables and the data always agree. It ends with everything else analysts
may query — reporting.status_history, reporting.statuses_as_of(), the views, and the
run ledger's tables — from the COMMENTs the warehouse migrations and views give them.
Needs no database.`,
		Example: `  nightshift docs --out docs/data-dictionary.md`,
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			catalog, err := nssql.Catalog()
			if err != nil {
				return err
			}
			write := func(w io.Writer) error {
				if err := schemas.WriteDictionary(w, schemas.All()); err != nil {
					return err
				}
				return nssql.WriteCatalog(w, catalog)
			}
			if out == "" || out == "-" {
				return write(a.stdout)
			}
			f, err := os.Create(out)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("--out: %w", err))
			}
			if err := write(f); err != nil {
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
