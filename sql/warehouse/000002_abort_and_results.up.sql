-- An abort is asked for from another terminal (nightshift abort) by
-- writing it on the run's row; the running process sees it at its next
-- heartbeat and stops.
ALTER TABLE nightshift.runs
    ADD COLUMN abort_requested_at timestamptz,
    ADD COLUMN abort_requested_by text,
    ADD COLUMN abort_reason       text,
    -- How each entity ended ({"trainees": "succeeded", …}), written when the
    -- run finishes; nightshift retry re-runs the others.
    ADD COLUMN results            jsonb,
    -- The process that ran it, to tell who holds the run lock.
    ADD COLUMN pid                integer;

COMMENT ON COLUMN nightshift.runs.abort_reason IS 'Why an operator asked to abort the run (nightshift abort --reason).';
COMMENT ON COLUMN nightshift.runs.results IS 'Final status of each entity of the run.';
