DROP TABLE nightshift.table_versions;
ALTER TABLE nightshift.runs
    DROP COLUMN spec,
    DROP COLUMN retry_of,
    DROP COLUMN published_at,
    DROP COLUMN bigquery_published_at,
    DROP COLUMN notified_at;
