-- A run stages every entity out of analysts' sight and then publishes them
-- all in one transaction (issue 12). The ledger says what each run was asked
-- to do, so that `nightshift retry` can replay it, and whether and when it
-- changed the targets.
ALTER TABLE nightshift.runs
    -- What the run was asked to do: its kind (full, backfill, restore), its
    -- entities and, for a backfill, its window; for a restore, its targets.
    ADD COLUMN spec                  jsonb NOT NULL DEFAULT '{}',
    -- The run this one retries (nightshift retry), if any.
    ADD COLUMN retry_of              bigint REFERENCES nightshift.runs (id),
    -- When the warehouse publish committed. NULL: the run changed nothing in
    -- the warehouse's reporting schema.
    ADD COLUMN published_at          timestamptz,
    -- When every entity of the run reached BigQuery (NULL: not, or partly).
    ADD COLUMN bigquery_published_at timestamptz,
    -- When the run's terminal notification was claimed for sending: a run
    -- is notified once, whichever process finds it ended or dead.
    ADD COLUMN notified_at           timestamptz;

COMMENT ON COLUMN nightshift.runs.spec IS 'What the run was asked to do: kind (full, backfill, restore), entities, window or restore targets.';
COMMENT ON COLUMN nightshift.runs.published_at IS 'When the run''s one warehouse publish transaction committed; NULL means the run changed nothing analysts see.';
COMMENT ON COLUMN nightshift.runs.bigquery_published_at IS 'When every entity of the run had reached BigQuery; NULL means BigQuery was not (fully) updated by this run.';

-- Which run's data each target table holds, slot by slot: current (what
-- analysts read), previous (what the current one replaced, kept to
-- restore) and discarded (what a restore took out, kept to undo it).
CREATE TABLE nightshift.table_versions (
    target     text        NOT NULL CHECK (target IN ('warehouse', 'bigquery')),
    entity     text        NOT NULL,
    slot       text        NOT NULL CHECK (slot IN ('current', 'previous', 'discarded')),
    -- The run whose extract the table holds.
    run_id     bigint      NOT NULL,
    rows       bigint,
    -- The run that put it in this slot: a publish, or a restore.
    placed_by  bigint      NOT NULL,
    placed_at  timestamptz NOT NULL DEFAULT now(),
    -- Deferred: a restore swaps two slots in one statement.
    PRIMARY KEY (target, entity, slot) DEFERRABLE INITIALLY DEFERRED
);
COMMENT ON TABLE nightshift.table_versions IS 'Which run''s data each reporting table (current), its __previous and its __discarded hold, in the warehouse and in BigQuery.';
