-- Register early career teachers (DFE-Digital/register-early-career-teachers-public):
-- every table a nightshift contract reads, translated column for column
-- from the service's db/schema.rb at commit
-- 0fe31d1aa91b56da779eaf576228149b793a5926 (schema version 2026_08_13_112837,
-- Rails 8.1). Names, types, nullability, defaults, enums, generated columns,
-- indexes and foreign keys are the real ones — including the columns
-- nightshift does not read — so that `nightshift check` against this
-- database says what it would say against production. Columns are in
-- schema.rb's (alphabetical) order. How to re-check against a newer
-- schema.rb: README, "Source contracts".
--
-- Like the real database, and unlike Register trainee teachers, there is no
-- exclusion constraint on the *_periods tables: the application alone keeps
-- sibling periods from overlapping, so migrated and admin-edited rows can
-- overlap, and the seed plants some that do.
--
-- Run once, on an empty database. The seed (internal/seed) fills the tables.

CREATE EXTENSION IF NOT EXISTS citext;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;

-- The application's text search configuration (a migration creates it):
-- the generated "search" columns of teachers and gias_schools use it.
CREATE TEXT SEARCH CONFIGURATION unaccented (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION unaccented
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;

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

CREATE TYPE anonymisation_reasons AS ENUM ('registered_in_error', 'teacher_record_merged');
CREATE TYPE appropriate_body_type AS ENUM ('local_authority', 'national', 'teaching_school_hub');
CREATE TYPE contract_types AS ENUM ('ecf', 'ittecf_ectp');
CREATE TYPE declaration_clawback_statuses AS ENUM ('no_clawback', 'awaiting_clawback', 'clawed_back');
CREATE TYPE declaration_payment_statuses AS ENUM ('no_payment', 'eligible', 'payable', 'paid', 'voided');
CREATE TYPE declaration_types AS ENUM ('started', 'retained-1', 'retained-2', 'retained-3', 'retained-4', 'completed', 'extended-1', 'extended-2', 'extended-3');
CREATE TYPE deferral_reasons AS ENUM ('bereavement', 'long_term_sickness', 'parental_leave', 'career_break', 'other');
CREATE TYPE dfe_role_type AS ENUM ('admin', 'user_manager', 'finance', 'product_team');
CREATE TYPE event_author_types AS ENUM ('appropriate_body_user', 'school_user', 'dfe_staff_user', 'system', 'lead_provider_api');
CREATE TYPE evidence_types AS ENUM ('training-event-attended', 'self-study-material-completed', 'materials-engaged-with-offline', '75-percent-engagement-met', '75-percent-engagement-met-reduced-induction', 'one-term-induction', 'other');
CREATE TYPE fee_types AS ENUM ('output', 'service');
CREATE TYPE gias_school_statuses AS ENUM ('open', 'closed', 'proposed_to_close', 'proposed_to_open');
CREATE TYPE induction_outcomes AS ENUM ('fail', 'pass');
CREATE TYPE induction_programme AS ENUM ('cip', 'fip', 'diy', 'unknown', 'pre_september_2021');
CREATE TYPE mentor_became_ineligible_for_funding_reason AS ENUM ('completed_declaration_received', 'completed_during_early_roll_out', 'started_not_completed');
CREATE TYPE participant_migration_mode AS ENUM ('latest_induction_records', 'all_induction_records', 'not_migrated');
CREATE TYPE schedule_identifiers AS ENUM ('ecf-extended-april', 'ecf-extended-january', 'ecf-extended-september', 'ecf-reduced-april', 'ecf-reduced-january', 'ecf-reduced-september', 'ecf-replacement-april', 'ecf-replacement-january', 'ecf-replacement-september', 'ecf-standard-april', 'ecf-standard-january', 'ecf-standard-september');
CREATE TYPE statement_statuses AS ENUM ('open', 'payable', 'paid');
CREATE TYPE training_programme AS ENUM ('provider_led', 'school_led');
CREATE TYPE trs_responses AS ENUM ('ok', 'not_found', 'gone', 'permanent_redirect');
CREATE TYPE withdrawal_reasons AS ENUM ('left_teaching_profession', 'moved_school', 'mentor_no_longer_being_mentor', 'switched_to_school_led', 'other', 'changed_lead_provider');
CREATE TYPE working_pattern AS ENUM ('part_time', 'full_time');

-- DfE staff; declarations voided by hand point here.
CREATE TABLE users (
    id bigserial PRIMARY KEY,
    created_at timestamp(6) NOT NULL,
    email citext NOT NULL,
    name varchar NOT NULL,
    otp_failed_attempts integer DEFAULT 0 NOT NULL,
    otp_locked_at timestamp(6),
    otp_school_urn integer,
    otp_secret varchar,
    otp_verified_at timestamp(6),
    role dfe_role_type DEFAULT 'admin'::dfe_role_type NOT NULL,
    updated_at timestamp(6) NOT NULL
);
CREATE UNIQUE INDEX index_users_on_email ON users (email);

CREATE TABLE dfe_sign_in_organisations (
    id bigserial PRIMARY KEY,
    address varchar,
    category varchar,
    company_registration_number varchar,
    created_at timestamp(6) NOT NULL,
    first_authenticated_at timestamp(6),
    last_authenticated_at timestamp(6),
    name varchar NOT NULL,
    organisation_type varchar,
    status varchar,
    updated_at timestamp(6) NOT NULL,
    urn varchar,
    uuid uuid NOT NULL
);
CREATE UNIQUE INDEX index_dfe_sign_in_organisations_on_name ON dfe_sign_in_organisations (name);
CREATE UNIQUE INDEX index_dfe_sign_in_organisations_on_urn ON dfe_sign_in_organisations (urn);
CREATE UNIQUE INDEX index_dfe_sign_in_organisations_on_uuid ON dfe_sign_in_organisations (uuid);

CREATE TABLE appropriate_bodies (
    id bigserial PRIMARY KEY,
    created_at timestamp(6) NOT NULL,
    dfe_sign_in_organisation_id bigint NOT NULL,
    name varchar NOT NULL,
    updated_at timestamp(6) NOT NULL
);
CREATE INDEX index_appropriate_bodies_on_dfe_sign_in_organisation_id ON appropriate_bodies (dfe_sign_in_organisation_id);

-- An appropriate body as it was over a span of time; legacy ones (from
-- DQT) have no appropriate_body_id.
CREATE TABLE appropriate_body_periods (
    id bigserial PRIMARY KEY,
    appropriate_body_id bigint,
    body_type appropriate_body_type DEFAULT 'teaching_school_hub'::appropriate_body_type,
    created_at timestamp(6) NOT NULL,
    dfe_sign_in_organisation_id uuid,
    dqt_id uuid,
    name varchar NOT NULL,
    updated_at timestamp(6) NOT NULL
);
CREATE INDEX index_appropriate_body_periods_on_appropriate_body_id ON appropriate_body_periods (appropriate_body_id);
CREATE UNIQUE INDEX index_appropriate_body_periods_on_dfe_sign_in_organisation_id ON appropriate_body_periods (dfe_sign_in_organisation_id);

-- Get information about schools (GIAS), keyed by URN.
CREATE TABLE gias_schools (
    urn bigserial PRIMARY KEY,
    address_line1 varchar,
    address_line2 varchar,
    address_line3 varchar,
    administrative_district_name varchar,
    closed_on date,
    created_at timestamp(6) NOT NULL,
    eligible boolean DEFAULT false NOT NULL,
    establishment_number integer,
    in_england boolean NOT NULL,
    local_authority_code integer NOT NULL,
    local_authority_name varchar,
    name varchar NOT NULL,
    opened_on date,
    phase_name varchar,
    postcode varchar,
    primary_contact_email varchar,
    search tsvector GENERATED ALWAYS AS (to_tsvector('unaccented'::regconfig, ((((COALESCE((name)::text, ''::text) || ' '::text) || COALESCE((postcode)::text, ''::text)) || ' '::text) || COALESCE((urn)::text, ''::text)))) STORED,
    secondary_contact_email varchar,
    section_41_approved boolean NOT NULL,
    status gias_school_statuses DEFAULT 'open'::gias_school_statuses NOT NULL,
    type_name varchar NOT NULL,
    ukprn integer,
    updated_at timestamp(6) NOT NULL,
    website varchar
);
CREATE INDEX index_gias_schools_on_name ON gias_schools (name);
CREATE INDEX index_gias_schools_on_search ON gias_schools USING gin (search);
CREATE UNIQUE INDEX index_gias_schools_on_ukprn ON gias_schools (ukprn);

-- A cohort year: the contract period runs June to May.
CREATE TABLE contract_periods (
    year serial PRIMARY KEY,
    created_at timestamp(6) NOT NULL,
    detailed_evidence_types_enabled boolean DEFAULT false NOT NULL,
    enabled boolean DEFAULT false,
    finished_on date,
    mentor_funding_enabled boolean DEFAULT false NOT NULL,
    payments_frozen_at timestamp(6),
    range daterange GENERATED ALWAYS AS (daterange(started_on, finished_on, '[]'::text)) STORED,
    started_on date,
    updated_at timestamp(6) NOT NULL,
    uplift_fees_enabled boolean DEFAULT true NOT NULL,
    CONSTRAINT finished_on_not_before_started_on CHECK (finished_on >= started_on)
);
CREATE UNIQUE INDEX index_contract_periods_on_year ON contract_periods (year);

CREATE TABLE lead_providers (
    id bigserial PRIMARY KEY,
    created_at timestamp(6) NOT NULL,
    ecf_cpd_lead_provider_id uuid,
    ecf_id uuid,
    name varchar NOT NULL,
    updated_at timestamp(6) NOT NULL,
    vat_registered boolean DEFAULT true NOT NULL
);
CREATE UNIQUE INDEX index_lead_providers_on_ecf_id ON lead_providers (ecf_id);
CREATE UNIQUE INDEX index_lead_providers_on_name ON lead_providers (name);

CREATE TABLE schools (
    id bigserial PRIMARY KEY,
    api_id uuid DEFAULT gen_random_uuid() NOT NULL,
    created_at timestamp(6) NOT NULL,
    induction_tutor_email citext,
    induction_tutor_last_nominated_in integer,
    induction_tutor_name varchar,
    last_chosen_appropriate_body_id bigint,
    last_chosen_lead_provider_id bigint,
    last_chosen_training_programme training_programme,
    marked_as_eligible boolean DEFAULT false NOT NULL,
    opted_out_of_reminder_emails_until date,
    updated_at timestamp(6) NOT NULL,
    urn integer NOT NULL
);
CREATE UNIQUE INDEX index_schools_on_api_id ON schools (api_id);
CREATE INDEX index_schools_on_last_chosen_appropriate_body_id ON schools (last_chosen_appropriate_body_id);
CREATE INDEX index_schools_on_last_chosen_lead_provider_id ON schools (last_chosen_lead_provider_id);
CREATE UNIQUE INDEX schools_unique_urn ON schools (urn);

CREATE TABLE delivery_partners (
    id bigserial PRIMARY KEY,
    api_id uuid DEFAULT gen_random_uuid() NOT NULL,
    api_updated_at timestamp(6) DEFAULT CURRENT_TIMESTAMP,
    created_at timestamp(6) NOT NULL,
    name varchar NOT NULL,
    updated_at timestamp(6) NOT NULL
);
CREATE UNIQUE INDEX index_delivery_partners_on_api_id ON delivery_partners (api_id);
CREATE UNIQUE INDEX index_delivery_partners_on_name ON delivery_partners (name);

-- A lead provider contracted for one cohort year.
CREATE TABLE active_lead_providers (
    id bigserial PRIMARY KEY,
    contract_period_year bigint NOT NULL,
    created_at timestamp(6) NOT NULL,
    lead_provider_id bigint NOT NULL,
    updated_at timestamp(6) NOT NULL
);
CREATE INDEX index_active_lead_providers_on_contract_period_year ON active_lead_providers (contract_period_year);
CREATE UNIQUE INDEX idx_on_lead_provider_id_contract_period_year_e442ca2260 ON active_lead_providers (lead_provider_id, contract_period_year);
CREATE INDEX index_active_lead_providers_on_lead_provider_id ON active_lead_providers (lead_provider_id);

-- In the real schema neither this table nor school_partnerships has a
-- foreign key to the provider chain; only the unique pairs hold it together.
CREATE TABLE lead_provider_delivery_partnerships (
    id bigserial PRIMARY KEY,
    active_lead_provider_id bigint NOT NULL,
    created_at timestamp(6) NOT NULL,
    delivery_partner_id bigint NOT NULL,
    ecf_id uuid,
    updated_at timestamp(6) NOT NULL
);
CREATE UNIQUE INDEX idx_on_active_lead_provider_id_delivery_partner_id_3c66d9e812 ON lead_provider_delivery_partnerships (active_lead_provider_id, delivery_partner_id);
CREATE INDEX idx_lpdps_active_lead_provider ON lead_provider_delivery_partnerships (active_lead_provider_id);
CREATE INDEX idx_on_active_lead_provider_id_2f96b67fbb ON lead_provider_delivery_partnerships (active_lead_provider_id);
CREATE INDEX idx_on_delivery_partner_id_fcb95e8215 ON lead_provider_delivery_partnerships (delivery_partner_id);
CREATE UNIQUE INDEX index_lead_provider_delivery_partnerships_on_ecf_id ON lead_provider_delivery_partnerships (ecf_id);

CREATE TABLE school_partnerships (
    id bigserial PRIMARY KEY,
    api_id uuid DEFAULT gen_random_uuid() NOT NULL,
    api_updated_at timestamp(6) DEFAULT CURRENT_TIMESTAMP,
    created_at timestamp(6) NOT NULL,
    lead_provider_delivery_partnership_id bigint NOT NULL,
    school_id bigint NOT NULL,
    updated_at timestamp(6) NOT NULL
);
CREATE UNIQUE INDEX index_school_partnerships_on_api_id ON school_partnerships (api_id);
CREATE INDEX idx_on_lead_provider_delivery_partnership_id_628487f752 ON school_partnerships (lead_provider_delivery_partnership_id);
CREATE UNIQUE INDEX idx_on_school_id_lead_provider_delivery_partnership_7b2d6a6684 ON school_partnerships (school_id, lead_provider_delivery_partnership_id);

CREATE TABLE schedules (
    id bigserial PRIMARY KEY,
    contract_period_year integer NOT NULL,
    created_at timestamp(6) NOT NULL,
    identifier schedule_identifiers NOT NULL,
    updated_at timestamp(6) NOT NULL
);
CREATE UNIQUE INDEX index_schedules_on_contract_period_year_and_identifier ON schedules (contract_period_year, identifier);

-- When each declaration type may be made; milestone_date is NULL until
-- DfE publishes it.
CREATE TABLE milestones (
    id bigserial PRIMARY KEY,
    created_at timestamp(6) NOT NULL,
    declaration_type declaration_types NOT NULL,
    milestone_date date,
    schedule_id bigint,
    start_date date NOT NULL,
    updated_at timestamp(6) NOT NULL
);
CREATE UNIQUE INDEX index_milestones_on_schedule_id_and_declaration_type ON milestones (schedule_id, declaration_type);
CREATE INDEX index_milestones_on_schedule_id ON milestones (schedule_id);

CREATE TABLE contracts (
    id bigserial PRIMARY KEY,
    active_lead_provider_id bigint NOT NULL,
    contract_type contract_types NOT NULL,
    created_at timestamp(6) NOT NULL,
    updated_at timestamp(6) NOT NULL,
    vat_rate numeric(3,2) DEFAULT '0.2' NOT NULL
);
CREATE INDEX index_contracts_on_active_lead_provider_id ON contracts (active_lead_provider_id);

CREATE TABLE contract_flat_rate_fee_structures (
    id bigserial PRIMARY KEY,
    contract_id bigint NOT NULL,
    created_at timestamp(6) NOT NULL,
    fee_per_declaration numeric(12,2) NOT NULL,
    recruitment_target integer NOT NULL,
    updated_at timestamp(6) NOT NULL
);
CREATE INDEX index_contract_flat_rate_fee_structures_on_contract_id ON contract_flat_rate_fee_structures (contract_id);
CREATE UNIQUE INDEX index_flat_rate_fee_structures_on_contract_id_unique_not_null ON contract_flat_rate_fee_structures (contract_id) WHERE (contract_id IS NOT NULL);

CREATE TABLE contract_banded_fee_structures (
    id bigserial PRIMARY KEY,
    contract_id bigint NOT NULL,
    created_at timestamp(6) NOT NULL,
    monthly_service_fee numeric(12,2),
    recruitment_target integer NOT NULL,
    setup_fee numeric(12,2) NOT NULL,
    updated_at timestamp(6) NOT NULL,
    uplift_fee_per_declaration numeric(12,2) NOT NULL,
    uplift_target_ratio numeric(5,4)
);
CREATE UNIQUE INDEX index_banded_fee_structures_on_contract_id_unique_not_null ON contract_banded_fee_structures (contract_id) WHERE (contract_id IS NOT NULL);
CREATE INDEX index_contract_banded_fee_structures_on_contract_id ON contract_banded_fee_structures (contract_id);

CREATE TABLE contract_banded_fee_structure_band_terms (
    id bigserial PRIMARY KEY,
    band_id bigint NOT NULL,
    banded_fee_structure_id bigint NOT NULL,
    created_at timestamp(6) NOT NULL,
    fee_per_declaration numeric(12,2) NOT NULL,
    output_fee_ratio numeric(3,2) NOT NULL,
    service_fee_ratio numeric(3,2) NOT NULL,
    updated_at timestamp(6) NOT NULL
);
CREATE INDEX index_contract_banded_fee_structure_band_terms_on_band_id ON contract_banded_fee_structure_band_terms (band_id);
CREATE UNIQUE INDEX idx_on_banded_fee_structure_id_band_id_04f5837f9d ON contract_banded_fee_structure_band_terms (banded_fee_structure_id, band_id);
CREATE INDEX idx_on_banded_fee_structure_id_f857ec5b02 ON contract_banded_fee_structure_band_terms (banded_fee_structure_id);

-- Monthly payment statements of one contract.
CREATE TABLE statements (
    id bigserial PRIMARY KEY,
    api_id uuid DEFAULT gen_random_uuid() NOT NULL,
    api_updated_at timestamp(6) DEFAULT CURRENT_TIMESTAMP,
    contract_id bigint NOT NULL,
    created_at timestamp(6) NOT NULL,
    deadline_date date NOT NULL,
    fee_type fee_types DEFAULT 'output'::fee_types NOT NULL,
    marked_as_paid_at timestamp(6),
    month integer NOT NULL,
    payment_date date NOT NULL,
    status statement_statuses DEFAULT 'open'::statement_statuses NOT NULL,
    updated_at timestamp(6) NOT NULL,
    year integer NOT NULL
);
CREATE INDEX index_statements_on_contract_id ON statements (contract_id);
CREATE INDEX index_statements_on_payment_date ON statements (payment_date);

CREATE TABLE statement_adjustments (
    id bigserial PRIMARY KEY,
    amount numeric NOT NULL,
    created_at timestamp(6) NOT NULL,
    ecf_id uuid,
    payment_type varchar NOT NULL,
    statement_id bigint NOT NULL,
    updated_at timestamp(6) NOT NULL
);
CREATE UNIQUE INDEX index_statement_adjustments_on_ecf_id ON statement_adjustments (ecf_id);
CREATE INDEX index_statement_adjustments_on_statement_id ON statement_adjustments (statement_id);

-- A person, ECT or mentor or both. TRN is unique here (unlike Register
-- trainee teachers) but may be missing for a TRN-less teacher.
CREATE TABLE teachers (
    id bigserial PRIMARY KEY,
    anonymisation_reason anonymisation_reasons,
    anonymised_at timestamp(6),
    api_ect_training_record_id uuid DEFAULT gen_random_uuid() NOT NULL,
    api_id uuid DEFAULT gen_random_uuid() NOT NULL,
    api_mentor_training_record_id uuid DEFAULT gen_random_uuid() NOT NULL,
    api_unfunded_mentor_updated_at timestamp(6) DEFAULT CURRENT_TIMESTAMP,
    api_updated_at timestamp(6) DEFAULT CURRENT_TIMESTAMP,
    corrected_name varchar,
    created_at timestamp(6) NOT NULL,
    ect_became_ineligible_for_funding_on date,
    ect_first_became_eligible_for_training_at timestamp(6),
    ect_payments_frozen_year integer,
    mentor_became_ineligible_for_funding_on date,
    mentor_became_ineligible_for_funding_reason mentor_became_ineligible_for_funding_reason,
    mentor_first_became_eligible_for_training_at timestamp(6),
    mentor_payments_frozen_year integer,
    migration_mode participant_migration_mode DEFAULT 'not_migrated'::participant_migration_mode,
    search tsvector GENERATED ALWAYS AS (to_tsvector('unaccented'::regconfig, (((((COALESCE(trs_first_name, ''::character varying))::text || ' '::text) || (COALESCE(trs_last_name, ''::character varying))::text) || ' '::text) || (COALESCE(corrected_name, ''::character varying))::text))) STORED,
    trn varchar,
    trnless boolean DEFAULT false NOT NULL,
    trs_data_last_refreshed_at timestamp,
    trs_first_name varchar,
    trs_induction_completed_date date,
    trs_induction_start_date date,
    trs_induction_status varchar(18),
    trs_initial_teacher_training_end_date date,
    trs_initial_teacher_training_provider_name varchar,
    trs_last_name varchar,
    trs_qts_awarded_on date,
    trs_qts_status_description varchar,
    trs_redirected_to varchar,
    trs_response trs_responses,
    updated_at timestamp(6) NOT NULL,
    CONSTRAINT check_trn_presence CHECK (trnless OR trn IS NOT NULL)
);
CREATE UNIQUE INDEX index_teachers_on_api_ect_training_record_id ON teachers (api_ect_training_record_id);
CREATE UNIQUE INDEX index_teachers_on_api_id ON teachers (api_id);
CREATE UNIQUE INDEX index_teachers_on_api_mentor_training_record_id ON teachers (api_mentor_training_record_id);
CREATE INDEX index_teachers_on_api_unfunded_mentor_updated_at ON teachers (api_unfunded_mentor_updated_at);
CREATE INDEX index_teachers_on_api_updated_at ON teachers (api_updated_at);
CREATE INDEX index_teachers_on_corrected_name ON teachers (corrected_name);
CREATE INDEX index_teachers_on_created_at ON teachers (created_at);
CREATE INDEX index_teachers_on_search ON teachers USING gin (search);
CREATE UNIQUE INDEX index_teachers_on_trn ON teachers (trn);
CREATE INDEX idx_on_trs_first_name_trs_last_name_corrected_name_6d0edad502 ON teachers USING gin (trs_first_name gin_trgm_ops, trs_last_name gin_trgm_ops, corrected_name gin_trgm_ops);

-- Teachers merged into another: API clients are told the old id moved.
CREATE TABLE teacher_id_changes (
    id bigserial PRIMARY KEY,
    api_from_teacher_id uuid NOT NULL,
    api_to_teacher_id uuid NOT NULL,
    created_at timestamp(6) NOT NULL,
    ecf_id uuid,
    teacher_id bigint NOT NULL,
    updated_at timestamp(6) NOT NULL
);
CREATE INDEX index_teacher_id_changes_on_api_from_teacher_id ON teacher_id_changes (api_from_teacher_id);
CREATE INDEX index_teacher_id_changes_on_api_to_teacher_id ON teacher_id_changes (api_to_teacher_id);
CREATE UNIQUE INDEX index_teacher_id_changes_on_ecf_id ON teacher_id_changes (ecf_id);
CREATE INDEX index_teacher_id_changes_on_teacher_id ON teacher_id_changes (teacher_id);

CREATE TABLE ect_at_school_periods (
    id bigserial PRIMARY KEY,
    created_at timestamp(6) NOT NULL,
    ecf_end_induction_record_id uuid,
    ecf_start_induction_record_id uuid,
    email citext,
    finished_on date,
    range daterange GENERATED ALWAYS AS (daterange(started_on, finished_on, '[]'::text)) STORED,
    reported_leaving_by_school_id bigint,
    school_id bigint NOT NULL,
    school_reported_appropriate_body_id bigint,
    started_on date NOT NULL,
    teacher_id bigint NOT NULL,
    updated_at timestamp(6) NOT NULL,
    working_pattern working_pattern,
    CONSTRAINT finished_on_not_before_started_on CHECK (finished_on >= started_on)
);
CREATE UNIQUE INDEX index_ect_at_school_periods_on_teacher_id_finished_on_IS_NULL ON ect_at_school_periods (teacher_id, ((finished_on IS NULL))) WHERE (finished_on IS NULL);
CREATE INDEX index_ect_at_school_periods_on_reported_leaving_by_school_id ON ect_at_school_periods (reported_leaving_by_school_id);
CREATE UNIQUE INDEX index_ect_at_school_periods_on_school_id_teacher_id_started_on ON ect_at_school_periods (school_id, teacher_id, started_on);
CREATE INDEX index_ect_at_school_periods_on_school_id ON ect_at_school_periods (school_id);
CREATE INDEX idx_on_school_reported_appropriate_body_id_01f5ffc90a ON ect_at_school_periods (school_reported_appropriate_body_id);
CREATE UNIQUE INDEX index_ect_at_school_periods_on_teacher_id_started_on ON ect_at_school_periods (teacher_id, started_on);
CREATE INDEX index_ect_at_school_periods_on_teacher_id ON ect_at_school_periods (teacher_id);

-- A mentor may be ongoing at several schools at once: the open-period
-- index is per (school, teacher).
CREATE TABLE mentor_at_school_periods (
    id bigserial PRIMARY KEY,
    created_at timestamp(6) NOT NULL,
    ecf_end_induction_record_id uuid,
    ecf_start_induction_record_id uuid,
    email citext,
    finished_on date,
    range daterange GENERATED ALWAYS AS (daterange(started_on, finished_on, '[]'::text)) STORED,
    reported_leaving_by_school_id bigint,
    school_id bigint NOT NULL,
    started_on date NOT NULL,
    teacher_id bigint NOT NULL,
    updated_at timestamp(6) NOT NULL,
    CONSTRAINT finished_on_not_before_started_on CHECK (finished_on >= started_on)
);
CREATE UNIQUE INDEX idx_on_school_id_teacher_id_finished_on_IS_NULL_dd7ee16a28 ON mentor_at_school_periods (school_id, teacher_id, ((finished_on IS NULL))) WHERE (finished_on IS NULL);
CREATE INDEX idx_on_reported_leaving_by_school_id_6c1d88c6d0 ON mentor_at_school_periods (reported_leaving_by_school_id);
CREATE UNIQUE INDEX idx_on_school_id_teacher_id_started_on_17d46e7783 ON mentor_at_school_periods (school_id, teacher_id, started_on);
CREATE INDEX index_mentor_at_school_periods_on_school_id ON mentor_at_school_periods (school_id);
CREATE INDEX index_mentor_at_school_periods_on_teacher_id ON mentor_at_school_periods (teacher_id);

CREATE TABLE mentorship_periods (
    id bigserial PRIMARY KEY,
    created_at timestamp(6) NOT NULL,
    ecf_end_induction_record_id uuid,
    ecf_start_induction_record_id uuid,
    ect_at_school_period_id bigint NOT NULL,
    finished_on date,
    mentor_at_school_period_id bigint NOT NULL,
    range daterange GENERATED ALWAYS AS (daterange(started_on, finished_on, '[]'::text)) STORED,
    started_on date NOT NULL,
    updated_at timestamp(6) NOT NULL,
    CONSTRAINT finished_on_not_before_started_on CHECK (finished_on >= started_on)
);
CREATE UNIQUE INDEX idx_on_ect_at_school_period_id_finished_on_IS_NULL_afd5cf131d ON mentorship_periods (ect_at_school_period_id, ((finished_on IS NULL))) WHERE (finished_on IS NULL);
CREATE UNIQUE INDEX index_mentorship_periods_on_ect_at_school_period_id_started_on ON mentorship_periods (ect_at_school_period_id, started_on);
CREATE INDEX index_mentorship_periods_on_ect_at_school_period_id ON mentorship_periods (ect_at_school_period_id);
CREATE UNIQUE INDEX idx_on_mentor_at_school_period_id_ect_at_school_per_d69dffeecc ON mentorship_periods (mentor_at_school_period_id, ect_at_school_period_id, started_on);
CREATE INDEX index_mentorship_periods_on_mentor_at_school_period_id ON mentorship_periods (mentor_at_school_period_id);

-- teacher_id is nullable in the database although the model requires it.
CREATE TABLE induction_periods (
    id bigserial PRIMARY KEY,
    appropriate_body_period_id bigint NOT NULL,
    created_at timestamp(6) NOT NULL,
    fail_confirmation_sent_on date,
    finished_on date,
    induction_programme induction_programme NOT NULL,
    number_of_terms double precision,
    outcome induction_outcomes,
    range daterange GENERATED ALWAYS AS (daterange(started_on, finished_on, '[]'::text)) STORED,
    started_on date NOT NULL,
    teacher_id bigint,
    training_programme training_programme,
    updated_at timestamp(6) NOT NULL,
    CONSTRAINT finished_on_not_before_started_on CHECK (finished_on >= started_on)
);
CREATE INDEX index_induction_periods_on_appropriate_body_period_id ON induction_periods (appropriate_body_period_id);
CREATE INDEX index_induction_periods_on_teacher_id ON induction_periods (teacher_id);
CREATE UNIQUE INDEX index_induction_periods_one_outcome_per_teacher ON induction_periods (teacher_id) WHERE (outcome IS NOT NULL);

-- Training of an ECT or a mentor with a lead provider (provider-led) or by
-- the school (school-led). Status is not stored: it is derived from
-- deferred_at and withdrawn_at, the later one winning.
CREATE TABLE training_periods (
    id bigserial PRIMARY KEY,
    api_transfer_updated_at timestamp(6) DEFAULT CURRENT_TIMESTAMP,
    created_at timestamp(6) NOT NULL,
    deferral_reason deferral_reasons,
    deferred_at timestamp(6),
    ecf_end_induction_record_id uuid,
    ecf_start_induction_record_id uuid,
    ect_at_school_period_id bigint,
    expression_of_interest_id bigint,
    finished_on date,
    mentor_at_school_period_id bigint,
    range daterange GENERATED ALWAYS AS (daterange(started_on, finished_on, '[]'::text)) STORED,
    schedule_id bigint,
    school_partnership_id bigint,
    started_on date NOT NULL,
    training_programme training_programme NOT NULL,
    updated_at timestamp(6) NOT NULL,
    withdrawal_reason withdrawal_reasons,
    withdrawn_at timestamp(6),
    CONSTRAINT finished_on_not_before_started_on CHECK (finished_on >= started_on)
);
CREATE UNIQUE INDEX idx_on_ect_at_school_period_id_mentor_at_school_per_42bce3bf48 ON training_periods (ect_at_school_period_id, mentor_at_school_period_id, ((finished_on IS NULL))) WHERE (finished_on IS NULL);
CREATE INDEX idx_training_periods_transfer_updated_ect ON training_periods (api_transfer_updated_at, ect_at_school_period_id) WHERE (ect_at_school_period_id IS NOT NULL);
CREATE INDEX idx_training_periods_transfer_updated_mentor ON training_periods (api_transfer_updated_at, mentor_at_school_period_id) WHERE (mentor_at_school_period_id IS NOT NULL);
CREATE INDEX idx_training_periods_transfer_updated_partnership ON training_periods (api_transfer_updated_at, school_partnership_id);
CREATE INDEX index_training_periods_on_api_transfer_updated_at ON training_periods (api_transfer_updated_at);
CREATE UNIQUE INDEX idx_on_ect_at_school_period_id_mentor_at_school_per_70f2bb1a45 ON training_periods (ect_at_school_period_id, mentor_at_school_period_id, started_on);
CREATE INDEX idx_training_periods_ect_started_on ON training_periods (ect_at_school_period_id, started_on);
CREATE INDEX index_training_periods_on_ect_at_school_period_id ON training_periods (ect_at_school_period_id);
CREATE INDEX index_training_periods_on_expression_of_interest_id ON training_periods (expression_of_interest_id);
CREATE INDEX idx_training_periods_mentor_started_on ON training_periods (mentor_at_school_period_id, started_on);
CREATE INDEX index_training_periods_on_mentor_at_school_period_id ON training_periods (mentor_at_school_period_id);
CREATE INDEX index_training_periods_on_schedule_id ON training_periods (schedule_id);
CREATE UNIQUE INDEX provider_partnership_trainings ON training_periods (school_partnership_id, ect_at_school_period_id, mentor_at_school_period_id, started_on);
CREATE INDEX index_training_periods_on_school_partnership_id ON training_periods (school_partnership_id);

-- A lead provider's claim for a milestone of a training period. Payment and
-- clawback states change in place. The partial unique index keys on
-- payment_status too, so the database alone allows an 'eligible' and a
-- 'paid' declaration of one type for one training period. Like the real
-- schema, training_period_id and mentorship_period_id have no foreign key.
CREATE TABLE declarations (
    id bigserial PRIMARY KEY,
    api_id uuid DEFAULT gen_random_uuid() NOT NULL,
    api_updated_at timestamp(6) DEFAULT CURRENT_TIMESTAMP,
    clawback_statement_id bigint,
    clawback_status declaration_clawback_statuses DEFAULT 'no_clawback'::declaration_clawback_statuses NOT NULL,
    created_at timestamp(6) NOT NULL,
    declaration_date timestamp(6) DEFAULT CURRENT_TIMESTAMP NOT NULL,
    declaration_type declaration_types DEFAULT 'started'::declaration_types NOT NULL,
    delivery_partner_when_created_id bigint NOT NULL,
    evidence_type evidence_types,
    mentorship_period_id bigint,
    payment_statement_id bigint,
    payment_status declaration_payment_statuses DEFAULT 'no_payment'::declaration_payment_statuses NOT NULL,
    pupil_premium_uplift boolean DEFAULT false NOT NULL,
    sparsity_uplift boolean DEFAULT false NOT NULL,
    training_period_id bigint,
    updated_at timestamp(6) NOT NULL,
    voided_by_user_at timestamp(6),
    voided_by_user_id bigint
);
CREATE UNIQUE INDEX index_declarations_on_api_id ON declarations (api_id);
CREATE INDEX index_declarations_on_clawback_statement_id ON declarations (clawback_statement_id);
CREATE INDEX index_declarations_on_delivery_partner_when_created_id ON declarations (delivery_partner_when_created_id);
CREATE INDEX index_declarations_on_mentorship_period_id ON declarations (mentorship_period_id);
CREATE INDEX index_declarations_on_payment_statement_id ON declarations (payment_statement_id);
CREATE UNIQUE INDEX idx_unique_declarations ON declarations (training_period_id, declaration_type, payment_status) WHERE ((payment_status = ANY (ARRAY['no_payment'::declaration_payment_statuses, 'eligible'::declaration_payment_statuses, 'payable'::declaration_payment_statuses, 'paid'::declaration_payment_statuses])) AND (clawback_status = 'no_clawback'::declaration_clawback_statuses));
CREATE INDEX index_declarations_on_training_period_id ON declarations (training_period_id);
CREATE INDEX index_declarations_on_updated_at ON declarations (updated_at);
CREATE INDEX index_declarations_on_voided_by_user_id ON declarations (voided_by_user_id);

CREATE TABLE events (
    id bigserial PRIMARY KEY,
    active_lead_provider_id bigint,
    appropriate_body_period_id integer,
    author_email citext,
    author_id integer,
    author_name text,
    author_type event_author_types NOT NULL,
    body text,
    contract_period_id bigint,
    created_at timestamp(6) NOT NULL,
    declaration_id bigint,
    delivery_partner_id integer,
    ect_at_school_period_id integer,
    event_type text,
    happened_at timestamp(6) DEFAULT CURRENT_TIMESTAMP,
    heading text,
    induction_extension_id integer,
    induction_period_id integer,
    lead_provider_delivery_partnership_id bigint,
    lead_provider_id integer,
    mentor_at_school_period_id integer,
    mentorship_period_id integer,
    metadata jsonb,
    modifications varchar[],
    pending_induction_submission_batch_id bigint,
    schedule_id bigint,
    school_id integer,
    school_partnership_id integer,
    statement_adjustment_id bigint,
    statement_id bigint,
    teacher_id integer,
    training_period_id integer,
    updated_at timestamp(6) NOT NULL,
    user_id integer,
    zendesk_ticket_id integer
);
CREATE INDEX index_events_on_active_lead_provider_id ON events (active_lead_provider_id);
CREATE INDEX index_events_on_appropriate_body_period_id ON events (appropriate_body_period_id);
CREATE INDEX index_events_on_author_email ON events (author_email);
CREATE INDEX index_events_on_author_id ON events (author_id);
CREATE INDEX index_events_on_contract_period_id ON events (contract_period_id);
CREATE INDEX index_events_on_declaration_id ON events (declaration_id);
CREATE INDEX index_events_on_delivery_partner_id ON events (delivery_partner_id);
CREATE INDEX index_events_on_ect_at_school_period_id ON events (ect_at_school_period_id);
CREATE INDEX index_events_on_induction_extension_id ON events (induction_extension_id);
CREATE INDEX index_events_on_induction_period_id ON events (induction_period_id);
CREATE INDEX index_events_on_lead_provider_delivery_partnership_id ON events (lead_provider_delivery_partnership_id);
CREATE INDEX index_events_on_lead_provider_id ON events (lead_provider_id);
CREATE INDEX index_events_on_mentor_at_school_period_id ON events (mentor_at_school_period_id);
CREATE INDEX index_events_on_mentorship_period_id ON events (mentorship_period_id);
CREATE INDEX index_events_on_pending_induction_submission_batch_id ON events (pending_induction_submission_batch_id);
CREATE INDEX index_events_on_school_id ON events (school_id);
CREATE INDEX index_events_on_school_partnership_id ON events (school_partnership_id);
CREATE INDEX index_events_on_statement_adjustment_id ON events (statement_adjustment_id);
CREATE INDEX index_events_on_statement_id ON events (statement_id);
CREATE INDEX index_events_on_teacher_id ON events (teacher_id);
CREATE INDEX index_events_on_training_period_id ON events (training_period_id);
CREATE INDEX index_events_on_user_id ON events (user_id);

ALTER TABLE active_lead_providers ADD FOREIGN KEY (contract_period_year) REFERENCES contract_periods (year);
ALTER TABLE active_lead_providers ADD FOREIGN KEY (lead_provider_id) REFERENCES lead_providers (id);
ALTER TABLE appropriate_bodies ADD FOREIGN KEY (dfe_sign_in_organisation_id) REFERENCES dfe_sign_in_organisations (id);
ALTER TABLE appropriate_body_periods ADD FOREIGN KEY (appropriate_body_id) REFERENCES appropriate_bodies (id);
ALTER TABLE contract_banded_fee_structure_band_terms ADD FOREIGN KEY (banded_fee_structure_id) REFERENCES contract_banded_fee_structures (id) ON DELETE CASCADE;
ALTER TABLE contract_banded_fee_structures ADD FOREIGN KEY (contract_id) REFERENCES contracts (id);
ALTER TABLE contract_flat_rate_fee_structures ADD FOREIGN KEY (contract_id) REFERENCES contracts (id);
ALTER TABLE contracts ADD FOREIGN KEY (active_lead_provider_id) REFERENCES active_lead_providers (id);
ALTER TABLE declarations ADD FOREIGN KEY (delivery_partner_when_created_id) REFERENCES delivery_partners (id);
ALTER TABLE declarations ADD FOREIGN KEY (clawback_statement_id) REFERENCES statements (id);
ALTER TABLE declarations ADD FOREIGN KEY (payment_statement_id) REFERENCES statements (id);
ALTER TABLE declarations ADD FOREIGN KEY (voided_by_user_id) REFERENCES users (id);
ALTER TABLE ect_at_school_periods ADD FOREIGN KEY (school_reported_appropriate_body_id) REFERENCES appropriate_body_periods (id);
ALTER TABLE ect_at_school_periods ADD FOREIGN KEY (school_id) REFERENCES schools (id);
ALTER TABLE ect_at_school_periods ADD FOREIGN KEY (reported_leaving_by_school_id) REFERENCES schools (id);
ALTER TABLE ect_at_school_periods ADD FOREIGN KEY (teacher_id) REFERENCES teachers (id);
ALTER TABLE events ADD FOREIGN KEY (active_lead_provider_id) REFERENCES active_lead_providers (id) ON DELETE SET NULL;
ALTER TABLE events ADD FOREIGN KEY (appropriate_body_period_id) REFERENCES appropriate_body_periods (id) ON DELETE SET NULL;
ALTER TABLE events ADD FOREIGN KEY (contract_period_id) REFERENCES contract_periods (year) ON DELETE SET NULL;
ALTER TABLE events ADD FOREIGN KEY (declaration_id) REFERENCES declarations (id) ON DELETE SET NULL;
ALTER TABLE events ADD FOREIGN KEY (delivery_partner_id) REFERENCES delivery_partners (id) ON DELETE SET NULL;
ALTER TABLE events ADD FOREIGN KEY (ect_at_school_period_id) REFERENCES ect_at_school_periods (id) ON DELETE SET NULL;
ALTER TABLE events ADD FOREIGN KEY (induction_period_id) REFERENCES induction_periods (id) ON DELETE SET NULL;
ALTER TABLE events ADD FOREIGN KEY (lead_provider_delivery_partnership_id) REFERENCES lead_provider_delivery_partnerships (id) ON DELETE SET NULL;
ALTER TABLE events ADD FOREIGN KEY (lead_provider_id) REFERENCES lead_providers (id) ON DELETE SET NULL;
ALTER TABLE events ADD FOREIGN KEY (mentor_at_school_period_id) REFERENCES mentor_at_school_periods (id) ON DELETE SET NULL;
ALTER TABLE events ADD FOREIGN KEY (mentorship_period_id) REFERENCES mentorship_periods (id) ON DELETE SET NULL;
ALTER TABLE events ADD FOREIGN KEY (schedule_id) REFERENCES schedules (id) ON DELETE SET NULL;
ALTER TABLE events ADD FOREIGN KEY (school_partnership_id) REFERENCES school_partnerships (id) ON DELETE SET NULL;
ALTER TABLE events ADD FOREIGN KEY (school_id) REFERENCES schools (id) ON DELETE SET NULL;
ALTER TABLE events ADD FOREIGN KEY (statement_adjustment_id) REFERENCES statement_adjustments (id) ON DELETE SET NULL;
ALTER TABLE events ADD FOREIGN KEY (statement_id) REFERENCES statements (id) ON DELETE SET NULL;
ALTER TABLE events ADD FOREIGN KEY (teacher_id) REFERENCES teachers (id) ON DELETE SET NULL;
ALTER TABLE events ADD FOREIGN KEY (training_period_id) REFERENCES training_periods (id) ON DELETE SET NULL;
ALTER TABLE events ADD FOREIGN KEY (author_id) REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE events ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE induction_periods ADD FOREIGN KEY (appropriate_body_period_id) REFERENCES appropriate_body_periods (id);
ALTER TABLE induction_periods ADD FOREIGN KEY (teacher_id) REFERENCES teachers (id);
ALTER TABLE mentor_at_school_periods ADD FOREIGN KEY (school_id) REFERENCES schools (id);
ALTER TABLE mentor_at_school_periods ADD FOREIGN KEY (reported_leaving_by_school_id) REFERENCES schools (id);
ALTER TABLE mentor_at_school_periods ADD FOREIGN KEY (teacher_id) REFERENCES teachers (id);
ALTER TABLE mentorship_periods ADD FOREIGN KEY (ect_at_school_period_id) REFERENCES ect_at_school_periods (id);
ALTER TABLE mentorship_periods ADD FOREIGN KEY (mentor_at_school_period_id) REFERENCES mentor_at_school_periods (id);
ALTER TABLE milestones ADD FOREIGN KEY (schedule_id) REFERENCES schedules (id);
ALTER TABLE schedules ADD FOREIGN KEY (contract_period_year) REFERENCES contract_periods (year);
ALTER TABLE school_partnerships ADD FOREIGN KEY (school_id) REFERENCES schools (id);
ALTER TABLE schools ADD FOREIGN KEY (last_chosen_appropriate_body_id) REFERENCES appropriate_body_periods (id);
ALTER TABLE schools ADD FOREIGN KEY (induction_tutor_last_nominated_in) REFERENCES contract_periods (year);
ALTER TABLE schools ADD FOREIGN KEY (urn) REFERENCES gias_schools (urn);
ALTER TABLE schools ADD FOREIGN KEY (last_chosen_lead_provider_id) REFERENCES lead_providers (id);
ALTER TABLE statement_adjustments ADD FOREIGN KEY (statement_id) REFERENCES statements (id);
ALTER TABLE statements ADD FOREIGN KEY (contract_id) REFERENCES contracts (id);
ALTER TABLE teacher_id_changes ADD FOREIGN KEY (teacher_id) REFERENCES teachers (id);
ALTER TABLE teacher_id_changes ADD FOREIGN KEY (api_from_teacher_id) REFERENCES teachers (api_id);
ALTER TABLE teacher_id_changes ADD FOREIGN KEY (api_to_teacher_id) REFERENCES teachers (api_id);
ALTER TABLE teachers ADD FOREIGN KEY (ect_payments_frozen_year) REFERENCES contract_periods (year);
ALTER TABLE teachers ADD FOREIGN KEY (mentor_payments_frozen_year) REFERENCES contract_periods (year);
ALTER TABLE training_periods ADD FOREIGN KEY (expression_of_interest_id) REFERENCES active_lead_providers (id);
ALTER TABLE training_periods ADD FOREIGN KEY (ect_at_school_period_id) REFERENCES ect_at_school_periods (id);
ALTER TABLE training_periods ADD FOREIGN KEY (mentor_at_school_period_id) REFERENCES mentor_at_school_periods (id);
ALTER TABLE training_periods ADD FOREIGN KEY (schedule_id) REFERENCES schedules (id);
ALTER TABLE training_periods ADD FOREIGN KEY (school_partnership_id) REFERENCES school_partnerships (id);

-- Reference data -----------------------------------------------------------

-- The newest twenty schema migrations; the last is the schema.rb version.
INSERT INTO schema_migrations (version) VALUES
    ('20260603140320'), ('20260609102349'), ('20260612102325'), ('20260612111906'),
    ('20260612120000'), ('20260614133538'), ('20260615120000'), ('20260618092900'),
    ('20260618144509'), ('20260622081540'), ('20260622120000'), ('20260624144629'),
    ('20260629150700'), ('20260702065431'), ('20260713075124'), ('20260723155410'),
    ('20260806113458'), ('20260812163524'), ('20260813103015'), ('20260813112837');

INSERT INTO ar_internal_metadata (key, value, created_at, updated_at) VALUES
    ('environment', 'production', '2024-09-02 08:12:44.301556', '2024-09-02 08:12:44.301556');
