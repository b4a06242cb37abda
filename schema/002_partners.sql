-- Vetting sharing between organisations: partner sites, the keys we issue them (inbound), the
-- credentials they issued us (outbound, encrypted), disclosures, delegated cases and partner returns.

CREATE TABLE partner_sites (
    id                 uuid PRIMARY KEY,
    org_name           text NOT NULL,
    base_url           text NOT NULL,
    status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    contact_name       text NOT NULL DEFAULT '',
    contact_email      text NOT NULL DEFAULT '',
    revoked_at         timestamptz,
    health_checked_at  timestamptz,
    health_ok          boolean,
    health_error       text NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX partner_sites_org_key ON partner_sites (lower(org_name)) WHERE status = 'active';

-- Keys we issue to a partner: "sap_<prefix>_<secret>". Only the secret's SHA-256 is kept.
CREATE TABLE partner_keys (
    id            uuid PRIMARY KEY,
    site_id       uuid NOT NULL REFERENCES partner_sites (id),
    name          text NOT NULL,
    prefix        text NOT NULL UNIQUE,
    secret_hash   bytea NOT NULL,
    scopes        text[] NOT NULL CHECK (scopes <@ ARRAY['vetting:read', 'vetting:return'] AND cardinality(scopes) > 0),
    ip_allow      cidr[] NOT NULL DEFAULT '{}',   -- empty: any address
    expires_at    timestamptz,
    revoked_at    timestamptz,
    last_used_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX partner_keys_site_idx ON partner_keys (site_id);

-- Bearer secrets a partner issued to us, sealed with AES-256-GCM under the key named by key_id.
CREATE TABLE partner_credentials (
    id          uuid PRIMARY KEY,
    site_id     uuid NOT NULL REFERENCES partner_sites (id),
    name        text NOT NULL,
    key_id      text NOT NULL,
    sealed      bytea NOT NULL,
    active      boolean NOT NULL DEFAULT true,
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX partner_credentials_site_idx ON partner_credentials (site_id) WHERE active;

-- Who was told what about a person, when and why: partner lookups and disclosures staff record by hand.
CREATE TABLE disclosures (
    id              uuid PRIMARY KEY,
    person_id       uuid NOT NULL REFERENCES persons (id),
    source          text NOT NULL CHECK (source IN ('partner_lookup', 'manual')),
    site_id         uuid REFERENCES partner_sites (id),
    key_id          uuid REFERENCES partner_keys (id),
    recipient       text NOT NULL,
    reason          text NOT NULL,
    disclosed       jsonb NOT NULL,
    recorded_by     uuid REFERENCES staff_users (id),
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX disclosures_person_idx ON disclosures (person_id, at DESC);

-- A case delegated to a partner, who runs the check and posts the outcome back.
ALTER TABLE vetting_cases ADD COLUMN delegated_site_id uuid REFERENCES partner_sites (id);
ALTER TABLE vetting_cases ADD COLUMN delegation_due_at timestamptz;

-- A check we run on a partner's behalf: its outcome is posted back to that partner's /return.
ALTER TABLE vetting_cases ADD COLUMN for_site_id uuid REFERENCES partner_sites (id);
ALTER TABLE vetting_cases ADD COLUMN for_case_ref text;

-- Our own /lookup calls to a partner (verifying a supplier's person before site access).
CREATE TABLE partner_verifications (
    id            uuid PRIMARY KEY,
    person_id     uuid NOT NULL REFERENCES persons (id),
    site_id       uuid NOT NULL REFERENCES partner_sites (id),
    reason        text NOT NULL,
    found         boolean NOT NULL,
    answer        jsonb NOT NULL,
    requested_by  uuid REFERENCES staff_users (id),
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX partner_verifications_person_idx ON partner_verifications (person_id, at DESC);

-- Outcomes partners posted back, idempotent on (site, partner case id): a repeat gets the first answer.
CREATE TABLE partner_returns (
    site_id          uuid NOT NULL REFERENCES partner_sites (id),
    partner_case_id  text NOT NULL,
    case_ref         text NOT NULL REFERENCES vetting_cases (case_ref),
    answer           jsonb NOT NULL,
    at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, partner_case_id)
);

-- GCRA rate-limit state (theoretical arrival time, microseconds since the epoch) shared by every API process.
CREATE TABLE rate_limits (
    key         text PRIMARY KEY,
    tat         bigint NOT NULL,
    expires_at  timestamptz NOT NULL
);

---- create above / drop below ----

DROP TABLE rate_limits, partner_returns, partner_verifications, disclosures, partner_credentials, partner_keys;
ALTER TABLE vetting_cases DROP COLUMN for_case_ref, DROP COLUMN for_site_id, DROP COLUMN delegation_due_at,
    DROP COLUMN delegated_site_id;
DROP TABLE partner_sites;
