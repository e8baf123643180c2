-- Register trainee teachers (DFE-Digital/register-trainee-teachers): every
-- table a nightshift contract reads, translated column for column from the
-- service's db/schema.rb at commit ce1126541c2107c9fbfce47b18c794b0973aaac1
-- (schema version 2026_06_09_164710, Rails 8.1). Names, types, nullability,
-- defaults, enums, indexes and foreign keys are the real ones — including
-- the columns nightshift does not read — so that `nightshift check` against
-- this database says what it would say against production. Columns are in
-- schema.rb's (alphabetical) order; only the names matter to nightshift.
-- How to re-check against a newer schema.rb: README, "Source contracts".
--
-- Run once, on an empty database. The seed (internal/seed) fills the tables
-- below; this file itself inserts only what the application ships as
-- reference data: Rails' migration bookkeeping, academic cycles and
-- withdrawal reasons. Its fixed timestamps keep seeded databases identical.

CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE EXTENSION IF NOT EXISTS citext;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Rails' bookkeeping: the preflight reads schema_migrations to learn the
-- source's schema version.
CREATE TABLE schema_migrations (
    version varchar PRIMARY KEY
);

CREATE TABLE ar_internal_metadata (
    key varchar PRIMARY KEY,
    value varchar,
    created_at timestamp(6) NOT NULL,
    updated_at timestamp(6) NOT NULL
);

-- data-migrate gem: one-off data fixes, versioned apart from the schema.
CREATE TABLE data_migrations (
    version varchar PRIMARY KEY
);

CREATE TYPE future_interest_type AS ENUM ('yes', 'no', 'unknown');
CREATE TYPE trigger_type AS ENUM ('provider', 'trainee');

CREATE TABLE providers (
    id bigserial PRIMARY KEY,
    accreditation_id varchar,
    accredited boolean DEFAULT true NOT NULL,
    apply_sync_enabled boolean DEFAULT false,
    code varchar,
    created_at timestamp(6) NOT NULL,
    discarded_at timestamp(6),
    dttp_id uuid,
    name varchar NOT NULL,
    searchable tsvector,
    ukprn varchar,
    updated_at timestamp(6) NOT NULL
);
CREATE UNIQUE INDEX index_providers_on_accreditation_id ON providers (accreditation_id);
CREATE INDEX index_providers_on_discarded_at ON providers (discarded_at);
CREATE UNIQUE INDEX index_providers_on_dttp_id ON providers (dttp_id);
CREATE INDEX index_providers_on_searchable ON providers USING gin (searchable);

-- One row per academic year, 1 August to 31 July. The exclusion constraint
-- is the application's guarantee that cycles never overlap.
CREATE TABLE academic_cycles (
    id bigserial PRIMARY KEY,
    created_at timestamp(6) NOT NULL,
    end_date date NOT NULL,
    start_date date NOT NULL,
    updated_at timestamp(6) NOT NULL,
    CONSTRAINT academic_cycles_date_range EXCLUDE USING gist (tsrange((start_date)::timestamp without time zone, (end_date)::timestamp without time zone) WITH &&)
);

CREATE TABLE schools (
    id bigserial PRIMARY KEY,
    close_date date,
    created_at timestamp(6) NOT NULL,
    name varchar NOT NULL,
    open_date date,
    postcode varchar,
    searchable tsvector,
    town varchar,
    updated_at timestamp(6) NOT NULL,
    urn varchar NOT NULL
);
CREATE INDEX index_schools_on_close_date ON schools (close_date) WHERE (close_date IS NULL);
CREATE INDEX index_schools_on_searchable ON schools USING gin (searchable);
CREATE UNIQUE INDEX index_schools_on_urn ON schools (urn);

CREATE TABLE training_partners (
    id bigserial PRIMARY KEY,
    created_at timestamp(6) NOT NULL,
    discarded_at timestamp(6),
    name varchar,
    provider_id bigint,
    record_type varchar NOT NULL,
    school_id bigint,
    ukprn citext,
    updated_at timestamp(6) NOT NULL,
    urn citext
);
CREATE INDEX index_training_partners_on_discarded_at ON training_partners (discarded_at);
CREATE INDEX index_training_partners_on_name ON training_partners (name);
CREATE UNIQUE INDEX index_training_partners_on_provider_id ON training_partners (provider_id);
CREATE UNIQUE INDEX index_training_partners_on_school_id ON training_partners (school_id);
CREATE UNIQUE INDEX index_training_partners_on_ukprn ON training_partners (ukprn);
CREATE UNIQUE INDEX index_training_partners_on_urn ON training_partners (urn);

CREATE TABLE withdrawal_reasons (
    id bigserial PRIMARY KEY,
    created_at timestamp(6) NOT NULL,
    name varchar NOT NULL,
    updated_at timestamp(6) NOT NULL
);
CREATE UNIQUE INDEX index_withdrawal_reasons_on_name ON withdrawal_reasons (name);

-- One row per teacher-training record: a person registered twice has two
-- rows, so trn is indexed but not unique. Small integers are Rails enums
-- (see app/models/trainee.rb and config/initializers/*).
CREATE TABLE trainees (
    id bigserial PRIMARY KEY,
    additional_dttp_data jsonb,
    additional_ethnic_background text,
    application_choice_id integer,
    apply_application_id bigint,
    applying_for_bursary boolean,
    applying_for_grant boolean,
    applying_for_scholarship boolean,
    awarded_at timestamp,
    bursary_tier integer,
    commencement_status integer,
    course_allocation_subject_id bigint,
    course_education_phase integer,
    course_max_age integer,
    course_min_age integer,
    course_subject_one text,
    course_subject_three text,
    course_subject_two text,
    course_uuid uuid,
    created_at timestamp(6) NOT NULL,
    created_from_dttp boolean DEFAULT false NOT NULL,
    created_from_hesa boolean DEFAULT false NOT NULL,
    date_of_birth date,
    defer_date date,
    defer_reason varchar,
    disability_disclosure integer,
    discarded_at timestamp,
    diversity_disclosure integer,
    dormancy_dttp_id uuid,
    dttp_id uuid,
    dttp_update_sha varchar,
    ebacc boolean DEFAULT false,
    email text,
    employing_school_id bigint,
    employing_school_not_applicable boolean DEFAULT false,
    end_academic_cycle_id bigint,
    ethnic_background text,
    ethnic_group integer,
    first_names text,
    funding_eligibility varchar,
    hesa_editable boolean DEFAULT false,
    hesa_id varchar,
    hesa_updated_at timestamp,
    iqts_country varchar,
    itt_end_date date,
    itt_start_date date,
    last_name text,
    middle_names text,
    outcome_date date,
    placement_assignment_dttp_id uuid,
    placement_detail integer,
    progress jsonb DEFAULT '{}'::jsonb,
    provider_id bigint NOT NULL,
    provider_trainee_id text,
    recommended_for_award_at timestamp,
    record_source varchar,
    region varchar,
    reinstate_date date,
    searchable tsvector,
    sex integer,
    slug citext NOT NULL,
    slug_sent_to_trs_at timestamp(6),
    start_academic_cycle_id bigint,
    state integer DEFAULT 0,
    study_mode integer,
    submission_ready boolean DEFAULT false,
    submitted_for_trn_at timestamp,
    trainee_start_date date,
    training_initiative integer,
    training_partner_id bigint,
    training_partner_not_applicable boolean DEFAULT false,
    training_route integer,
    trn varchar,
    updated_at timestamp(6) NOT NULL
);
CREATE INDEX index_trainees_on_apply_application_id ON trainees (apply_application_id);
CREATE INDEX index_trainees_on_course_allocation_subject_id ON trainees (course_allocation_subject_id);
CREATE INDEX index_trainees_on_course_uuid ON trainees (course_uuid);
CREATE INDEX index_trainees_on_disability_disclosure ON trainees (disability_disclosure);
CREATE INDEX index_trainees_on_discarded_at__record_source__provider__state ON trainees (discarded_at, record_source, provider_id, state);
CREATE INDEX index_trainees_on_discarded_at ON trainees (discarded_at);
CREATE INDEX index_trainees_on_diversity_disclosure ON trainees (diversity_disclosure);
CREATE INDEX index_trainees_on_dttp_id ON trainees (dttp_id);
CREATE INDEX index_trainees_on_employing_school_id ON trainees (employing_school_id);
CREATE INDEX index_trainees_on_end_academic_cycle_id ON trainees (end_academic_cycle_id);
CREATE INDEX index_trainees_on_ethnic_group ON trainees (ethnic_group);
CREATE INDEX index_trainees_on_hesa_id ON trainees (hesa_id);
CREATE INDEX index_trainees_on_placement_detail ON trainees (placement_detail);
CREATE INDEX index_trainees_on_progress ON trainees USING gin (progress);
CREATE INDEX index_trainees_on_provider_id ON trainees (provider_id);
CREATE INDEX index_trainees_on_searchable ON trainees USING gin (searchable);
CREATE INDEX index_trainees_on_sex ON trainees (sex);
CREATE UNIQUE INDEX index_trainees_on_slug ON trainees (slug);
CREATE INDEX index_trainees_on_start_academic_cycle_id ON trainees (start_academic_cycle_id);
CREATE INDEX index_trainees_on_state ON trainees (state);
CREATE INDEX index_trainees_on_submission_ready ON trainees (submission_ready);
CREATE INDEX index_trainees_on_training_partner_id ON trainees (training_partner_id);
CREATE INDEX index_trainees_on_training_route ON trainees (training_route);
CREATE INDEX index_trainees_on_trn ON trainees (trn);

-- A withdrawal and why. "Undo withdrawal" discards the row (discarded_at)
-- rather than deleting it, so a live trainee can have discarded withdrawals.
CREATE TABLE trainee_withdrawals (
    id bigserial PRIMARY KEY,
    another_reason varchar,
    created_at timestamp(6) NOT NULL,
    date date,
    discarded_at timestamp(6),
    future_interest future_interest_type,
    safeguarding_concern_reasons varchar,
    trainee_id bigint NOT NULL,
    trigger trigger_type,
    updated_at timestamp(6) NOT NULL
);
CREATE INDEX index_trainee_withdrawals_on_discarded_at ON trainee_withdrawals (discarded_at);
CREATE INDEX index_trainee_withdrawals_on_trainee_id ON trainee_withdrawals (trainee_id);

-- Links reasons either to a withdrawal (current) or straight to the trainee
-- (the legacy relation, trainee_withdrawal_id NULL).
CREATE TABLE trainee_withdrawal_reasons (
    id bigserial PRIMARY KEY,
    created_at timestamp(6) NOT NULL,
    trainee_id bigint,
    trainee_withdrawal_id bigint,
    updated_at timestamp(6) NOT NULL,
    withdrawal_reason_id bigint NOT NULL
);
CREATE UNIQUE INDEX uniq_idx_trainee_withdawal_reasons ON trainee_withdrawal_reasons (trainee_id, withdrawal_reason_id);
CREATE INDEX index_trainee_withdrawal_reasons_on_trainee_id ON trainee_withdrawal_reasons (trainee_id);
CREATE UNIQUE INDEX uniq_idx_trainee_withdrawal_id_withdrawal_reason_id ON trainee_withdrawal_reasons (trainee_withdrawal_id, withdrawal_reason_id);
CREATE INDEX index_trainee_withdrawal_reasons_on_withdrawal_reason_id ON trainee_withdrawal_reasons (withdrawal_reason_id);

CREATE TABLE audits (
    id bigserial PRIMARY KEY,
    action varchar,
    associated_id integer,
    associated_type varchar,
    auditable_id integer,
    auditable_type varchar,
    audited_changes jsonb,
    comment varchar,
    created_at timestamp,
    remote_address varchar,
    request_uuid varchar,
    user_id integer,
    user_type varchar,
    username varchar,
    version integer DEFAULT 0
);
CREATE INDEX associated_index ON audits (associated_type, associated_id);
CREATE INDEX auditable_index ON audits (auditable_type, auditable_id, version);
CREATE INDEX index_audits_on_created_at ON audits (created_at);
CREATE INDEX index_audits_on_request_uuid ON audits (request_uuid);
CREATE INDEX user_index ON audits (user_id, user_type);

ALTER TABLE trainee_withdrawal_reasons ADD FOREIGN KEY (trainee_withdrawal_id) REFERENCES trainee_withdrawals (id);
ALTER TABLE trainee_withdrawal_reasons ADD FOREIGN KEY (trainee_id) REFERENCES trainees (id);
ALTER TABLE trainee_withdrawal_reasons ADD FOREIGN KEY (withdrawal_reason_id) REFERENCES withdrawal_reasons (id);
ALTER TABLE trainee_withdrawals ADD FOREIGN KEY (trainee_id) REFERENCES trainees (id);
ALTER TABLE trainees ADD FOREIGN KEY (end_academic_cycle_id) REFERENCES academic_cycles (id);
ALTER TABLE trainees ADD FOREIGN KEY (start_academic_cycle_id) REFERENCES academic_cycles (id);
ALTER TABLE trainees ADD FOREIGN KEY (provider_id) REFERENCES providers (id);
ALTER TABLE trainees ADD FOREIGN KEY (employing_school_id) REFERENCES schools (id);
ALTER TABLE trainees ADD FOREIGN KEY (training_partner_id) REFERENCES training_partners (id);
ALTER TABLE training_partners ADD FOREIGN KEY (provider_id) REFERENCES providers (id);
ALTER TABLE training_partners ADD FOREIGN KEY (school_id) REFERENCES schools (id);

-- Reference data -----------------------------------------------------------

-- The newest twenty schema migrations; the last is the schema.rb version.
INSERT INTO schema_migrations (version) VALUES
    ('20250721121140'), ('20250924110432'), ('20250924114053'), ('20250926143021'),
    ('20250930124630'), ('20251007092157'), ('20251007154220'), ('20251124091459'),
    ('20251201153100'), ('20251209113730'), ('20251218132249'), ('20260107160743'),
    ('20260114115229'), ('20260115110603'), ('20260129104853'), ('20260216094052'),
    ('20260224114129'), ('20260303085049'), ('20260304100000'), ('20260609164710');

INSERT INTO data_migrations (version) VALUES
    ('20251017112816'), ('20251121144836'), ('20251218132700'), ('20260109120000'),
    ('20260303085150'), ('20260615135058'), ('20260616141818'), ('20260626144911'),
    ('20260630120000'), ('20260720101609');

INSERT INTO ar_internal_metadata (key, value, created_at, updated_at) VALUES
    ('environment', 'production', '2021-01-12 09:41:07.114092', '2021-01-12 09:41:07.114092');

-- config/initializers/academic_cycles.rb: 1 August to 31 July, from 2015/16.
INSERT INTO academic_cycles (start_date, end_date, created_at, updated_at)
SELECT make_date(y, 8, 1), make_date(y + 1, 7, 31),
       timestamp '2021-06-28 10:15:00' + (y - 2015) * interval '1 second',
       timestamp '2021-06-28 10:15:00' + (y - 2015) * interval '1 second'
FROM generate_series(2015, 2026) AS y
ORDER BY y;

-- config/initializers/withdrawal_reasons.rb, in its SEED order: seven legacy
-- reasons, six from June 2023, twenty from November 2024 (safeguarding
-- concerns arrived with migration 20251007092157).
INSERT INTO withdrawal_reasons (name, created_at, updated_at)
SELECT name, created_at, created_at
FROM (VALUES
    (1, 'death', timestamp '2023-06-20 14:02:11'),
    (2, 'did_not_pass_assessment', timestamp '2023-06-20 14:02:11'),
    (3, 'did_not_pass_exams', timestamp '2023-06-20 14:02:11'),
    (4, 'exclusion', timestamp '2023-06-20 14:02:11'),
    (5, 'personal_reasons', timestamp '2023-06-20 14:02:11'),
    (6, 'transferred_to_another_provider', timestamp '2023-06-20 14:02:11'),
    (7, 'written_off_after_lapse_of_time', timestamp '2023-06-20 14:02:11'),
    (8, 'course_was_not_suitable', timestamp '2023-06-20 14:02:12'),
    (9, 'family_problems', timestamp '2023-06-20 14:02:12'),
    (10, 'financial_problems', timestamp '2023-06-20 14:02:12'),
    (11, 'got_a_job', timestamp '2023-06-20 14:02:12'),
    (12, 'problems_with_their_health', timestamp '2023-06-20 14:02:12'),
    (13, 'unhappy_with_course_provider_or_employing_school', timestamp '2023-06-20 14:02:12'),
    (14, 'unacceptable_behaviour', timestamp '2024-11-21 16:30:45'),
    (15, 'lack_of_progress_during_placements', timestamp '2024-11-21 16:30:45'),
    (16, 'did_not_make_progress', timestamp '2024-11-21 16:30:45'),
    (17, 'could_not_give_enough_time', timestamp '2024-11-21 16:30:45'),
    (18, 'did_not_meet_entry_requirements', timestamp '2024-11-21 16:30:45'),
    (19, 'teaching_placement_problems', timestamp '2024-11-21 16:30:45'),
    (20, 'does_not_want_to_become_a_teacher', timestamp '2024-11-21 16:30:45'),
    (21, 'stopped_responding_to_messages', timestamp '2024-11-21 16:30:45'),
    (22, 'record_added_in_error', timestamp '2024-11-21 16:30:45'),
    (23, 'mandatory_reasons', timestamp '2024-11-21 16:30:45'),
    (24, 'not_meeting_qts_standards', timestamp '2024-11-21 16:30:45'),
    (25, 'change_in_personal_or_health_circumstances', timestamp '2024-11-21 16:30:45'),
    (26, 'never_intended_to_obtain_qts', timestamp '2024-11-21 16:30:45'),
    (27, 'moved_to_different_itt_course', timestamp '2024-11-21 16:30:45'),
    (28, 'had_to_withdraw_trainee_another_reason', timestamp '2024-11-21 16:30:45'),
    (29, 'trainee_chose_to_withdraw_another_reason', timestamp '2024-11-21 16:30:45'),
    (30, 'trainee_workload_issues', timestamp '2024-11-21 16:30:45'),
    (31, 'another_reason', timestamp '2024-11-21 16:30:45'),
    (32, 'unknown', timestamp '2024-11-21 16:30:45'),
    (33, 'safeguarding_concerns', timestamp '2025-10-07 09:21:57')
) AS r (position, name, created_at)
ORDER BY position;
