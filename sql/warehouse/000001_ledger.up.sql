-- The run ledger: every run, every attempt of every step, and the
-- watermarks of incremental entities. Analysts read it too, to see how
-- fresh the data is.
CREATE SCHEMA IF NOT EXISTS nightshift;
-- Entity tables live in reporting; nightshift creates and swaps them.
CREATE SCHEMA IF NOT EXISTS reporting;

CREATE TABLE nightshift.runs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    env           text        NOT NULL,
    trigger       text        NOT NULL CHECK (trigger IN ('schedule', 'manual', 'backfill', 'retry', 'restore')),
    mode          text        NOT NULL DEFAULT 'full',
    entities      text[]      NOT NULL,
    reason        text,
    started_by    text        NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    status        text        NOT NULL DEFAULT 'running'
                  CHECK (status IN ('running', 'succeeded', 'failed', 'aborted', 'abandoned', 'refused')),
    error         text,
    -- schema_migrations version of each source at the start of the run.
    source_versions jsonb     NOT NULL DEFAULT '{}',
    CHECK ((status = 'running') = (finished_at IS NULL))
);
CREATE INDEX runs_started_at ON nightshift.runs (started_at DESC);
CREATE INDEX runs_running ON nightshift.runs (status) WHERE status = 'running';

COMMENT ON TABLE nightshift.runs IS 'One row per nightshift run: who or what started it, why, and how it ended.';
COMMENT ON COLUMN nightshift.runs.trigger IS 'What started the run: schedule, manual, backfill, retry or restore.';
COMMENT ON COLUMN nightshift.runs.heartbeat_at IS 'Refreshed while the run is alive; a stale heartbeat on a running run means its process died.';
COMMENT ON COLUMN nightshift.runs.status IS 'running, succeeded, failed, aborted, abandoned (its process died) or refused (preflight).';

CREATE TABLE nightshift.step_runs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id       bigint      NOT NULL REFERENCES nightshift.runs (id) ON DELETE CASCADE,
    entity       text        NOT NULL,
    step         text        NOT NULL,
    attempt      integer     NOT NULL CHECK (attempt >= 1),
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    status       text        NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'succeeded', 'failed', 'aborted')),
    rows         bigint,
    bytes        bigint,
    checksum     text,
    error        text,
    error_class  text CHECK (error_class IN ('transient', 'permanent')),
    -- What the step produced that a later step or a retry needs (the spool
    -- file and its digest, the source checksum).
    detail       jsonb       NOT NULL DEFAULT '{}',
    UNIQUE (run_id, entity, step, attempt)
);

COMMENT ON TABLE nightshift.step_runs IS 'One row per attempt of a step of an entity in a run.';

CREATE TABLE nightshift.watermarks (
    entity      text PRIMARY KEY,
    value       text        NOT NULL,
    run_id      bigint      NOT NULL REFERENCES nightshift.runs (id),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE nightshift.watermarks IS 'High-water mark of each incremental entity, advanced only after every target of the entity succeeded.';
