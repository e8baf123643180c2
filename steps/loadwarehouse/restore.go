package loadwarehouse

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dfe-nightshift/nightshift/schemas"
	nssql "github.com/dfe-nightshift/nightshift/sql"
)

// ErrNoPrevious means there is no earlier version to restore.
var ErrNoPrevious = errors.New("nothing to restore")

// Restore puts <entity>__previous back in place of the entity's table, in
// one transaction, and keeps the table it replaces as the new __previous:
// a restore can itself be undone by restoring again. It returns the rows of
// the restored table.
func Restore(ctx context.Context, pool *pgxpool.Pool, schema string, c *schemas.Contract, views []nssql.View) (int64, error) {
	cur, prev, tmp := c.Entity, PreviousTable(c.Entity), c.Entity+"__restoring"
	var rows int64
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '30s'"); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", quote(schema, prev)).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("%w: there is no %s.%s (the entity has been loaded at most once)", ErrNoPrevious, schema, prev)
		}
		batch := &pgx.Batch{}
		batch.Queue(fmt.Sprintf("ALTER TABLE %s RENAME TO %s", quote(schema, cur), quote(tmp)))
		batch.Queue(fmt.Sprintf("ALTER INDEX IF EXISTS %s RENAME TO %s", quote(schema, cur+"_pkey"), quote(tmp+"_pkey")))
		batch.Queue(fmt.Sprintf("ALTER TABLE %s RENAME TO %s", quote(schema, prev), quote(cur)))
		batch.Queue(fmt.Sprintf("ALTER INDEX IF EXISTS %s RENAME TO %s", quote(schema, prev+"_pkey"), quote(cur+"_pkey")))
		batch.Queue(fmt.Sprintf("ALTER TABLE %s RENAME TO %s", quote(schema, tmp), quote(prev)))
		batch.Queue(fmt.Sprintf("ALTER INDEX IF EXISTS %s RENAME TO %s", quote(schema, tmp+"_pkey"), quote(prev+"_pkey")))
		batch.Queue("SELECT count(*) FROM " + quote(schema, cur))
		br := tx.SendBatch(ctx, batch)
		for range 6 {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return err
			}
		}
		if err := br.QueryRow().Scan(&rows); err != nil {
			br.Close()
			return err
		}
		if err := br.Close(); err != nil {
			return err
		}
		l := &Load{Schema: schema, Contract: c, Views: views}
		return l.recreateViews(ctx, tx)
	})
	if err != nil {
		return 0, fmt.Errorf("restore %s: %w", c.Entity, err)
	}
	return rows, nil
}
