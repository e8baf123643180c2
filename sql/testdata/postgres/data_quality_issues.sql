WITH periods AS (
    SELECT 'induction' AS kind, ip.id, ip.teacher_id, ip.started_on, ip.finished_on FROM induction_periods ip
    UNION ALL
    SELECT 'ect_at_school', e.id, e.teacher_id, e.started_on, e.finished_on FROM ect_at_school_periods e
    UNION ALL
    SELECT 'mentor_at_school', m.id, m.teacher_id, m.started_on, m.finished_on FROM mentor_at_school_periods m
    UNION ALL
    SELECT 'training', tp.id, coalesce(e.teacher_id, m.teacher_id), tp.started_on, tp.finished_on
    FROM training_periods tp
    LEFT JOIN ect_at_school_periods e ON e.id = tp.ect_at_school_period_id
    LEFT JOIN mentor_at_school_periods m ON m.id = tp.mentor_at_school_period_id
)
-- Two periods of one kind for one teacher that overlap. The services'
-- ranges include both ends, so a period finishing on the day the next one
-- starts overlaps it by that day; an open period (finished_on NULL) has no
-- end.
SELECT 'overlapping_periods' AS issue, a.kind, a.teacher_id, CAST(NULL AS bigint) AS training_period_id,
       a.id AS first_id, b.id AS second_id,
       CASE WHEN a.finished_on = b.started_on OR b.finished_on = a.started_on
            THEN 'overlap of one day: one finishes on the day the other starts'
            ELSE 'periods overlap' END AS detail
FROM periods a
JOIN periods b ON b.kind = a.kind AND b.teacher_id = a.teacher_id AND b.id > a.id
WHERE a.started_on <= coalesce(b.finished_on, DATE '9999-12-31')
  AND b.started_on <= coalesce(a.finished_on, DATE '9999-12-31')
UNION ALL
-- More than one open (ongoing) period of one kind for one teacher. A
-- mentor may legitimately be open at several schools at once, so mentor
-- periods are left out.
SELECT 'several_open_periods', p.kind, p.teacher_id, NULL, min(p.id), max(p.id),
       CAST(count(*) AS text) || ' open periods'
FROM periods p
WHERE p.finished_on IS NULL AND p.teacher_id IS NOT NULL AND p.kind <> 'mentor_at_school'
GROUP BY p.kind, p.teacher_id
HAVING count(*) > 1
UNION ALL
-- Two billable declarations of one type for one training period: the
-- service forbids it, the database's unique index does not (it includes
-- payment_status).
SELECT 'eligible_and_paid_same_type', 'declaration', NULL, a.training_period_id, a.id, b.id,
       a.declaration_type || ': ' || a.payment_status || ' and ' || b.payment_status
FROM declarations a
JOIN declarations b ON b.training_period_id = a.training_period_id AND b.declaration_type = a.declaration_type AND b.id > a.id
WHERE a.clawback_status = 'no_clawback' AND b.clawback_status = 'no_clawback'
  AND a.payment_status IN ('eligible', 'payable', 'paid') AND b.payment_status IN ('eligible', 'payable', 'paid')
