-- Which run each entity's versions (reporting.<entity>_versions, kept by
-- the publish) last came from: a retry of an older run must not write
-- history over a newer one's.
CREATE TABLE nightshift.versions_applied (
    entity      text        PRIMARY KEY,
    run_id      bigint      NOT NULL,
    -- The snapshot time of that run's rows.
    observed_at timestamptz NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE nightshift.versions_applied IS 'Per entity, the run whose rows reporting.<entity>_versions last took in: a retry of an older run is refused rather than write history over a newer one.';
COMMENT ON COLUMN nightshift.versions_applied.entity IS 'The entity.';
COMMENT ON COLUMN nightshift.versions_applied.run_id IS 'The run whose rows the versions last took in (nightshift.runs.id).';
COMMENT ON COLUMN nightshift.versions_applied.observed_at IS 'When that run read the source (its snapshot).';
COMMENT ON COLUMN nightshift.versions_applied.applied_at IS 'When its publish wrote the versions.';

-- Where each status version's valid_from comes from: the time the source
-- recorded the change (audits, events, a column), or the run's snapshot.
ALTER TABLE reporting.status_history ADD COLUMN valid_from_source text NOT NULL DEFAULT 'snapshot';
COMMENT ON COLUMN reporting.status_history.valid_from_source IS 'Where valid_from comes from: audits (Register''s audit trail of the trainee''s state), events (RECT''s event log), training_periods (its withdrawn_at or deferred_at), all three when the source recorded the change; snapshot, the run''s snapshot of the source, when it did not (the change happened between the previous observation and this one).';
COMMENT ON COLUMN reporting.status_history.valid_from IS 'When this status began: the time the source recorded the change where it did (valid_from_source), otherwise when a run first observed it (the time of its source snapshot, UTC). Versions before the first run are rebuilt from the audit trail and the event log.';
