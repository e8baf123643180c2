SELECT t.*, p.name AS provider_name
FROM trainees t
LEFT JOIN providers p ON p.id = t.provider_id
WHERE t.discarded_at IS NULL
