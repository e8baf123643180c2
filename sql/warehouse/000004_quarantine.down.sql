DROP TABLE IF EXISTS nightshift.quarantine;
