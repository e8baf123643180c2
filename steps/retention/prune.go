package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dfe-nightshift/nightshift/pipeline"
)

// Spool is the spool directory under its retention policy, with the
// warehouse that holds the run ledger.
type Spool struct {
	// Dir is spool.dir.
	Dir    string
	Policy Policy
	// DB is the warehouse: the ledger says which runs the folders belong
	// to, and records what was deleted.
	DB *pgxpool.Pool
	// Now and Free replace the clock and FreeBytes in tests.
	Now  func() time.Time
	Free func(dir string) (int64, error)
}

func (s *Spool) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Pruned is what a prune did.
type Pruned struct {
	Deleted, Kept []Decision
	// Bytes adds up the deleted entries.
	Bytes int64
}

// Prune deletes what the policy does not keep and records each deletion in
// nightshift.spool_deletions. It holds the run lock while it works, so that
// no run starts, or reads a folder, under it; when another run holds the
// lock it deletes nothing and returns an error matching
// pipeline.ErrLocked (that run prunes when it ends). An entry that cannot
// be deleted or recorded does not stop the others: the errors are joined.
func (s *Spool) Prune(ctx context.Context) (Pruned, error) {
	lock, err := pipeline.NewLedger(s.DB).TryLock(ctx)
	if err != nil {
		return Pruned{}, fmt.Errorf("spool.dir %s not pruned: %w", s.Dir, err)
	}
	defer lock.Release(ctx)
	return s.prune(ctx)
}

// AfterRunTimeout bounds the prune that follows a run.
const AfterRunTimeout = time.Minute

// AfterRun prunes the spool once a run has ended, whatever its status. It
// has its own minute even if ctx was cancelled (Ctrl-C, abort), and its
// errors are logged, never returned: they cannot change the run's outcome.
func (s *Spool) AfterRun(ctx context.Context, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), AfterRunTimeout)
	defer cancel()
	pruned, err := s.Prune(ctx)
	if len(pruned.Deleted) > 0 {
		log.Info("spool pruned", "dir", s.Dir, "deleted", len(pruned.Deleted), "bytes", pruned.Bytes,
			"keep_runs", s.Policy.KeepRuns, "max_age", s.Policy.MaxAge.String())
	}
	switch {
	case errors.Is(err, pipeline.ErrLocked):
		log.Info("spool not pruned: another run has started, and prunes it when it ends", "dir", s.Dir)
	case err != nil:
		log.Error("could not prune the spool directory; the run's outcome is unchanged", "dir", s.Dir, "err", err)
	}
}

// prune is Prune for a caller that holds the run lock.
func (s *Spool) prune(ctx context.Context) (Pruned, error) {
	entries, scanErr := Scan(s.Dir)
	ids := make([]int64, 0, len(entries))
	for _, e := range entries {
		if e.RunID != 0 {
			ids = append(ids, e.RunID)
		}
	}
	h, err := LoadHistory(ctx, s.DB, ids)
	if err != nil {
		return Pruned{}, errors.Join(scanErr, err)
	}
	var res Pruned
	errs := []error{scanErr}
	for _, d := range Decide(s.Policy, s.now(), entries, h) {
		if !d.Delete {
			res.Kept = append(res.Kept, d)
			continue
		}
		if err := remove(d.Entry); err != nil {
			errs = append(errs, err)
			continue
		}
		res.Deleted = append(res.Deleted, d)
		res.Bytes += d.Bytes
		if err := record(ctx, s.DB, d); err != nil {
			errs = append(errs, fmt.Errorf("spool: deleted %s (%s) but could not record it: %w", d.Path, d.Reason, err))
		}
	}
	return res, errors.Join(errs...)
}

func record(ctx context.Context, db *pgxpool.Pool, d Decision) error {
	var runID *int64
	if d.RunID != 0 {
		runID = &d.RunID
	}
	_, err := db.Exec(ctx, `INSERT INTO nightshift.spool_deletions (run_id, path, bytes, reason) VALUES ($1, $2, $3, $4)`,
		runID, d.Path, d.Bytes, d.Reason)
	return err
}

// LoadHistory reads from the ledger what Decide needs about the runs ids.
func LoadHistory(ctx context.Context, db *pgxpool.Pool, ids []int64) (History, error) {
	h := History{Runs: map[int64]Run{}, Resumable: map[int64]bool{}}
	rows, err := db.Query(ctx, `
		SELECT id, status, mode, started_at, published_at IS NOT NULL, bigquery_published_at IS NOT NULL
		FROM nightshift.runs WHERE id = ANY($1)`, ids)
	if err != nil {
		return h, fmt.Errorf("spool: ledger: %w", err)
	}
	runs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Run, error) {
		var r Run
		err := row.Scan(&r.ID, &r.Status, &r.Mode, &r.StartedAt, &r.Published, &r.Propagated)
		return r, err
	})
	if err != nil {
		return h, fmt.Errorf("spool: ledger: %w", err)
	}
	for _, r := range runs {
		h.Runs[r.ID] = r
	}
	if err := db.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM nightshift.runs WHERE status = 'succeeded'`).Scan(&h.LastSucceeded); err != nil {
		return h, fmt.Errorf("spool: ledger: %w", err)
	}
	// The newest attempt at each backfill, as Ledger.Checkpoints finds the
	// one to resume: refused runs never started, and a backfill whose
	// newest attempt succeeded has nothing left to resume.
	rows, err = db.Query(ctx, `
		SELECT id FROM (
		    SELECT DISTINCT ON (mode) id, status FROM nightshift.runs
		    WHERE mode LIKE 'backfill%' AND status <> 'refused'
		    ORDER BY mode, id DESC) newest
		WHERE status <> 'succeeded'`)
	if err != nil {
		return h, fmt.Errorf("spool: ledger: %w", err)
	}
	resumable, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return h, fmt.Errorf("spool: ledger: %w", err)
	}
	for _, id := range resumable {
		h.Resumable[id] = true
	}
	return h, nil
}
