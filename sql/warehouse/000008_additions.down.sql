ALTER TABLE nightshift.runs DROP COLUMN IF EXISTS additions;
