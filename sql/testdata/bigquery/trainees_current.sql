SELECT t.*, p.name AS provider_name
FROM `proj.ds.trainees` t
LEFT JOIN `proj.ds.providers` p ON p.id = t.provider_id
WHERE t.discarded_at IS NULL
