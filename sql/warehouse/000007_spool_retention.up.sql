-- The spool directory keeps each run's extracts as Parquet files, personal
-- data included, in run-<id>/ folders. They are deleted by the retention
-- policy (spool.keep_runs, spool.max_age; issue 13), and every deletion is
-- recorded here: which run's files, where, how many bytes, and why.
-- run_id has no foreign key: a folder of a run this ledger does not hold
-- (or a file of no run) is recorded too, and deleting a run's ledger rows
-- must not delete the record that its files were deleted.
CREATE TABLE nightshift.spool_deletions (
    run_id     bigint,
    path       text        NOT NULL,
    bytes      bigint      NOT NULL CHECK (bytes >= 0),
    reason     text        NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX spool_deletions_run_id ON nightshift.spool_deletions (run_id);

COMMENT ON TABLE nightshift.spool_deletions IS 'Files nightshift deleted from its spool directory (spool.dir) under its retention policy: one row per run folder (or stray file) deleted.';
COMMENT ON COLUMN nightshift.spool_deletions.run_id IS 'The run whose spool folder was deleted (nightshift.runs.id); NULL for a file of no run, such as a BigQuery ledger file a killed process left behind.';
COMMENT ON COLUMN nightshift.spool_deletions.path IS 'Absolute path of the folder or file deleted, on the machine that ran nightshift.';
COMMENT ON COLUMN nightshift.spool_deletions.bytes IS 'Bytes of the regular files deleted.';
COMMENT ON COLUMN nightshift.spool_deletions.reason IS 'Why: max_age (older than spool.max_age), keep_runs (a successful run older than the last spool.keep_runs successful ones), superseded (a run that did not succeed, after a later run succeeded) or stray (a file a killed process left behind).';
COMMENT ON COLUMN nightshift.spool_deletions.deleted_at IS 'When the deletion was recorded, just after the files were removed.';
