-- Identity verification (Signicat Assure eIDV): a dossier per person at the provider, one row per attempt
-- of a case's identity check with its normalised result and evidence, the callbacks received, and images a
-- case worker uploaded for a staff-attended check until they are handed over.

-- A person's dossier at the provider: one at a time, reused across their cases until deleted.
CREATE TABLE identity_dossiers (
    dossier_id   text PRIMARY KEY,
    provider     text NOT NULL,
    person_id    uuid NOT NULL REFERENCES persons (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz
);
CREATE UNIQUE INDEX identity_dossiers_live_key ON identity_dossiers (person_id, provider) WHERE deleted_at IS NULL;

-- One attempt of a case's identity check. The callback secret is kept as its SHA-256 only.
CREATE TABLE identity_checks (
    case_ref             text NOT NULL REFERENCES vetting_cases (case_ref),
    attempt              integer NOT NULL CHECK (attempt > 0),
    provider             text NOT NULL,
    mode                 text NOT NULL CHECK (mode IN ('capture', 'attended')),
    dossier_id           text NOT NULL,
    process_id           text NOT NULL DEFAULT '',
    capture_url          text NOT NULL DEFAULT '',
    callback_secret_hash bytea NOT NULL,
    status               text NOT NULL CHECK (status IN ('pending', 'processing', 'accepted', 'rejected',
                                                         'inconclusive', 'failed', 'canceled', 'expired')),
    started_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    finished_at          timestamptz,
    -- the normalised result, as read from the document
    first_name           text NOT NULL DEFAULT '',
    last_name            text NOT NULL DEFAULT '',
    date_of_birth        date,
    document_type        text NOT NULL DEFAULT '',
    document_expiry      date,
    issuing_country      text NOT NULL DEFAULT '',
    nationality          text NOT NULL DEFAULT '',
    fail_reason          text NOT NULL DEFAULT '',
    -- what differs from the person record: 'name', 'dateOfBirth', 'documentExpired'
    mismatches           text[] NOT NULL DEFAULT '{}',
    evidence_sha256      text NOT NULL DEFAULT '',
    evidence_bytes       bigint,
    process_deleted_at   timestamptz,
    dossier_deleted_at   timestamptz,
    PRIMARY KEY (case_ref, attempt)
);

-- Callbacks received, once each: a repeat of (process, status) is a duplicate.
CREATE TABLE identity_callbacks (
    case_ref     text NOT NULL,
    process_id   text NOT NULL,
    status       text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_ref, process_id, status)
);

-- Images a case worker uploaded for a staff-attended check, kept only until handed to the provider.
CREATE TABLE identity_uploads (
    id             uuid PRIMARY KEY,
    case_ref       text NOT NULL REFERENCES vetting_cases (case_ref),
    document_type  text NOT NULL,
    front          text NOT NULL,
    back           text NOT NULL DEFAULT '',
    selfie         text NOT NULL,
    uploaded_by    uuid REFERENCES staff_users (id),
    uploaded_at    timestamptz NOT NULL DEFAULT now()
);

INSERT INTO message_templates (name, channel, version, subject, body) VALUES
('identity_check_link', 'sms', 1, '',
 'SignetAssure: please verify your identity for your vetting by {{"{{.DueAt}}"}} with your passport or photo ID: {{"{{.Link}}"}}'),
('identity_check_link', 'whatsapp', 1, '',
 'Please verify your identity for your vetting by {{"{{.DueAt}}"}} with your passport or photo ID: {{"{{.Link}}"}}'),
('identity_check_link', 'email', 1, 'Verify your identity for your vetting',
 'Hello {{"{{.FirstName}}"}},

Your vetting team asks you to verify your identity with your passport or photo ID by {{"{{.DueAt}}"}}. It takes a few minutes on a phone or a computer with a camera:

{{"{{.Link}}"}}

SignetAssure'),
('identity_check_reminder', 'sms', 1, '',
 'SignetAssure reminder: please verify your identity by {{"{{.DueAt}}"}}: {{"{{.Link}}"}}'),
('identity_check_reminder', 'whatsapp', 1, '',
 'Reminder: please verify your identity by {{"{{.DueAt}}"}}: {{"{{.Link}}"}}'),
('identity_check_reminder', 'email', 1, 'Reminder: verify your identity by {{"{{.DueAt}}"}}',
 'Hello {{"{{.FirstName}}"}},

A reminder that your vetting team still needs you to verify your identity by {{"{{.DueAt}}"}}:

{{"{{.Link}}"}}

SignetAssure');

---- create above / drop below ----

DELETE FROM message_templates WHERE name IN ('identity_check_link', 'identity_check_reminder');
DROP TABLE identity_uploads, identity_callbacks, identity_checks, identity_dossiers;
