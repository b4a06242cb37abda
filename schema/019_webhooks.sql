-- Webhook subscriptions (issue 16): lifecycle events (018_events.sql) delivered to subscribers as signed
-- webhooks (the Standard Webhooks specification), one Temporal workflow per subscription, in the
-- outbox's order, at least once.
--
-- A subscription's signing secret (whsec_...) is shown once, when it is made or rotated, and kept sealed
-- (AES-256-GCM under the PARTNER_CREDENTIAL_KEYS keyring, as partner credentials are), bound to the
-- subscription and the secret's version. After a rotation the previous secret keeps signing, beside the
-- new one, until previous_expires_at.
--
-- cursor is the id (position) of the last event delivered, or passed over by the type filter: delivery
-- goes on with the event after it (store.EventsAfter). 0: from the first event. A new subscription starts
-- at the newest event settled when it is made; a replay moves the cursor back.
CREATE TABLE webhook_subscriptions (
    id                    uuid PRIMARY KEY,
    url                   text NOT NULL,
    description           text NOT NULL DEFAULT '',
    -- catalogue types (events.Type); empty: every type
    event_types           text[] NOT NULL DEFAULT '{}',
    include_names         boolean NOT NULL DEFAULT false,
    status                text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'disabled')),
    disabled_reason       text,
    secret_version        integer NOT NULL DEFAULT 1 CHECK (secret_version > 0),
    secret_key_id         text NOT NULL,
    secret_sealed         bytea NOT NULL,
    previous_key_id       text,
    previous_sealed       bytea,
    previous_expires_at   timestamptz,
    cursor                bigint NOT NULL DEFAULT 0,
    -- counts the replays: delivery moves the cursor only if it is still the one it read, in the same
    -- replay (a replay back to the very event being delivered must not be undone by its 2xx)
    replays               integer NOT NULL DEFAULT 0,
    -- when the delivery of the event at the cursor first failed; NULL while deliveries succeed
    failing_since         timestamptz,
    created_by            uuid REFERENCES staff_users (id),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CHECK ((previous_sealed IS NULL) = (previous_key_id IS NULL))
);

-- The delivery log: one row per request made (or tried) to a subscriber. event_id is the CloudEvents id,
-- which is also the webhook-id header; position is the event's outbox id (NULL for a ping). The response
-- excerpt is bounded (1 KB); error says why no answer came (a timeout, a refused address).
CREATE TABLE webhook_attempts (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id   uuid NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_id          uuid NOT NULL,
    position          bigint,
    event_type        text NOT NULL,
    attempt           integer NOT NULL CHECK (attempt > 0),
    at                timestamptz NOT NULL DEFAULT clock_timestamp(),
    status_code       integer,
    latency_ms        integer NOT NULL DEFAULT 0,
    response_excerpt  text CHECK (octet_length(response_excerpt) <= 1024),
    error             text
);
CREATE INDEX webhook_attempts_subscription_idx ON webhook_attempts (subscription_id, id);

---- create above / drop below ----

DROP TABLE webhook_attempts, webhook_subscriptions;
