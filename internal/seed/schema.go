package seed

import (
	"context"
	"fmt"
	"io/fs"
	"slices"

	"github.com/jackc/pgx/v5"

	nssql "github.com/dfe-nightshift/nightshift/sql"
)

// SchemaSQL returns sql/source/<source>/schema.sql.
func SchemaSQL(source string) (string, error) {
	if !slices.Contains(Sources, source) {
		return "", fmt.Errorf("unknown source %q (want one of %v)", source, Sources)
	}
	b, err := fs.ReadFile(nssql.Source, "source/"+source+"/schema.sql")
	if err != nil {
		return "", fmt.Errorf("schema of %s: %w", source, err)
	}
	return string(b), nil
}

// CreateSchema applies sql/source/<source>/schema.sql to an empty database.
// The file runs as one implicit transaction: it either applies whole or
// not at all.
func CreateSchema(ctx context.Context, conn *pgx.Conn, source string) error {
	ddl, err := SchemaSQL(source)
	if err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass('public.schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return fmt.Errorf("create schema %s: %w", source, err)
	}
	if exists {
		return fmt.Errorf("create schema %s: the database is not empty (public.schema_migrations exists)", source)
	}
	// Without arguments pgx sends the file as one simple-protocol query,
	// which PostgreSQL runs as a single transaction.
	if _, err := conn.Exec(ctx, ddl); err != nil {
		return fmt.Errorf("create schema %s: %w", source, err)
	}
	return nil
}
