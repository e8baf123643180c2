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
