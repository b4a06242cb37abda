-- Access control follows clearance: the connected access control system's (ACS) levels with the clearance
-- each demands, company and location mappings, profile rules, links between persons and ACS users,
-- time-bounded grants, the event feed, the journal of intended changes, syncs and findings.

-- Access levels mirror the ACS's, refreshed by every sync. required_level is our policy: a level without
-- one cannot be granted until a security controller sets it.
CREATE TABLE access_levels (
    id               text PRIMARY KEY,                  -- the ACS's id
    name             text NOT NULL,
    acs_location_id  text NOT NULL DEFAULT '',
    required_level   text,
    present          boolean NOT NULL DEFAULT true,     -- false: gone from the ACS; its grants are blocked
    refreshed_at     timestamptz NOT NULL DEFAULT now()
);

-- Which ACS company a supplier's people (supplier_id NULL: our own staff) and which ACS location a site's
-- people are filed under.
CREATE TABLE access_company_map (
    supplier_id      uuid UNIQUE NULLS NOT DISTINCT REFERENCES suppliers (id),
    acs_company_id   text NOT NULL
);
CREATE TABLE access_location_map (
    location_id      uuid PRIMARY KEY REFERENCES locations (id),
    acs_location_id  text NOT NULL
);

-- Access profiles assigned on sync: a person matching every set condition gets the profile.
CREATE TABLE access_profile_rules (
    id               uuid PRIMARY KEY,
    clearance_level  text,             -- holds an active clearance at this level or above
    own_staff        boolean NOT NULL DEFAULT false,  -- employed by this organisation
    supplier_id      uuid REFERENCES suppliers (id),
    location_id      uuid REFERENCES locations (id),
    acs_profile_id   text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (NOT (own_staff AND supplier_id IS NOT NULL))
);

-- A person's record in the ACS. baseline_at starts the inactivity clock: creation, the last access event,
-- or the last grant requested, whichever is latest.
CREATE TABLE access_links (
    person_id        uuid PRIMARY KEY REFERENCES persons (id),
    acs_user_id      text UNIQUE,
    state            text NOT NULL CHECK (state IN ('active', 'disabled', 'removed')),
    pushed           jsonb NOT NULL DEFAULT '{}',       -- the access last written, to tell drift from our own ends
    last_event_at    timestamptz,
    synced_at        timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE access_grants (
    id               text PRIMARY KEY CHECK (id ~ '^g_[0-9a-z]{20,}$'),
    person_id        uuid NOT NULL REFERENCES persons (id),
    level_id         text NOT NULL REFERENCES access_levels (id),
    starts_at        timestamptz NOT NULL,
    ends_at          timestamptz NOT NULL CHECK (ends_at > starts_at),
    time_zone        text NOT NULL,                     -- the site's zone the dates were given in
    status           text NOT NULL CHECK (status IN ('scheduled', 'active', 'ended', 'revoked', 'blocked')),
    reason           text NOT NULL DEFAULT '',
    end_reason       text NOT NULL DEFAULT '',
    requested_by     uuid REFERENCES staff_users (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX access_grants_person_idx ON access_grants (person_id, starts_at DESC);
CREATE INDEX access_grants_open_idx ON access_grants (person_id) WHERE status IN ('scheduled', 'active');

-- The ACS's event feed, each event once.
CREATE TABLE access_events (
    seq              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id               text NOT NULL UNIQUE,
    at               timestamptz NOT NULL,
    acs_user_id      text,
    person_id        uuid REFERENCES persons (id),
    type             text NOT NULL,
    door             text NOT NULL DEFAULT '',
    acs_location_id  text NOT NULL DEFAULT ''
);
CREATE INDEX access_events_person_idx ON access_events (person_id, seq);
CREATE INDEX access_events_at_idx ON access_events (at);

-- Every intended change to the ACS, under an id made from what it does, so the same change attempted twice
-- is one row; replaying a person's operations re-runs that person's reconciliation.
CREATE TABLE access_operations (
    id               text PRIMARY KEY,
    kind             text NOT NULL,
    person_id        uuid REFERENCES persons (id),
    acs_user_id      text NOT NULL DEFAULT '',
    sync_id          text,
    status           text NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    error            text NOT NULL DEFAULT '',
    detail           jsonb NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX access_operations_person_idx ON access_operations (person_id, created_at DESC);
CREATE INDEX access_operations_failed_idx ON access_operations (updated_at) WHERE status = 'failed';

CREATE TABLE access_syncs (
    id               text PRIMARY KEY,
    trigger          text NOT NULL,
    status           text NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    total            integer NOT NULL DEFAULT 0,
    done             integer NOT NULL DEFAULT 0,
    errors           integer NOT NULL DEFAULT 0,
    result           jsonb NOT NULL DEFAULT '{}',
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);

-- What a sync found that a person must look at: a level nobody approved (removed), a duplicate record,
-- a possible match without our key, a level deleted in the ACS.
CREATE TABLE access_findings (
    id               text PRIMARY KEY,                  -- deterministic, so a finding is raised once
    kind             text NOT NULL,
    person_id        uuid REFERENCES persons (id),
    acs_user_id      text NOT NULL DEFAULT '',
    detail           jsonb NOT NULL DEFAULT '{}',
    action           text NOT NULL DEFAULT '',          -- what SignetAssure did about it
    found_at         timestamptz NOT NULL DEFAULT now(),
    resolved_at      timestamptz,
    resolved_by      uuid REFERENCES staff_users (id)
);
CREATE INDEX access_findings_person_idx ON access_findings (person_id, found_at DESC);
CREATE INDEX access_findings_open_idx ON access_findings (found_at) WHERE resolved_at IS NULL;

---- create above / drop below ----

DROP TABLE access_findings, access_syncs, access_operations, access_events, access_grants, access_links,
    access_profile_rules, access_location_map, access_company_map, access_levels;
