-- depends on: induction_periods, ect_at_school_periods, mentor_at_school_periods, training_periods, mentorship_periods
CREATE VIEW teacher_timeline AS
SELECT p.teacher_id, p.kind, p.period_id, p.started_on, p.finished_on, p.school_id, p.detail
FROM (
    SELECT ip.teacher_id, 'induction' AS kind, ip.id AS period_id, ip.started_on, ip.finished_on,
           NULL::bigint AS school_id, ip.induction_programme AS detail
    FROM induction_periods ip
    UNION ALL
    SELECT e.teacher_id, 'ect_at_school', e.id, e.started_on, e.finished_on, e.school_id, e.working_pattern
    FROM ect_at_school_periods e
    UNION ALL
    SELECT m.teacher_id, 'mentor_at_school', m.id, m.started_on, m.finished_on, m.school_id, NULL
    FROM mentor_at_school_periods m
    UNION ALL
    SELECT coalesce(e.teacher_id, m.teacher_id), 'training', tp.id, tp.started_on, tp.finished_on,
           coalesce(e.school_id, m.school_id), tp.training_programme
    FROM training_periods tp
    LEFT JOIN ect_at_school_periods e ON e.id = tp.ect_at_school_period_id
    LEFT JOIN mentor_at_school_periods m ON m.id = tp.mentor_at_school_period_id
    UNION ALL
    SELECT e.teacher_id, 'mentored', mp.id, mp.started_on, mp.finished_on, e.school_id, 'by teacher ' || m.teacher_id
    FROM mentorship_periods mp
    JOIN ect_at_school_periods e ON e.id = mp.ect_at_school_period_id
    JOIN mentor_at_school_periods m ON m.id = mp.mentor_at_school_period_id
    UNION ALL
    SELECT m.teacher_id, 'mentoring', mp.id, mp.started_on, mp.finished_on, m.school_id, 'teacher ' || e.teacher_id
    FROM mentorship_periods mp
    JOIN ect_at_school_periods e ON e.id = mp.ect_at_school_period_id
    JOIN mentor_at_school_periods m ON m.id = mp.mentor_at_school_period_id
) p
ORDER BY p.teacher_id, p.started_on, p.kind, p.period_id;

COMMENT ON VIEW teacher_timeline IS 'Every period of every teacher in date order: induction, at school as an ECT or a mentor, training, mentored and mentoring. finished_on NULL means ongoing.';
