-- depends on: trainees, providers
-- description: Trainees that are not soft-deleted, with the names of their state, route and other codes, and their provider's name.
SELECT t.*, p.name AS provider_name
FROM {{table "trainees"}} t
LEFT JOIN {{table "providers"}} p ON p.id = t.provider_id
WHERE t.discarded_at IS NULL
