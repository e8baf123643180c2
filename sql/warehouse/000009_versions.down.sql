DROP TABLE nightshift.versions_applied;
