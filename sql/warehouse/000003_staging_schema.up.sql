-- Loads are staged here, out of analysts' sight: a table killed halfway
-- through its COPY is never visible in reporting, and the next load of the
-- entity drops it.
CREATE SCHEMA IF NOT EXISTS nightshift_staging;
COMMENT ON SCHEMA nightshift_staging IS 'Tables being loaded by nightshift; moved into reporting in one transaction when complete.';
