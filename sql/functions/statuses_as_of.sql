-- arguments: at timestamptz
-- returns: entity_type text, entity_id bigint, status text, valid_from timestamptz, valid_to timestamptz
-- description: Every entity's status as nightshift knew it at the given moment.
SELECT h.entity_type, h.entity_id, h.status, h.valid_from, h.valid_to
FROM {{table "status_history"}} h
WHERE h.valid_from <= {{ident "at"}} AND (h.valid_to IS NULL OR h.valid_to > {{ident "at"}})
