-- depends on: trainees, providers
CREATE VIEW trainees_current AS
SELECT t.*, p.name AS provider_name
FROM trainees t
LEFT JOIN providers p ON p.id = t.provider_id
WHERE t.discarded_at IS NULL;

COMMENT ON VIEW trainees_current IS 'Trainees that are not soft-deleted, with the names of their state, route and other codes, and their provider''s name.';
