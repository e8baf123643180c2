WITH periods AS (
    -- Every period of a teacher, as the periods-only timeline had them,
    -- with the table it is in and why it finished where the table says.
    SELECT ip.teacher_id, 'induction' AS period_kind, ip.id AS period_id, ip.started_on, ip.finished_on,
           CAST(NULL AS bigint) AS school_id, ip.induction_programme AS detail, 'induction_periods' AS source,
           'outcome: ' || ip.outcome AS why_finished
    FROM induction_periods ip
    UNION ALL
    SELECT e.teacher_id, 'ect_at_school', e.id, e.started_on, e.finished_on, e.school_id, e.working_pattern, 'ect_at_school_periods', NULL
    FROM ect_at_school_periods e
    UNION ALL
    SELECT m.teacher_id, 'mentor_at_school', m.id, m.started_on, m.finished_on, m.school_id, NULL, 'mentor_at_school_periods', NULL
    FROM mentor_at_school_periods m
    UNION ALL
    -- A training period finishes when deferred or withdrawn: the later of
    -- the two says why, as rect_statuses decides its status.
    SELECT coalesce(te.teacher_id, tm.teacher_id), 'training', tp.id, tp.started_on, tp.finished_on,
           coalesce(te.school_id, tm.school_id), tp.training_programme, 'training_periods',
           CASE WHEN tp.withdrawn_at IS NOT NULL AND (tp.deferred_at IS NULL OR tp.withdrawn_at >= tp.deferred_at)
                THEN 'withdrawn: ' || coalesce(tp.withdrawal_reason, 'no reason given')
                WHEN tp.deferred_at IS NOT NULL THEN 'deferred: ' || coalesce(tp.deferral_reason, 'no reason given') END
    FROM training_periods tp
    LEFT JOIN ect_at_school_periods te ON te.id = tp.ect_at_school_period_id
    LEFT JOIN mentor_at_school_periods tm ON tm.id = tp.mentor_at_school_period_id
    UNION ALL
    SELECT me.teacher_id, 'mentored', mp.id, mp.started_on, mp.finished_on, me.school_id, 'by teacher ' || CAST(mm.teacher_id AS text),
           'mentorship_periods', NULL
    FROM mentorship_periods mp
    JOIN ect_at_school_periods me ON me.id = mp.ect_at_school_period_id
    JOIN mentor_at_school_periods mm ON mm.id = mp.mentor_at_school_period_id
    UNION ALL
    SELECT gm.teacher_id, 'mentoring', gp.id, gp.started_on, gp.finished_on, gm.school_id, 'teacher ' || CAST(ge.teacher_id AS text),
           'mentorship_periods', NULL
    FROM mentorship_periods gp
    JOIN ect_at_school_periods ge ON ge.id = gp.ect_at_school_period_id
    JOIN mentor_at_school_periods gm ON gm.id = gp.mentor_at_school_period_id
),
happenings AS (
    SELECT ev.teacher_id, ev.happened_at, 'event' AS kind, ev.event_type AS what, ev.author_type AS who, CAST(NULL AS text) AS why,
           'events' AS source, ev.id AS source_id, CAST(NULL AS text) AS period_kind, ev.school_id
    FROM events ev
    WHERE ev.teacher_id IS NOT NULL AND ev.happened_at IS NOT NULL
    UNION ALL
    -- A period's start, and its finish once it has one, from one read of
    -- the periods: PostgreSQL computes a CTE read twice whole, before a
    -- filter on teacher_id can reach it.
    SELECT pe.teacher_id,
           CASE ends.kind WHEN 'period_started' THEN (CAST(pe.started_on AS timestamp) AT TIME ZONE 'UTC') ELSE (CAST(pe.finished_on AS timestamp) AT TIME ZONE 'UTC') END,
           ends.kind,
           pe.period_kind || CASE ends.kind WHEN 'period_started' THEN ' period started' ELSE ' period finished' END || coalesce(': ' || pe.detail, ''),
           NULL, CASE ends.kind WHEN 'period_finished' THEN pe.why_finished END, pe.source, pe.period_id, pe.period_kind, pe.school_id
    FROM periods pe
    CROSS JOIN (SELECT 'period_started' AS kind UNION ALL SELECT 'period_finished') ends
    WHERE ends.kind = 'period_started' OR pe.finished_on IS NOT NULL
    UNION ALL
    SELECT dt.teacher_id, d.declaration_date, 'declaration', d.declaration_type, 'lead_provider_api', NULL, 'declarations', d.id, 'training', dt.school_id
    FROM declarations d
    JOIN (
    -- The teacher and school of each training period; written out where it
    -- is read, since PostgreSQL computes a CTE read more than once whole.
    SELECT tp.id, coalesce(te.teacher_id, tm.teacher_id) AS teacher_id, coalesce(te.school_id, tm.school_id) AS school_id
    FROM training_periods tp
    LEFT JOIN ect_at_school_periods te ON te.id = tp.ect_at_school_period_id
    LEFT JOIN mentor_at_school_periods tm ON tm.id = tp.mentor_at_school_period_id
) dt ON dt.id = d.training_period_id
    UNION ALL
    -- Each status version, from the status before it. The window is
    -- partitioned by teacher too (an entity has one teacher), so that a
    -- filter on teacher_id is applied before it, not after.
    SELECT si.entity_id, si.valid_from, 'status_changed', 'induction: ' || si.change, 'nightshift', NULL, 'status_history', si.entity_id, NULL, NULL
    FROM (
        SELECT hi.entity_id, hi.valid_from,
               CASE WHEN LAG(hi.valid_from) OVER (PARTITION BY hi.entity_id ORDER BY hi.valid_from) IS NULL
                    THEN 'first recorded as ' || coalesce(hi.status, 'none')
                    ELSE coalesce(LAG(hi.status) OVER (PARTITION BY hi.entity_id ORDER BY hi.valid_from), 'none') || ' → ' || coalesce(hi.status, 'none')
               END AS change
        FROM status_history hi
        WHERE hi.entity_type = 'teacher_induction'
    ) si
    UNION ALL
    SELECT s.teacher_id, s.valid_from, 'status_changed', s.label || ': ' || s.change, 'nightshift', NULL, 'status_history', s.entity_id, 'training', s.school_id
    FROM (
        SELECT sj.teacher_id, sj.school_id, sj.label, h.entity_id, h.valid_from,
               CASE WHEN LAG(h.valid_from) OVER (PARTITION BY sj.teacher_id, h.entity_type, h.entity_id ORDER BY h.valid_from) IS NULL
                    THEN 'first recorded as ' || coalesce(h.status, 'none')
                    ELSE coalesce(LAG(h.status) OVER (PARTITION BY sj.teacher_id, h.entity_type, h.entity_id ORDER BY h.valid_from), 'none')
                         || ' → ' || coalesce(h.status, 'none')
               END AS change
        FROM status_history h
        JOIN (
            -- The teacher's training periods and their declarations.
            SELECT 'training_period' AS entity_type, st.id AS entity_id, st.teacher_id, st.school_id, 'training period' AS label
            FROM (
    -- The teacher and school of each training period; written out where it
    -- is read, since PostgreSQL computes a CTE read more than once whole.
    SELECT tp.id, coalesce(te.teacher_id, tm.teacher_id) AS teacher_id, coalesce(te.school_id, tm.school_id) AS school_id
    FROM training_periods tp
    LEFT JOIN ect_at_school_periods te ON te.id = tp.ect_at_school_period_id
    LEFT JOIN mentor_at_school_periods tm ON tm.id = tp.mentor_at_school_period_id
) st
            UNION ALL
            SELECT dk.entity_type, sd.id, sdt.teacher_id, sdt.school_id, dk.label
            FROM declarations sd
            JOIN (
    -- The teacher and school of each training period; written out where it
    -- is read, since PostgreSQL computes a CTE read more than once whole.
    SELECT tp.id, coalesce(te.teacher_id, tm.teacher_id) AS teacher_id, coalesce(te.school_id, tm.school_id) AS school_id
    FROM training_periods tp
    LEFT JOIN ect_at_school_periods te ON te.id = tp.ect_at_school_period_id
    LEFT JOIN mentor_at_school_periods tm ON tm.id = tp.mentor_at_school_period_id
) sdt ON sdt.id = sd.training_period_id
            CROSS JOIN (SELECT 'declaration_payment' AS entity_type, 'declaration payment' AS label
                        UNION ALL SELECT 'declaration_clawback', 'declaration clawback') dk
        ) sj ON sj.entity_type = h.entity_type AND sj.entity_id = h.entity_id
    ) s
)
SELECT x.teacher_id,
       ROW_NUMBER() OVER (PARTITION BY x.teacher_id ORDER BY x.happened_at, x.kind_order, x.source, x.source_id, x.what) AS seq,
       x.happened_at, x.kind, x.what, x.who, x.why, x.source, x.source_id, x.period_kind, x.school_id
FROM (
    SELECT hp.*,
           -- At one moment: periods start before what is recorded that day,
           -- the status history (which follows the sources) comes after it,
           -- and a period finishes last.
           CASE hp.kind WHEN 'period_started' THEN 0 WHEN 'event' THEN 1 WHEN 'declaration' THEN 2 WHEN 'status_changed' THEN 3 ELSE 4 END AS kind_order
    FROM happenings hp
) x
ORDER BY x.teacher_id, seq
