-- Which run each entity's versions (reporting.<entity>_versions, kept by
-- the publish) last came from: a retry of an older run must not write
-- history over a newer one's.
CREATE TABLE nightshift.versions_applied (
    entity      text        PRIMARY KEY,
    run_id      bigint      NOT NULL,
    -- The snapshot time of that run's rows.
    observed_at timestamptz NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    -- Where that run's load kept the keys and digests of its rows, with
    -- their count and sum (the sum's 64 bits as a bigint): the next run's
    -- diff reads them instead of scanning the versions, when they are
    -- still there and whole. NULL when there are none to trust.
    digests      text,
    digests_rows bigint,
    digests_sum  bigint
);

COMMENT ON TABLE nightshift.versions_applied IS 'Per entity, the run whose rows reporting.<entity>_versions last took in: a retry of an older run is refused rather than write history over a newer one.';
COMMENT ON COLUMN nightshift.versions_applied.entity IS 'The entity.';
COMMENT ON COLUMN nightshift.versions_applied.run_id IS 'The run whose rows the versions last took in (nightshift.runs.id).';
COMMENT ON COLUMN nightshift.versions_applied.observed_at IS 'When that run read the source (its snapshot).';
COMMENT ON COLUMN nightshift.versions_applied.applied_at IS 'When its publish wrote the versions.';
COMMENT ON COLUMN nightshift.versions_applied.digests IS 'Where that run kept the keys and digests of the rows it versioned (beside its spool file), which the next run''s diff reads instead of scanning the versions; NULL when there are none to trust (a backfill, rows withheld).';
COMMENT ON COLUMN nightshift.versions_applied.digests_rows IS 'How many rows those digests cover: a file that does not hold as many is not used.';
COMMENT ON COLUMN nightshift.versions_applied.digests_sum IS 'The sum of those digests (modulo 2^64, as a signed bigint): a file whose sum differs is not used.';

-- Where each status version's valid_from comes from: the time the source
-- recorded the change (audits, events, a column), or the run's snapshot.
ALTER TABLE reporting.status_history ADD COLUMN valid_from_source text NOT NULL DEFAULT 'snapshot';
COMMENT ON COLUMN reporting.status_history.valid_from_source IS 'Where valid_from comes from: audits (Register''s audit trail of the trainee''s state), events (RECT''s event log), training_periods (its withdrawn_at or deferred_at), all three when the source recorded the change; snapshot, the run''s snapshot of the source, when it did not (the change happened between the previous observation and this one).';
COMMENT ON COLUMN reporting.status_history.valid_from IS 'When this status began: the time the source recorded the change where it did (valid_from_source), otherwise when a run first observed it (the time of its source snapshot, UTC). Versions before the first run are rebuilt from the audit trail and the event log.';
