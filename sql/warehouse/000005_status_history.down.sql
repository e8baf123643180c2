DROP FUNCTION IF EXISTS reporting.statuses_as_of(timestamptz);
DROP TABLE IF EXISTS reporting.status_history;
