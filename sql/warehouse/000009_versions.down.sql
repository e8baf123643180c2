ALTER TABLE reporting.status_history DROP COLUMN valid_from_source;
COMMENT ON COLUMN reporting.status_history.valid_from IS 'When a run first observed this status (the time of its source snapshot, UTC). The change itself happened between the previous observation and this one.';
DROP TABLE nightshift.versions_applied;
