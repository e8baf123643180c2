// Package retention decides which of the spool's files to keep and deletes
// the rest. The spool directory (spool.dir) holds a run-<id>/ folder of
// Parquet files — personal data included — for every run that read its
// sources; without retention it grows by a full extract a night, and the
// files of failed runs stay for ever.
//
// A run's folder is kept while it can still serve: the last
// spool.keep_runs successful runs, a run whose warehouse publish committed
// but whose BigQuery publish did not finish (`nightshift retry` loads it
// from these files), the latest attempt at a backfill that has not
// succeeded, and a run that did not succeed while no later run has. The
// rest is deleted, and so is anything older than spool.max_age, whatever
// else. A running run's folder is never touched, symbolic links are never
// followed, and files that are not a run's folder are left alone. Every
// deletion is recorded in nightshift.spool_deletions.
package retention

import (
	"cmp"
	"slices"
	"time"

	"github.com/dfe-nightshift/nightshift/pipeline"
)

// Policy is the retention policy: spool.keep_runs and spool.max_age.
type Policy struct {
	// KeepRuns is how many successful runs keep their files: the newest.
	KeepRuns int
	// MaxAge deletes any run's files once the run started longer ago than
	// this, whatever else; 0 means no age limit.
	MaxAge time.Duration
}

// expired says whether something from at is older than the policy allows.
func (p Policy) expired(now, at time.Time) bool {
	return p.MaxAge > 0 && now.Sub(at) > p.MaxAge
}

// StrayAfter is how old a stray file (a BigQuery ledger file a killed
// process left behind) must be before it is deleted: a live load keeps its
// file for seconds, never a day.
const StrayAfter = 24 * time.Hour

// Why a file is deleted, as recorded in nightshift.spool_deletions.reason.
const (
	// ReasonMaxAge: the run started longer ago than spool.max_age.
	ReasonMaxAge = "max_age"
	// ReasonKeepRuns: a successful run older than the last
	// spool.keep_runs successful runs.
	ReasonKeepRuns = "keep_runs"
	// ReasonSuperseded: a run that did not succeed, after a later run (of
	// any kind) succeeded.
	ReasonSuperseded = "superseded"
	// ReasonStray: a file no run will come back for, left by a process
	// that was killed.
	ReasonStray = "stray"
)

// Why a file is kept.
const (
	KeptRunning  = "running"
	KeptRecent   = "one of the last spool.keep_runs successful runs"
	KeptRetry    = "published to the warehouse, BigQuery unfinished: nightshift retry loads these files"
	KeptBackfill = "the latest attempt at a backfill that has not succeeded"
	KeptLatest   = "did not succeed, and no later run has"
	KeptUnknown  = "not in the ledger, and younger than spool.max_age"
	KeptFresh    = "younger than a day: a load may still be using it"
)

// Entry is a folder or file of the spool directory that retention manages.
type Entry struct {
	// RunID is the run whose run-<id> folder this is; 0 for a stray file.
	RunID int64
	// Path is absolute.
	Path string
	// Bytes adds up the regular files, and ModTime is the newest
	// modification of the folder or anything in it.
	Bytes   int64
	ModTime time.Time
}

// Run is what the ledger says of a run, as far as its files are concerned.
type Run struct {
	ID        int64
	Status    pipeline.Status
	Mode      string
	StartedAt time.Time
	// Published: its warehouse publish committed (runs.published_at);
	// Propagated: it reached BigQuery in full (runs.bigquery_published_at).
	Published, Propagated bool
}

// History is the ledger's view of the runs whose folders are on disk.
type History struct {
	Runs map[int64]Run
	// LastSucceeded is the newest run of any kind that succeeded (0: none).
	LastSucceeded int64
	// Resumable holds, for each backfill (runs.mode), its newest attempt
	// when that did not succeed: the next attempt resumes it.
	Resumable map[int64]bool
}

// Decision is what becomes of an entry, and why.
type Decision struct {
	Entry
	Delete bool
	Reason string
}

// Decide applies the policy to the entries at now. It is the whole policy,
// with no side effect: Prune carries it out.
func Decide(p Policy, now time.Time, entries []Entry, h History) []Decision {
	sorted := slices.Clone(entries)
	// Newest run first, so that the first KeepRuns successful ones are kept.
	slices.SortFunc(sorted, func(a, b Entry) int { return cmp.Or(cmp.Compare(b.RunID, a.RunID), cmp.Compare(a.Path, b.Path)) })
	out := make([]Decision, 0, len(sorted))
	kept := 0
	for _, e := range sorted {
		del, why := decide(p, now, e, h, &kept)
		out = append(out, Decision{Entry: e, Delete: del, Reason: why})
	}
	slices.Reverse(out)
	return out
}

func decide(p Policy, now time.Time, e Entry, h History, kept *int) (bool, string) {
	if e.RunID == 0 {
		if now.Sub(e.ModTime) > StrayAfter {
			return true, ReasonStray
		}
		return false, KeptFresh
	}
	r, known := h.Runs[e.RunID]
	switch {
	case !known:
		// Another warehouse's run, or one whose ledger rows were deleted:
		// only its age can say it is no longer needed.
		if p.expired(now, e.ModTime) {
			return true, ReasonMaxAge
		}
		return false, KeptUnknown
	case r.Status == pipeline.StatusRunning:
		return false, KeptRunning
	case p.expired(now, r.StartedAt):
		return true, ReasonMaxAge
	case r.Status == pipeline.StatusSucceeded:
		if *kept < p.KeepRuns {
			*kept++
			return false, KeptRecent
		}
		return true, ReasonKeepRuns
	case r.Published && !r.Propagated:
		return false, KeptRetry
	case h.Resumable[r.ID]:
		return false, KeptBackfill
	case h.LastSucceeded > r.ID:
		return true, ReasonSuperseded
	}
	return false, KeptLatest
}
