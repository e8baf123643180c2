package retention_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/pipeline"
	"github.com/dfe-nightshift/nightshift/steps/retention"
)

// run is a row of nightshift.runs in a test history, with its folder.
type run struct {
	status string
	// mode defaults to full.
	mode string
	// age is how long ago it started (default an hour).
	age                   time.Duration
	published, propagated bool
	// noFolder: the run wrote no files (a restore, the BigQuery half).
	noFolder bool
}

var (
	succeeded = run{status: "succeeded"}
	failed    = run{status: "failed"}
)

func (r run) old() run                { r.age = 200 * time.Hour; return r }
func (r run) without() run            { r.noFolder = true; return r }
func (r run) as(mode string) run      { r.mode = mode; return r }
func (r run) publishedOnly() run      { r.published = true; return r }
func (r run) withStatus(s string) run { r.status = s; return r }

// fixture is a migrated warehouse and a spool directory.
type fixture struct {
	t   *testing.T
	db  *pgxpool.Pool
	dir string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return &fixture{t: t, db: pgtest.Pool(t, pgtest.NewWarehouse(t)), dir: t.TempDir()}
}

// add records the runs in order (ids 1, 2, …) and writes each one's folder:
// run N holds N KiB.
func (f *fixture) add(runs ...run) {
	f.t.Helper()
	for _, r := range runs {
		if r.mode == "" {
			r.mode = "full"
		}
		if r.age == 0 {
			r.age = time.Hour
		}
		var id int64
		err := f.db.QueryRow(context.Background(), `
			INSERT INTO nightshift.runs (env, trigger, mode, entities, started_by, status, started_at, finished_at, published_at, bigquery_published_at)
			VALUES ('test', 'manual', $1, '{trainees}', 'test', $2, now() - make_interval(secs => $3),
			        CASE WHEN $2 <> 'running' THEN now() - make_interval(secs => $3) + interval '1 minute' END,
			        CASE WHEN $4 THEN now() END, CASE WHEN $5 THEN now() END)
			RETURNING id`, r.mode, r.status, r.age.Seconds(), r.published, r.propagated).Scan(&id)
		require.NoError(f.t, err)
		if !r.noFolder {
			f.folder(id, time.Now().Add(-r.age))
		}
	}
}

// folder writes run-<id>/trainees.parquet (id KiB), modified at mod.
func (f *fixture) folder(id int64, mod time.Time) string {
	f.t.Helper()
	dir := filepath.Join(f.dir, fmt.Sprintf("run-%d", id))
	require.NoError(f.t, os.MkdirAll(dir, 0o750))
	file := filepath.Join(dir, "trainees.parquet")
	require.NoError(f.t, os.WriteFile(file, make([]byte, id*1024), 0o600))
	require.NoError(f.t, os.Chtimes(file, mod, mod))
	require.NoError(f.t, os.Chtimes(dir, mod, mod))
	return dir
}

func (f *fixture) spool(p retention.Policy) *retention.Spool {
	return &retention.Spool{Dir: f.dir, Policy: p, DB: f.db}
}

// folders are the run folders left, by id.
func (f *fixture) folders() []int64 {
	f.t.Helper()
	des, err := os.ReadDir(f.dir)
	require.NoError(f.t, err)
	var out []int64
	for _, de := range des {
		if id, ok := retention.RunFolderID(de.Name()); ok {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

type deletion struct {
	RunID  *int64
	Path   string
	Bytes  int64
	Reason string
}

func (f *fixture) deletions() []deletion {
	f.t.Helper()
	rows, err := f.db.Query(context.Background(), `SELECT run_id, path, bytes, reason FROM nightshift.spool_deletions ORDER BY run_id NULLS LAST, path`)
	require.NoError(f.t, err)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[deletion])
	require.NoError(f.t, err)
	return out
}

var week = retention.Policy{KeepRuns: 2, MaxAge: 168 * time.Hour}

func TestPruneKeepsWhatRunsStillNeed(t *testing.T) {
	t.Parallel()
	backfill := "backfill trainees .. by 100000 rows"
	cases := []struct {
		name   string
		policy retention.Policy
		runs   []run
		// deleted maps each run whose folder goes to why.
		deleted map[int64]string
	}{
		{"the last two successful runs are kept", week,
			[]run{succeeded, succeeded, succeeded},
			map[int64]string{1: retention.ReasonKeepRuns}},
		{"keep_runs counts successful runs only", retention.Policy{KeepRuns: 1},
			[]run{succeeded, succeeded, failed},
			map[int64]string{1: retention.ReasonKeepRuns}},
		{"keep_runs 0 keeps no successful run's files", retention.Policy{KeepRuns: 0},
			[]run{succeeded, failed},
			map[int64]string{1: retention.ReasonKeepRuns}},
		{"a failed run is deleted once a later run succeeded", week,
			[]run{succeeded, failed, succeeded},
			map[int64]string{2: retention.ReasonSuperseded}},
		{"the latest failed run is kept until a later run succeeds", week,
			[]run{succeeded, succeeded, failed, failed.withStatus("aborted")},
			map[int64]string{}},
		{"aborted and abandoned runs are superseded by a run of any kind", week,
			[]run{failed.withStatus("aborted"), failed.withStatus("abandoned"), succeeded.as("restore trainees").without()},
			map[int64]string{1: retention.ReasonSuperseded, 2: retention.ReasonSuperseded}},
		{"a run published to the warehouse but not BigQuery is kept for retry", week,
			[]run{failed.publishedOnly(), succeeded, succeeded, succeeded},
			map[int64]string{2: retention.ReasonKeepRuns}},
		{"once its BigQuery half is retried, the published run is superseded", week,
			[]run{func() run { r := failed.publishedOnly(); r.propagated = true; return r }(), succeeded.as("propagate run 1").without()},
			map[int64]string{1: retention.ReasonSuperseded}},
		{"a run kept for retry still goes after max_age", week,
			[]run{failed.publishedOnly().old(), succeeded},
			map[int64]string{1: retention.ReasonMaxAge}},
		{"the latest attempt at an unfinished backfill is kept", week,
			[]run{failed.as(backfill), failed.as(backfill), succeeded},
			map[int64]string{1: retention.ReasonSuperseded}},
		{"a backfill that resumed and succeeded leaves nothing to resume", week,
			[]run{failed.as(backfill), succeeded.as(backfill), succeeded},
			map[int64]string{1: retention.ReasonSuperseded}},
		{"an unfinished backfill still goes after max_age", week,
			[]run{failed.as(backfill).old(), succeeded},
			map[int64]string{1: retention.ReasonMaxAge}},
		{"max_age wins over keep_runs", retention.Policy{KeepRuns: 5, MaxAge: 168 * time.Hour},
			[]run{succeeded.old(), succeeded.old(), succeeded},
			map[int64]string{1: retention.ReasonMaxAge, 2: retention.ReasonMaxAge}},
		{"max_age 0 is no age limit", retention.Policy{KeepRuns: 5},
			[]run{succeeded.old(), failed.old()},
			map[int64]string{}},
		{"a running run's folder is never touched, however old", week,
			[]run{{status: "running", age: 500 * time.Hour}, succeeded, succeeded, succeeded},
			map[int64]string{2: retention.ReasonKeepRuns}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.add(tc.runs...)
			var before []int64
			for i, r := range tc.runs {
				if !r.noFolder {
					before = append(before, int64(i+1))
				}
			}
			pruned, err := f.spool(tc.policy).Prune(context.Background())
			require.NoError(t, err)

			var want, gone []int64
			wantRecords := []deletion{}
			var bytes int64
			for _, id := range before {
				reason, del := tc.deleted[id]
				if !del {
					want = append(want, id)
					continue
				}
				gone = append(gone, id)
				wantRecords = append(wantRecords, deletion{RunID: &id, Path: filepath.Join(f.dir, fmt.Sprintf("run-%d", id)), Bytes: id * 1024, Reason: reason})
				bytes += id * 1024
			}
			require.Equal(t, want, f.folders(), "folders kept")
			require.Equal(t, wantRecords, f.deletions(), "each deletion is recorded with its reason")
			require.Equal(t, bytes, pruned.Bytes)
			require.Len(t, pruned.Deleted, len(gone))
			require.Len(t, pruned.Kept, len(want))

			// Pruning again deletes nothing more.
			again, err := f.spool(tc.policy).Prune(context.Background())
			require.NoError(t, err)
			require.Empty(t, again.Deleted)
			require.Equal(t, want, f.folders())
		})
	}
}

func TestPruneLeavesWhatIsNotARunsFolder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.add(failed, succeeded, succeeded, succeeded) // 1 superseded, 2 beyond keep_runs
	long := time.Now().Add(-400 * time.Hour)

	// Things that are not a run's folder, all older than max_age.
	outside := t.TempDir()
	precious := filepath.Join(outside, "precious.parquet")
	require.NoError(t, os.WriteFile(precious, []byte("not the spool's"), 0o600))
	notRuns := map[string]bool{}
	write := func(name string, isDir bool) {
		path := filepath.Join(f.dir, name)
		if isDir {
			require.NoError(t, os.MkdirAll(path, 0o750))
			require.NoError(t, os.WriteFile(filepath.Join(path, "x.parquet"), []byte("x"), 0o600))
		} else {
			require.NoError(t, os.WriteFile(path, []byte("x\n"), 0o600))
		}
		require.NoError(t, os.Chtimes(path, long, long))
		notRuns[name] = true
	}
	write(pipeline.UnrecordedFile, false)
	write("notes.txt", false)
	write("run-abc", true)
	write("run-007", true) // not how spool names run 7
	write("run-0", true)
	write("run-9", false) // a file, not a folder
	write("runs-8", true)
	// A link named like the folder of run 2, which is deleted: neither the
	// link nor what it points to is touched.
	require.NoError(t, os.Rename(filepath.Join(f.dir, "run-2"), filepath.Join(outside, "run-2")))
	require.NoError(t, os.Symlink(filepath.Join(outside, "run-2"), filepath.Join(f.dir, "run-2")))
	notRuns["run-2"] = true
	// A link inside a deleted folder goes with it; its target stays.
	require.NoError(t, os.Symlink(precious, filepath.Join(f.dir, "run-1", "link.parquet")))
	// A BigQuery ledger file a killed process left behind, and one a load
	// is using now.
	stale := filepath.Join(f.dir, "ledger-20260101.parquet")
	require.NoError(t, os.WriteFile(stale, make([]byte, 100), 0o600))
	require.NoError(t, os.Chtimes(stale, time.Now().Add(-48*time.Hour), time.Now().Add(-48*time.Hour)))
	staleTmp := filepath.Join(f.dir, "ledger-20260101.parquet.123456.tmp")
	require.NoError(t, os.WriteFile(staleTmp, make([]byte, 10), 0o600))
	require.NoError(t, os.Chtimes(staleTmp, time.Now().Add(-48*time.Hour), time.Now().Add(-48*time.Hour)))
	fresh := filepath.Join(f.dir, "ledger-20260102.parquet")
	require.NoError(t, os.WriteFile(fresh, make([]byte, 100), 0o600))
	notRuns["ledger-20260102.parquet"] = true

	_, err := f.spool(week).Prune(context.Background())
	require.NoError(t, err)

	des, err := os.ReadDir(f.dir)
	require.NoError(t, err)
	left := map[string]bool{}
	for _, de := range des {
		left[de.Name()] = true
	}
	for name := range notRuns {
		require.True(t, left[name], "%s is left alone", name)
	}
	require.True(t, left["run-3"] && left["run-4"], "the last two successful runs are kept")
	require.False(t, left["run-1"], "the superseded run's folder is deleted")
	require.FileExists(t, precious, "a link's target is never deleted")
	require.FileExists(t, filepath.Join(outside, "run-2", "trainees.parquet"), "a linked folder is never followed")
	require.NoFileExists(t, stale)
	require.NoFileExists(t, staleTmp)

	one := int64(1)
	require.Equal(t, []deletion{
		{RunID: &one, Path: filepath.Join(f.dir, "run-1"), Bytes: 1024, Reason: retention.ReasonSuperseded},
		{Path: stale, Bytes: 100, Reason: retention.ReasonStray},
		{Path: staleTmp, Bytes: 10, Reason: retention.ReasonStray},
	}, f.deletions(), "the link's own size is not counted")
}

func TestPruneOfFoldersNotInTheLedger(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.folder(41, time.Now().Add(-time.Hour))
	f.folder(42, time.Now().Add(-200*time.Hour))
	_, err := f.spool(week).Prune(context.Background())
	require.NoError(t, err)
	require.Equal(t, []int64{41}, f.folders(), "a young folder no run of this ledger owns is kept; an old one goes by max_age")
	id := int64(42)
	require.Equal(t, []deletion{{RunID: &id, Path: filepath.Join(f.dir, "run-42"), Bytes: 42 * 1024, Reason: retention.ReasonMaxAge}}, f.deletions())

	_, err = f.spool(retention.Policy{KeepRuns: 2}).Prune(context.Background())
	require.NoError(t, err)
	require.Equal(t, []int64{41}, f.folders())
}

func TestPruneWaitsForTheRunLock(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.add(succeeded, succeeded, succeeded)
	lock, err := pipeline.NewLedger(f.db).TryLock(context.Background())
	require.NoError(t, err)
	_, err = f.spool(week).Prune(context.Background())
	require.ErrorIs(t, err, pipeline.ErrLocked)
	require.Equal(t, []int64{1, 2, 3}, f.folders(), "nothing is deleted while a run holds the lock")
	lock.Release(context.Background())
	_, err = f.spool(week).Prune(context.Background())
	require.NoError(t, err)
	require.Equal(t, []int64{2, 3}, f.folders())
}

func TestPruneOfAMissingSpoolDirectory(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.dir = filepath.Join(f.dir, "not-yet")
	pruned, err := f.spool(week).Prune(context.Background())
	require.NoError(t, err)
	require.Empty(t, pruned.Deleted)
}

// steps records succeeded (and one failed) steps that wrote bytes.
func (f *fixture) steps(runID int64, entity string, bytes ...int64) {
	f.t.Helper()
	for i, b := range bytes {
		_, err := f.db.Exec(context.Background(), `INSERT INTO nightshift.step_runs (run_id, entity, step, attempt, status, bytes, finished_at)
			VALUES ($1, $2, $3, 1, 'succeeded', $4, now())`, runID, entity, fmt.Sprintf("step-%d", i), b)
		require.NoError(f.t, err)
	}
	_, err := f.db.Exec(context.Background(), `INSERT INTO nightshift.step_runs (run_id, entity, step, attempt, status, finished_at)
		VALUES ($1, $2, 'failed-step', 1, 'failed', now())`, runID, entity)
	require.NoError(f.t, err)
}

func TestEstimateIsPerEntityFromTheLastSuccessfulFullRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.add(succeeded.without(), succeeded.without(), failed.without(), succeeded.as("backfill trainees .. by 10 rows").without())
	f.steps(1, "trainees", 1000, 500)
	f.steps(1, "teachers", 300)
	f.steps(2, "trainees", 2000)      // newer: wins for trainees
	f.steps(3, "teachers", 9000)      // failed run: ignored
	f.steps(4, "trainees", 1)         // a backfill: ignored
	f.steps(2, pipeline.RunEntity, 7) // the publish: not an entity of the run

	est, err := f.spool(week).Estimate(context.Background(), []string{"trainees", "teachers"})
	require.NoError(t, err)
	require.Equal(t, retention.Estimate{Written: 2300, Run: 2, Need: 2760}, est)

	est, err = f.spool(week).Estimate(context.Background(), []string{"declarations"})
	require.NoError(t, err)
	require.Zero(t, est, "nothing to go by")
}

func TestEnsureRoom(t *testing.T) {
	t.Parallel()
	t.Run("nothing to go by", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		sp := f.spool(week)
		sp.Free = func(string) (int64, error) { return 0, nil }
		require.NoError(t, sp.EnsureRoom(context.Background(), []string{"trainees"}))
	})
	t.Run("room enough", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.add(succeeded)
		f.steps(1, "trainees", 1000)
		sp := f.spool(week)
		sp.Free = func(string) (int64, error) { return 1200, nil }
		require.NoError(t, sp.EnsureRoom(context.Background(), []string{"trainees"}))
		require.Equal(t, []int64{1}, f.folders())
	})
	t.Run("pruning makes room", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.add(succeeded, failed, succeeded)
		f.steps(3, "trainees", 1000)
		sp := f.spool(week)
		// Short of room while the superseded run's folder is there.
		sp.Free = func(string) (int64, error) {
			if _, err := os.Stat(filepath.Join(f.dir, "run-2")); err == nil {
				return 1199, nil
			}
			return 1200, nil
		}
		require.NoError(t, sp.EnsureRoom(context.Background(), []string{"trainees"}))
		require.Equal(t, []int64{1, 3}, f.folders())
	})
	t.Run("no room", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.add(succeeded, failed, succeeded)
		f.steps(3, "trainees", 2<<30)
		sp := f.spool(week)
		sp.Free = func(string) (int64, error) { return 1 << 30, nil }
		err := sp.EnsureRoom(context.Background(), []string{"trainees"})
		var noRoom *retention.NoRoomError
		require.ErrorAs(t, err, &noRoom)
		require.Equal(t, int64(2048), noRoom.Freed, "it pruned first")
		require.EqualError(t, err, "spool.dir "+f.dir+": its filesystem has 1.0 GiB free, and this run needs about 2.4 GiB "+
			"(1.2 × the 2.0 GiB the last successful full run wrote for these entities, run 3), after pruning 2.0 KiB under spool.keep_runs and spool.max_age: "+
			"make room there, lower spool.keep_runs or spool.max_age, or set spool.dir (NIGHTSHIFT_SPOOL_DIR) to a larger filesystem")
	})
}

func TestFreeBytes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	free, err := retention.FreeBytes(dir)
	require.NoError(t, err)
	require.Positive(t, free)
	deeper, err := retention.FreeBytes(filepath.Join(dir, "not", "yet"))
	require.NoError(t, err, "a spool directory not created yet is measured on its parent's filesystem")
	require.Positive(t, deeper)
}

func TestFormatBytes(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 2254857830: "2.1 GiB", 1 << 60: "1.0 EiB"} {
		require.Equal(t, want, retention.FormatBytes(n))
	}
}

func TestRunFolderID(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]int64{"run-1": 1, "run-42": 42, "run-0": 0, "run-007": 0, "run-": 0, "run-x": 0, "run--1": 0, "xrun-1": 0, "run-1.tmp": 0} {
		id, ok := retention.RunFolderID(name)
		require.Equal(t, want, id, name)
		require.Equal(t, want != 0, ok, name)
	}
}
