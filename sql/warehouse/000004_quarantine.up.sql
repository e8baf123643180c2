-- Source rows that cannot arrive exactly in every target (an infinite date,
-- a year outside 1..9999) are set aside here, never dropped silently and
-- never allowed to fail a whole run. Source rows = loaded + quarantined.
CREATE TABLE nightshift.quarantine (
    run_id      bigint      NOT NULL REFERENCES nightshift.runs (id) ON DELETE CASCADE,
    entity      text        NOT NULL,
    key         text        NOT NULL,
    column_name text        NOT NULL,
    value       text        NOT NULL,
    reason      text        NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, entity, key)
);
COMMENT ON TABLE nightshift.quarantine IS 'Source rows set aside by a run because a value could not be loaded exactly: which row (key), which column, the value as text and why.';
