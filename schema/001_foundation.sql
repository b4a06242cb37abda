-- SignetAssure foundation: organisation, sites, suppliers, persons, staff, vetting cases, clearances, audit.
-- All timestamps are timestamptz (UTC); calendar dates (date of birth, clearance validity) are date.

CREATE TABLE organisation (
    id                 smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    name               text NOT NULL,
    issuing_authority  text NOT NULL,
    time_zone          text NOT NULL DEFAULT 'Europe/London',
    updated_at         timestamptz NOT NULL DEFAULT now()
);
INSERT INTO organisation (name, issuing_authority) VALUES ('SignetAssure', 'SignetAssure');

CREATE TABLE locations (
    id          uuid PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    name        text NOT NULL,
    time_zone   text NOT NULL DEFAULT 'Europe/London',
    address     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE suppliers (
    id             uuid PRIMARY KEY,
    name           text NOT NULL,
    tier           smallint NOT NULL CHECK (tier BETWEEN 1 AND 9),
    company_number text NOT NULL DEFAULT '',
    contact_email  text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX suppliers_name_key ON suppliers (lower(name));

CREATE TABLE persons (
    id               uuid PRIMARY KEY,
    first_name       text NOT NULL,
    middle_names     text NOT NULL DEFAULT '',
    last_name        text NOT NULL,
    -- first + last name folded (case, accents, whitespace) for matching and search
    search_name      text NOT NULL,
    date_of_birth    date NOT NULL,
    email            text NOT NULL DEFAULT '',
    mobile           text NOT NULL DEFAULT '',
    employee_number  text,
    supplier_id      uuid REFERENCES suppliers (id),   -- NULL: employed by this organisation
    location_id      uuid REFERENCES locations (id),
    -- sensitive: never disclosed outside this organisation
    line_manager     text NOT NULL DEFAULT '',
    address          text NOT NULL DEFAULT '',
    ni_number        text NOT NULL DEFAULT '',
    active           boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX persons_employee_number_key ON persons (employee_number) WHERE employee_number IS NOT NULL;
CREATE INDEX persons_search_name_idx ON persons (search_name, date_of_birth);
CREATE INDEX persons_last_name_idx ON persons (lower(last_name), lower(first_name), id);

CREATE TABLE staff_users (
    id            uuid PRIMARY KEY,
    display_name  text NOT NULL,
    email         text NOT NULL UNIQUE,
    roles         text[] NOT NULL CHECK (cardinality(roles) > 0),
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_tokens (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES staff_users (id),
    name          text NOT NULL,
    token_hash    bytea NOT NULL UNIQUE,   -- SHA-256 of the 256-bit secret; the secret itself is never stored
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    revoked_at    timestamptz,
    last_used_at  timestamptz
);

CREATE TABLE vetting_cases (
    case_ref           text PRIMARY KEY CHECK (case_ref ~ '^v_[0-9a-z]{20,}$'),
    person_id          uuid NOT NULL REFERENCES persons (id),
    type               text NOT NULL,
    requested_level    text NOT NULL,
    status             text NOT NULL,
    owner_id           uuid REFERENCES staff_users (id),
    issuing_authority  text NOT NULL,
    opened_by          uuid REFERENCES staff_users (id),
    opened_at          timestamptz NOT NULL,
    due_at             timestamptz NOT NULL,
    info_requested     text NOT NULL DEFAULT '',
    info_due_at        timestamptz,
    escalated_at       timestamptz,
    outcome            text,
    outcome_level      text,
    valid_from         date,
    valid_to           date,
    closed_at          timestamptz,
    -- sequence number of the last timeline event applied; the workflow's writes only move it forward
    version            integer NOT NULL,
    updated_at         timestamptz NOT NULL
);
CREATE INDEX vetting_cases_person_idx ON vetting_cases (person_id, opened_at DESC);
CREATE INDEX vetting_cases_status_idx ON vetting_cases (status, due_at);
CREATE INDEX vetting_cases_owner_idx ON vetting_cases (owner_id, due_at);

CREATE TABLE case_events (
    case_ref    text NOT NULL REFERENCES vetting_cases (case_ref),
    seq         integer NOT NULL,
    at          timestamptz NOT NULL,
    kind        text NOT NULL,
    actor_id    uuid REFERENCES staff_users (id),   -- NULL: the system (a timer, an integration)
    summary     text NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (case_ref, seq)
);

CREATE TABLE clearances (
    id                 uuid PRIMARY KEY,
    person_id          uuid NOT NULL REFERENCES persons (id),
    level              text NOT NULL,
    valid_from         date NOT NULL,
    valid_to           date NOT NULL CHECK (valid_to > valid_from),
    status             text NOT NULL CHECK (status IN ('active', 'expired', 'suspended', 'revoked', 'superseded')),
    source_case_ref    text UNIQUE REFERENCES vetting_cases (case_ref),
    issuing_authority  text NOT NULL,
    with_advisory      boolean NOT NULL DEFAULT false,
    superseded_by      uuid REFERENCES clearances (id) DEFERRABLE INITIALLY DEFERRED,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
-- one current clearance per person and level
CREATE UNIQUE INDEX clearances_current_key ON clearances (person_id, level) WHERE status = 'active';
CREATE INDEX clearances_expiry_idx ON clearances (valid_to) WHERE status = 'active';

-- Staff notifications (SLA reminders, escalations); later delivered through the messaging core.
CREATE TABLE staff_notifications (
    id          text PRIMARY KEY,     -- deterministic: made by the workflow, so a retry never notifies twice
    user_id     uuid NOT NULL REFERENCES staff_users (id),
    kind        text NOT NULL,
    case_ref    text REFERENCES vetting_cases (case_ref),
    message     text NOT NULL,
    created_at  timestamptz NOT NULL,
    read_at     timestamptz
);
CREATE INDEX staff_notifications_user_idx ON staff_notifications (user_id, created_at DESC);

-- Append-only record of every state change and who made it.
CREATE TABLE audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor_id     uuid,                -- NULL: the system
    action       text NOT NULL,
    entity_type  text NOT NULL,
    entity_id    text NOT NULL,
    detail       jsonb NOT NULL DEFAULT '{}',
    dedup_key    text UNIQUE          -- set by idempotent writers (workflow activities)
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id, at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

---- create above / drop below ----

DROP TABLE audit_log, staff_notifications, clearances, case_events, vetting_cases, api_tokens, staff_users,
    persons, suppliers, locations, organisation;
DROP FUNCTION audit_log_append_only;
