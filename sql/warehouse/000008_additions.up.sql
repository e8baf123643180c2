-- What a run's preflight found in its sources that the contracts do not
-- know of and that did not stop the run (issue 11): a source whose schema
-- version is past the upstream schema.rb the contracts were checked
-- against, source columns no contract reads, types that changed but still
-- convert losslessly. It was only ever a log line; kept with the run, it
-- reaches `nightshift runs`, the notifications and analysts.
ALTER TABLE nightshift.runs
    -- {"sources": [{"source", "version", "checked_against", "newer"}],
    --  "entities": [{"entity", "source", "new_columns": [{"table", "column", "type"}],
    --                "type_changes": [{"table", "column", "contract_type", "source_type"}]}]}
    -- NULL: the run checked no source (a restore, the BigQuery half of a
    -- run, a refused run) or was recorded before this column existed.
    ADD COLUMN additions jsonb;

COMMENT ON COLUMN nightshift.runs.additions IS 'What the run''s preflight found in the sources that the contracts do not know of and that did not stop the run: each source''s schema version against the upstream schema.rb version the contracts were checked against (newer: true when past it), and per entity the new source columns (table, column, type) and compatible type changes (contract_type, source_type). NULL when the run checked no source.';
