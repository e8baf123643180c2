-- The history of every status nightshift extracts (entities marked History
-- in their contract: register_statuses, rect_statuses), as type-2 rows: a
-- change closes the current version and opens a new one; no change adds
-- nothing; an entity gone from the source has its version closed.
CREATE TABLE reporting.status_history (
    entity_type      text        NOT NULL,
    entity_id        bigint      NOT NULL,
    status           text,
    valid_from       timestamptz NOT NULL,
    valid_to         timestamptz,
    is_current       boolean     NOT NULL,
    -- The statuses entity the row came from, and the runs that opened and
    -- closed it.
    origin           text        NOT NULL,
    run_id           bigint      NOT NULL,
    closed_by_run_id bigint,
    PRIMARY KEY (entity_type, entity_id, valid_from),
    CHECK (is_current = (valid_to IS NULL)),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX status_history_current ON reporting.status_history (entity_type, entity_id) WHERE is_current;
CREATE INDEX status_history_origin_current ON reporting.status_history (origin) WHERE is_current;

COMMENT ON TABLE reporting.status_history IS 'Every status of every trainee, declaration, teacher induction and training period as observed by nightshift runs: one row per version, valid from when a run first saw it until a run saw it change or disappear.';
COMMENT ON COLUMN reporting.status_history.entity_type IS 'trainee, declaration_payment, declaration_clawback, teacher_induction or training_period.';
COMMENT ON COLUMN reporting.status_history.entity_id IS 'Id of the entity in its source table.';
COMMENT ON COLUMN reporting.status_history.status IS 'The status during this version.';
COMMENT ON COLUMN reporting.status_history.valid_from IS 'When a run first observed this status (the time of its source snapshot, UTC). The change itself happened between the previous observation and this one.';
COMMENT ON COLUMN reporting.status_history.valid_to IS 'When a run first observed a different status, or the entity gone; NULL for the current version.';
COMMENT ON COLUMN reporting.status_history.is_current IS 'True for the version in force now.';
COMMENT ON COLUMN reporting.status_history.origin IS 'The nightshift entity the status was read from (register_statuses or rect_statuses).';
COMMENT ON COLUMN reporting.status_history.run_id IS 'The run that opened this version (nightshift.runs.id).';
COMMENT ON COLUMN reporting.status_history.closed_by_run_id IS 'The run that closed this version.';

-- Statuses as of any moment: SELECT * FROM reporting.statuses_as_of('2026-03-01').
CREATE FUNCTION reporting.statuses_as_of(at timestamptz)
RETURNS TABLE (entity_type text, entity_id bigint, status text, valid_from timestamptz, valid_to timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT h.entity_type, h.entity_id, h.status, h.valid_from, h.valid_to
    FROM reporting.status_history h
    WHERE h.valid_from <= at AND (h.valid_to IS NULL OR h.valid_to > at)
$$;
COMMENT ON FUNCTION reporting.statuses_as_of(timestamptz) IS 'Every entity''s status as nightshift knew it at the given moment.';
