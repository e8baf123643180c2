package seed

import (
	"context"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// load copies the tables in order, inside tx. Secondary indexes and foreign
// keys touching them are dropped first and rebuilt after the last COPY:
// building an index once from sorted data, and checking a foreign key with
// one join, is several times cheaper than maintaining them row by row, and
// PostgreSQL still checks every constraint before the transaction commits.
func load(ctx context.Context, tx pgx.Tx, source string, tables []table) (map[string]int64, error) {
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.name
	}
	rebuild, err := dropDeferrable(ctx, tx, names)
	if err != nil {
		return nil, fmt.Errorf("seed %s: set aside indexes: %w", source, err)
	}

	rows := make(map[string]int64, len(tables))
	for _, t := range tables {
		n, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.columns, newUnitRows(ctx, t))
		if err != nil {
			return nil, fmt.Errorf("seed %s: copy %s: %w", source, t.name, err)
		}
		rows[t.name] = n
	}

	// Index builds sort in memory when they can; a bench-sized seed builds
	// indexes over millions of rows.
	if _, err := tx.Exec(ctx, "SET LOCAL maintenance_work_mem = '256MB'"); err != nil {
		return nil, fmt.Errorf("seed %s: %w", source, err)
	}
	for _, stmt := range rebuild {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("seed %s: rebuild (%s): %w", source, stmt, err)
		}
	}
	for _, name := range names {
		if err := resetSequence(ctx, tx, name); err != nil {
			return nil, fmt.Errorf("seed %s: %s: %w", source, name, err)
		}
		if _, err := tx.Exec(ctx, "ANALYZE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return nil, fmt.Errorf("seed %s: analyze %s: %w", source, name, err)
		}
	}
	return rows, nil
}

// dropDeferrable drops the foreign keys from or to the tables and their
// indexes that back no primary key, unique or exclusion constraint, and
// returns the statements that recreate them, indexes before foreign keys.
func dropDeferrable(ctx context.Context, tx pgx.Tx, tables []string) ([]string, error) {
	type object struct{ table, name, def string }
	var fks, indexes []object

	rows, err := tx.Query(ctx, `
		SELECT c.conrelid::regclass::text, quote_ident(c.conname), pg_get_constraintdef(c.oid)
		FROM pg_constraint c
		WHERE c.contype = 'f'
		  AND (c.conrelid::regclass::text = ANY($1) OR c.confrelid::regclass::text = ANY($1))
		ORDER BY 1, 2`, tables)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var o object
		if err := rows.Scan(&o.table, &o.name, &o.def); err != nil {
			return nil, err
		}
		fks = append(fks, o)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}

	rows, err = tx.Query(ctx, `
		SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
		FROM pg_index i
		WHERE i.indrelid::regclass::text = ANY($1)
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint c
		                  WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
		ORDER BY 1, 2`, tables)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var o object
		if err := rows.Scan(&o.table, &o.name, &o.def); err != nil {
			return nil, err
		}
		indexes = append(indexes, o)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}

	var rebuild []string
	for _, fk := range fks {
		if _, err := tx.Exec(ctx, fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s", fk.table, fk.name)); err != nil {
			return nil, fmt.Errorf("drop %s: %w", fk.name, err)
		}
	}
	for _, ix := range indexes {
		if _, err := tx.Exec(ctx, "DROP INDEX "+ix.name); err != nil {
			return nil, fmt.Errorf("drop %s: %w", ix.name, err)
		}
		rebuild = append(rebuild, ix.def)
	}
	for _, fk := range fks {
		rebuild = append(rebuild, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s %s", fk.table, fk.name, fk.def))
	}
	return rebuild, nil
}

// resetSequence moves a table's id sequence past the ids the seed chose, so
// that the application (or a test) can insert after it.
func resetSequence(ctx context.Context, tx pgx.Tx, table string) error {
	// Tables keyed by something else (gias_schools.urn) have no id column,
	// and asking for its sequence would abort the transaction.
	rows, err := tx.Query(ctx, `
		SELECT pg_get_serial_sequence(quote_ident(table_name), 'id')
		FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name = $1 AND column_name = 'id'`, table)
	if err != nil {
		return fmt.Errorf("find id sequence: %w", err)
	}
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[pgtype.Text])
	if err != nil {
		return fmt.Errorf("find id sequence: %w", err)
	}
	if len(seqs) == 0 || !seqs[0].Valid {
		return nil
	}
	q := fmt.Sprintf("SELECT setval($1, max(id)) FROM %s HAVING max(id) IS NOT NULL", pgx.Identifier{table}.Sanitize())
	if _, err := tx.Exec(ctx, q, seqs[0].String); err != nil {
		return fmt.Errorf("reset id sequence: %w", err)
	}
	return nil
}

// registerTypes teaches conn the source's enum types and citext: COPY
// encodes in binary, and pgx can only do that for types it knows.
func registerTypes(ctx context.Context, conn *pgx.Conn) error {
	rows, err := conn.Query(ctx, `
		SELECT t.typname FROM pg_type t
		WHERE t.typtype = 'e' AND t.typnamespace = 'public'::regnamespace
		ORDER BY 1`)
	if err != nil {
		return fmt.Errorf("list enum types: %w", err)
	}
	enums, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list enum types: %w", err)
	}
	var types []*pgtype.Type
	for _, name := range enums {
		t, err := conn.LoadType(ctx, name)
		if err != nil {
			return fmt.Errorf("load type %s: %w", name, err)
		}
		types = append(types, t)
	}
	// citext's binary form is text's.
	var citext pgtype.Uint32
	if err := conn.QueryRow(ctx, "SELECT to_regtype('citext')::oid").Scan(&citext); err != nil {
		return fmt.Errorf("find citext: %w", err)
	}
	if citext.Valid {
		types = append(types, &pgtype.Type{Name: "citext", OID: citext.Uint32, Codec: pgtype.TextCodec{}})
	}
	sort.Slice(types, func(i, j int) bool { return types[i].Name < types[j].Name })
	conn.TypeMap().RegisterTypes(types)
	return nil
}

// ensureEmpty refuses to seed on top of data: a second seed would collide
// with the first on ids, or worse, silently double the volumes.
func ensureEmpty(ctx context.Context, tx pgx.Tx, source string, tables []table) error {
	for _, t := range tables {
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", "public."+t.name).Scan(&exists); err != nil {
			return fmt.Errorf("seed %s: %w", source, err)
		}
		if !exists {
			return fmt.Errorf("seed %s: table %s does not exist: create the schema first (seed.CreateSchema)", source, t.name)
		}
		var hasRows bool
		if err := tx.QueryRow(ctx, fmt.Sprintf("SELECT EXISTS (SELECT 1 FROM %s)", pgx.Identifier{t.name}.Sanitize())).Scan(&hasRows); err != nil {
			return fmt.Errorf("seed %s: %w", source, err)
		}
		if hasRows {
			return fmt.Errorf("seed %s: %w: table %s already has rows; seed a fresh database", source, ErrAlreadySeeded, t.name)
		}
	}
	return nil
}
