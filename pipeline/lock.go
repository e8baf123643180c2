package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// lockKey is the advisory lock that admits one run at a time per
// warehouse ("nightshf" in ASCII).
const lockKey int64 = 0x6e69676874736866

// Lock is the run lock, held on a dedicated connection. PostgreSQL releases
// it when that connection ends, so a killed process never leaves it behind.
type Lock struct {
	conn *pgxpool.Conn
}

// LockedError says another run holds the lock.
type LockedError struct {
	// Holder is the running run, when the ledger shows one.
	Holder *RunSummary
}

func (e *LockedError) Error() string {
	if e.Holder == nil {
		return "another nightshift process holds the warehouse's run lock"
	}
	h := e.Holder
	msg := fmt.Sprintf("run %d holds the warehouse's run lock since %s (%s run started by %s",
		h.ID, h.StartedAt.UTC().Format(time.RFC3339), h.Trigger, h.StartedBy)
	if h.Reason != "" {
		msg += fmt.Sprintf(", reason %q", h.Reason)
	}
	return msg + "); wait for it, or stop it with `nightshift abort`"
}

// ErrLocked matches any *LockedError.
var ErrLocked = errors.New("run lock held")

func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// TryLock takes the run lock without waiting. If another run holds it, the
// error is a *LockedError naming that run.
func (l *Ledger) TryLock(ctx context.Context) (*Lock, error) {
	conn, err := l.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("run lock: %w", err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", lockKey).Scan(&ok); err != nil {
		conn.Release()
		return nil, fmt.Errorf("run lock: %w", err)
	}
	if !ok {
		conn.Release()
		holder, err := l.running(ctx)
		if err != nil {
			return nil, err
		}
		return nil, &LockedError{Holder: holder}
	}
	return &Lock{conn: conn}, nil
}

// Release gives the lock back. It works after ctx is cancelled.
func (lk *Lock) Release(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalWriteTimeout)
	defer cancel()
	if _, err := lk.conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", lockKey); err != nil {
		// Closing the connection releases the lock as surely.
		_ = lk.conn.Conn().Close(ctx)
	}
	lk.conn.Release()
}

// running returns the newest running run, or nil.
func (l *Ledger) running(ctx context.Context) (*RunSummary, error) {
	var s RunSummary
	err := l.pool.QueryRow(ctx, `
		SELECT id, trigger, started_by, started_at, coalesce(reason, '')
		FROM nightshift.runs WHERE status = 'running' ORDER BY id DESC LIMIT 1`).
		Scan(&s.ID, &s.Trigger, &s.StartedBy, &s.StartedAt, &s.Reason)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: running run: %w", err)
	}
	return &s, nil
}

// StaleAfter is how old a running run's heartbeat must be before another
// process may call the run abandoned while the lock is held.
const StaleAfter = time.Minute

// MarkAbandoned records as abandoned every run still marked running whose
// process died: all of them when the caller holds the run lock (lockHeld),
// otherwise only those whose heartbeat is stale. It returns their ids.
func (l *Ledger) MarkAbandoned(ctx context.Context, lockHeld bool) ([]int64, error) {
	rows, err := l.pool.Query(ctx, `
		UPDATE nightshift.runs
		SET status = 'abandoned', finished_at = now(),
		    error = 'the process running it died (last heartbeat ' || to_char(heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC)'
		WHERE status = 'running' AND ($1 OR heartbeat_at < now() - make_interval(secs => $2))
		RETURNING id`, lockHeld, StaleAfter.Seconds())
	if err != nil {
		return nil, fmt.Errorf("ledger: mark abandoned runs: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("ledger: mark abandoned runs: %w", err)
	}
	if len(ids) > 0 {
		// Their steps stopped when their process did.
		if _, err := l.pool.Exec(ctx, `UPDATE nightshift.step_runs SET status = 'aborted', finished_at = now(), error = 'abandoned'
			WHERE run_id = ANY($1) AND status = 'running'`, ids); err != nil {
			return ids, fmt.Errorf("ledger: mark abandoned steps: %w", err)
		}
	}
	return ids, nil
}

// SweepAbandoned marks dead runs abandoned from a process that does not run
// (nightshift runs): if the lock is free, no run is alive.
func (l *Ledger) SweepAbandoned(ctx context.Context) ([]int64, error) {
	lk, err := l.TryLock(ctx)
	var locked *LockedError
	if errors.As(err, &locked) {
		return l.MarkAbandoned(ctx, false)
	}
	if err != nil {
		return nil, err
	}
	defer lk.Release(ctx)
	return l.MarkAbandoned(ctx, true)
}
