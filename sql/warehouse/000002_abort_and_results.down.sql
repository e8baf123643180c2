ALTER TABLE nightshift.runs
    DROP COLUMN abort_requested_at,
    DROP COLUMN abort_requested_by,
    DROP COLUMN abort_reason,
    DROP COLUMN results,
    DROP COLUMN pid;
