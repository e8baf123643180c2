package loadwarehouse

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// ErrNoPrevious means there is no kept version to restore.
var ErrNoPrevious = errors.New("nothing to restore")

// Restored is what a restore did to one entity.
type Restored struct {
	// From is the slot the restored version came from (previous or
	// discarded); empty when it was already current.
	From string
	// RunID is the run whose data the current table now holds (0 when the
	// ledger has no record of it: a table loaded before versions were kept).
	RunID int64
	Rows  int64
}

// Restore puts back, within the publish transaction, the version of the
// entity's table that run loaded — or, when run is 0, the version before
// the current one. The table it replaces is kept as __discarded, so that a
// restore can be undone by naming that table's run. Restoring the version
// already in place changes nothing: doing it twice is the same as once.
func (p *Publisher) Restore(ctx context.Context, c *schemas.Contract, run int64) (Restored, error) {
	cur, prev, disc := c.Entity, PreviousTable(c.Entity), DiscardedTable(c.Entity)
	vs, err := Versions(ctx, p.Tx, "warehouse", c.Entity)
	if err != nil {
		return Restored{}, err
	}
	has := map[string]bool{}
	for slot, table := range map[string]string{"current": cur, "previous": prev, "discarded": disc} {
		var ok bool
		if err := p.Tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", quote(p.Schema, table)).Scan(&ok); err != nil {
			return Restored{}, err
		}
		has[slot] = ok
	}
	if !has["current"] {
		return Restored{}, fmt.Errorf("%w: %s.%s has never been loaded", ErrNoPrevious, p.Schema, cur)
	}
	var from string
	switch {
	case run == 0 && has["previous"]:
		from = "previous"
	case run == 0 && has["discarded"]:
		// The last change to the entity was a restore: it is done.
		from = ""
	case run == 0:
		return Restored{}, fmt.Errorf("%w: there is no %s.%s (the entity has been loaded at most once since its last restore)", ErrNoPrevious, p.Schema, prev)
	case vs["current"].RunID == run:
		from = ""
	case has["previous"] && vs["previous"].RunID == run:
		from = "previous"
	case has["discarded"] && vs["discarded"].RunID == run:
		from = "discarded"
	default:
		return Restored{}, fmt.Errorf("%w: no kept version of %s was loaded by run %d (kept: %s)", ErrNoPrevious, c.Entity, run, describe(vs))
	}
	batch := &pgx.Batch{}
	switch from {
	case "previous":
		batch.Queue("DROP TABLE IF EXISTS " + quote(p.Schema, disc) + " CASCADE")
		p.rename(batch, cur, disc)
		p.rename(batch, prev, cur)
		batch.Queue(`DELETE FROM nightshift.table_versions WHERE target = 'warehouse' AND entity = $1 AND slot = 'discarded'`, c.Entity)
		batch.Queue(swapSlots, c.Entity, p.RunID, "previous")
	case "discarded":
		tmp := c.Entity + "__restoring"
		p.rename(batch, cur, tmp)
		p.rename(batch, disc, cur)
		p.rename(batch, tmp, disc)
		batch.Queue(swapSlots, c.Entity, p.RunID, "discarded")
	}
	if err := p.Tx.SendBatch(ctx, batch).Close(); err != nil {
		return Restored{}, fmt.Errorf("restore %s: %w", c.Entity, err)
	}
	after, err := Versions(ctx, p.Tx, "warehouse", c.Entity)
	if err != nil {
		return Restored{}, err
	}
	res := Restored{From: from, RunID: after["current"].RunID}
	if n := after["current"].Rows; n != nil {
		res.Rows = *n
		return res, nil
	}
	// A table loaded before versions were recorded: count it, once.
	if err := p.Tx.QueryRow(ctx, "SELECT count(*) FROM "+quote(p.Schema, cur)).Scan(&res.Rows); err != nil {
		return Restored{}, fmt.Errorf("restore %s: %w", c.Entity, err)
	}
	return res, nil
}

// swapSlots moves the current version to discarded and the one in slot $3
// to current. Deleted and inserted in one statement, because a swap by
// UPDATE would collide on the primary key halfway.
const swapSlots = `
	WITH moved AS (
		DELETE FROM nightshift.table_versions WHERE target = 'warehouse' AND entity = $1 AND slot IN ('current', $3)
		RETURNING target, entity, slot, run_id, rows)
	INSERT INTO nightshift.table_versions (target, entity, slot, run_id, rows, placed_by)
	SELECT target, entity, CASE slot WHEN 'current' THEN 'discarded' ELSE 'current' END, run_id, rows, $2 FROM moved`

func describe(vs map[string]Version) string {
	out := ""
	for _, slot := range []string{"current", "previous", "discarded"} {
		if v, ok := vs[slot]; ok {
			if out != "" {
				out += ", "
			}
			out += fmt.Sprintf("%s from run %d", slot, v.RunID)
		}
	}
	if out == "" {
		return "none recorded"
	}
	return out
}
