-- depends on: trainees, audits, trainee_withdrawals, trainee_withdrawal_reasons, withdrawal_reasons, status_history
-- description: What happened to each trainee, one row per happening in order (seq, from 1 per trainee; happened_at, then a fixed order of kinds): kind created, state_changed, updated or destroyed (Register's audits of the trainee: state changes say from → to by the names of trainees.state_name, updates list the columns that changed and never their values), related_change (an audit of a record filed under the trainee, e.g. a Degree), status_changed (reporting.status_history: when the status history dates the status), withdrawn and withdrawal_undone (trainee_withdrawals, why = who decided and the reasons), course_started and course_expected_end (itt_start_date, itt_end_date at midnight UTC). who is a kind of author, never a person: the audit's user_type (User), 'import, API or job' when Register names none, nightshift for status history. source and source_id name the row it comes from. In BigQuery with pii: drop, the personal columns' keys are not in audited_changes, so an update lists only the others.
WITH audit_rows AS (
    -- The trainee's own audits. An update that changed the state says
    -- from → to by name; any other column it changed is listed by name.
    SELECT a.auditable_id AS trainee_id, a.created_at AS happened_at,
           CASE WHEN a.action = 'update' AND {{jsonText "a.audited_changes" "state" 1}} IS NOT NULL
                     OR a.action = 'update' AND {{jsonText "a.audited_changes" "state" 0}} IS NOT NULL THEN 'state_changed'
                WHEN a.action = 'create' THEN 'created' WHEN a.action = 'destroy' THEN 'destroyed'
                ELSE 'updated' END AS kind,
           CASE WHEN a.action = 'create' THEN 'created as ' || coalesce({{label "trainees.state" (jsonText "a.audited_changes" "state")}}, 'no state')
                WHEN a.action = 'destroy' THEN 'destroyed'
                WHEN {{jsonText "a.audited_changes" "state" 1}} IS NOT NULL OR {{jsonText "a.audited_changes" "state" 0}} IS NOT NULL
                THEN 'state: ' || coalesce({{label "trainees.state" (jsonText "a.audited_changes" "state" 0)}}, 'none')
                     || ' → ' || coalesce({{label "trainees.state" (jsonText "a.audited_changes" "state" 1)}}, 'none')
                     || coalesce('; also changed: ' || (SELECT STRING_AGG(k, ', ' ORDER BY k) FROM {{jsonKeys "a.audited_changes"}} AS k WHERE k <> 'state'), '')
                ELSE 'changed: ' || coalesce((SELECT STRING_AGG(k, ', ' ORDER BY k) FROM {{jsonKeys "a.audited_changes"}} AS k), 'nothing listed')
           END AS what,
           coalesce(a.user_type, 'import, API or job') AS who, CAST(NULL AS {{type "text"}}) AS why, 'audits' AS source, a.id AS source_id
    FROM {{table "audits"}} a
    WHERE a.auditable_type = 'Trainee' AND a.auditable_id IS NOT NULL AND a.created_at IS NOT NULL
    UNION ALL
    -- Records filed under the trainee (degrees, placements): which model
    -- and what was done to it, no values.
    SELECT r.associated_id, r.created_at, 'related_change',
           coalesce(r.auditable_type, 'record') || ': ' || coalesce(r.action, 'changed'),
           coalesce(r.user_type, 'import, API or job'), NULL, 'audits', r.id
    FROM {{table "audits"}} r
    WHERE r.associated_type = 'Trainee' AND r.associated_id IS NOT NULL AND r.created_at IS NOT NULL
),
withdrawal_rows AS (
    -- A withdrawal on its date (at midnight UTC; when it was recorded for
    -- the legacy ones without a date), why = who decided and the reasons;
    -- an undone one again when it was undone.
    SELECT w.trainee_id, coalesce({{utcMidnight "w.date"}}, w.created_at) AS happened_at, 'withdrawn' AS kind, 'withdrawn' AS what,
           CAST(NULL AS {{type "text"}}) AS who,
           'decided by ' || coalesce(w.trigger, 'unknown') || coalesce('; reasons: ' || (
               SELECT STRING_AGG(wr.name, ', ' ORDER BY wr.name)
               FROM {{table "trainee_withdrawal_reasons"}} twr
               JOIN {{table "withdrawal_reasons"}} wr ON wr.id = twr.withdrawal_reason_id
               WHERE twr.trainee_withdrawal_id = w.id), '') AS why,
           'trainee_withdrawals' AS source, w.id AS source_id
    FROM {{table "trainee_withdrawals"}} w
    UNION ALL
    SELECT u.trainee_id, u.discarded_at, 'withdrawal_undone', 'withdrawal undone', NULL, NULL, 'trainee_withdrawals', u.id
    FROM {{table "trainee_withdrawals"}} u
    WHERE u.discarded_at IS NOT NULL
),
status_rows AS (
    -- Each version of the trainee's status in status_history, from the
    -- status before it.
    SELECT h.entity_id AS trainee_id, h.valid_from AS happened_at, 'status_changed' AS kind,
           'status: ' || CASE WHEN LAG(h.valid_from) OVER (PARTITION BY h.entity_id ORDER BY h.valid_from) IS NULL
                              THEN 'first recorded as ' || coalesce(h.status, 'none')
                              ELSE coalesce(LAG(h.status) OVER (PARTITION BY h.entity_id ORDER BY h.valid_from), 'none') || ' → ' || coalesce(h.status, 'none')
                         END AS what,
           'nightshift' AS who, CAST(NULL AS {{type "text"}}) AS why, 'status_history' AS source, h.entity_id AS source_id
    FROM {{table "status_history"}} h
    WHERE h.entity_type = 'trainee'
),
course_rows AS (
    SELECT t.id AS trainee_id, {{utcMidnight "t.itt_start_date"}} AS happened_at, 'course_started' AS kind, 'ITT course starts' AS what,
           CAST(NULL AS {{type "text"}}) AS who, CAST(NULL AS {{type "text"}}) AS why, 'trainees' AS source, t.id AS source_id
    FROM {{table "trainees"}} t
    WHERE t.itt_start_date IS NOT NULL
    UNION ALL
    SELECT e.id, {{utcMidnight "e.itt_end_date"}}, 'course_expected_end', 'ITT course expected to end', NULL, NULL, 'trainees', e.id
    FROM {{table "trainees"}} e
    WHERE e.itt_end_date IS NOT NULL
),
happenings AS (
    SELECT * FROM audit_rows
    UNION ALL
    SELECT * FROM withdrawal_rows
    UNION ALL
    SELECT * FROM status_rows
    UNION ALL
    SELECT * FROM course_rows
)
SELECT x.trainee_id,
       ROW_NUMBER() OVER (PARTITION BY x.trainee_id ORDER BY x.happened_at, x.kind_order, x.source, x.source_id, x.what) AS seq,
       x.happened_at, x.kind, x.what, x.who, x.why, x.source, x.source_id
FROM (
    SELECT hp.*,
           -- At one moment: a course date before what was recorded that
           -- day, a record's creation before its changes, the status
           -- history (which follows the sources) last.
           CASE hp.kind WHEN 'course_started' THEN 0 WHEN 'created' THEN 1 WHEN 'withdrawn' THEN 3 WHEN 'withdrawal_undone' THEN 4
                WHEN 'status_changed' THEN 5 WHEN 'course_expected_end' THEN 6 ELSE 2 END AS kind_order
    FROM happenings hp
) x
ORDER BY x.trainee_id, seq
