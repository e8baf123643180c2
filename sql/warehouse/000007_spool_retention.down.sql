DROP TABLE IF EXISTS nightshift.spool_deletions;
