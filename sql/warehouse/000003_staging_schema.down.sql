DROP SCHEMA IF EXISTS nightshift_staging CASCADE;
