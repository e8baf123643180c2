package retention

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Margin is how much more room than the last run wrote a run needs: the
// data grows, and a retried step writes its file again before the old
// one goes.
const Margin = 1.2

// Estimate is how many bytes a run will write in the spool.
type Estimate struct {
	// Written is what the last successful full run that read each entity
	// wrote for it (the ledger's step_runs.bytes: spool and BigQuery
	// files), added up over the run's entities; Run is the newest of those
	// runs (0: none, and nothing to go by).
	Written int64
	Run     int64
	// Need is Written times Margin.
	Need int64
}

// Estimate looks up, per entity, the bytes the latest successful full run
// that read it wrote for it. Per entity, and from full runs only, so that
// neither a one-entity run, a window backfill, a restore nor the BigQuery
// half of a run (which write little or nothing) lowers the estimate of a
// full run.
func (s *Spool) Estimate(ctx context.Context, entities []string) (Estimate, error) {
	var e Estimate
	err := s.DB.QueryRow(ctx, `
		SELECT coalesce(sum(bytes), 0)::int8, coalesce(max(run_id), 0) FROM (
		    SELECT DISTINCT ON (s.entity) s.entity, s.run_id, sum(s.bytes) AS bytes
		    FROM nightshift.step_runs s JOIN nightshift.runs r ON r.id = s.run_id
		    WHERE r.status = 'succeeded' AND r.mode = 'full' AND s.status = 'succeeded' AND s.entity = ANY($1)
		    GROUP BY s.entity, s.run_id
		    ORDER BY s.entity, s.run_id DESC) last`, entities).Scan(&e.Written, &e.Run)
	if err != nil {
		return e, fmt.Errorf("spool: estimate the run's files from the ledger: %w", err)
	}
	e.Need = int64(math.Ceil(float64(e.Written) * Margin))
	return e, nil
}

// NoRoomError says the spool's filesystem lacks room for the run.
type NoRoomError struct {
	Dir      string
	Free     int64
	Estimate Estimate
	// Freed is what pruning the spool freed before giving up.
	Freed int64
}

func (e *NoRoomError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "spool.dir %s: its filesystem has %s free, and this run needs about %s (%.1f × the %s the last successful full run wrote for these entities, run %d)",
		e.Dir, FormatBytes(e.Free), FormatBytes(e.Estimate.Need), Margin, FormatBytes(e.Estimate.Written), e.Estimate.Run)
	if e.Freed > 0 {
		fmt.Fprintf(&b, ", after pruning %s under spool.keep_runs and spool.max_age", FormatBytes(e.Freed))
	}
	b.WriteString(": make room there, lower spool.keep_runs or spool.max_age, or set spool.dir (NIGHTSHIFT_SPOOL_DIR) to a larger filesystem")
	return b.String()
}

// EnsureRoom checks, before a run that reads the sources writes anything,
// that the spool's filesystem has room for what the run will write (see
// Estimate). When it has not, it prunes the spool first — the caller holds
// the run lock — and measures again; still short, it returns a
// *NoRoomError. With no successful full run to go by, or on a system where
// free space cannot be measured, there is nothing to check.
func (s *Spool) EnsureRoom(ctx context.Context, entities []string) error {
	est, err := s.Estimate(ctx, entities)
	if err != nil || est.Need == 0 {
		return err
	}
	free, err := s.free()
	if errors.Is(err, errors.ErrUnsupported) {
		return nil
	}
	if err != nil || free >= est.Need {
		return err
	}
	pruned, pruneErr := s.prune(ctx)
	if free, err = s.free(); err != nil || free >= est.Need {
		return err
	}
	noRoom := &NoRoomError{Dir: s.Dir, Free: free, Estimate: est, Freed: pruned.Bytes}
	if pruneErr != nil {
		return errors.Join(noRoom, pruneErr)
	}
	return noRoom
}

func (s *Spool) free() (int64, error) {
	if s.Free != nil {
		return s.Free(s.Dir)
	}
	return FreeBytes(s.Dir)
}

// FreeBytes is the room an unprivileged process has on dir's filesystem;
// dir need not exist yet (its nearest existing parent is measured). It
// returns an error matching errors.ErrUnsupported where it cannot tell.
func FreeBytes(dir string) (int64, error) {
	path, err := filepath.Abs(dir)
	if err != nil {
		return 0, fmt.Errorf("spool.dir %s: %w", dir, err)
	}
	for {
		_, err := os.Stat(path)
		if err == nil {
			break
		}
		parent := filepath.Dir(path)
		if !errors.Is(err, fs.ErrNotExist) || parent == path {
			return 0, fmt.Errorf("spool.dir %s: %w", dir, err)
		}
		path = parent
	}
	free, err := statfs(path)
	if err != nil {
		return 0, fmt.Errorf("spool.dir %s: free space of %s: %w", dir, path, err)
	}
	return free, nil
}

// FormatBytes writes n in binary units: 2.1 GiB.
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), -1
	for v >= unit && i < 5 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[i])
}
