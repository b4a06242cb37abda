-- Messaging: templates, the outbox with each message's status history and cost, the inbox, consent and
-- opt-out, contact groups and emergency broadcasts with their replies, and the reminder policy.

-- How a person prefers to be told (renewal nudges, requests for information).
ALTER TABLE persons ADD COLUMN preferred_channel text NOT NULL DEFAULT 'email'
    CHECK (preferred_channel IN ('sms', 'whatsapp', 'email'));

-- Named, versioned templates. A version is never changed: a new one is added, and messages record the
-- version they were made from. Variables are Go template fields (.Level in double braces); a missing one
-- is an error. tern renders this file as a Go template itself, so the template texts below write each
-- field as a quoted string inside an action, which renders as the field.
CREATE TABLE message_templates (
    name         text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{1,62}$'),
    channel      text NOT NULL CHECK (channel IN ('sms', 'whatsapp', 'email')),
    version      integer NOT NULL CHECK (version > 0),
    subject      text NOT NULL DEFAULT '',
    body         text NOT NULL,
    html         text NOT NULL DEFAULT '',
    -- an approved WhatsApp template (Twilio Content API): sent instead of the body, with the variables
    content_sid  text NOT NULL DEFAULT '',
    created_by   uuid REFERENCES staff_users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, channel, version)
);

INSERT INTO message_templates (name, channel, version, subject, body) VALUES
('renewal_nudge', 'sms', 1, '',
 'SignetAssure: your {{"{{.Level}}"}} clearance expires on {{"{{.ValidTo}}"}} ({{"{{.DaysLeft}}"}} days). Your vetting team will contact you about renewal. Reply STOP to opt out.'),
('renewal_nudge', 'whatsapp', 1, '',
 'Your {{"{{.Level}}"}} clearance expires on {{"{{.ValidTo}}"}} ({{"{{.DaysLeft}}"}} days). Your vetting team will contact you about renewal. Reply STOP to opt out.'),
('renewal_nudge', 'email', 1, 'Your {{"{{.Level}}"}} clearance expires on {{"{{.ValidTo}}"}}',
 'Hello {{"{{.FirstName}}"}},

Your {{"{{.Level}}"}} clearance expires on {{"{{.ValidTo}}"}}, in {{"{{.DaysLeft}}"}} days. Your vetting team will contact you about its renewal; please keep your details up to date.

SignetAssure'),
('information_requested', 'sms', 1, '',
 'SignetAssure: your vetting team needs information from you by {{"{{.DueAt}}"}}: {{"{{.Description}}"}}'),
('information_requested', 'whatsapp', 1, '',
 'Your vetting team needs information from you by {{"{{.DueAt}}"}}: {{"{{.Description}}"}}'),
('information_requested', 'email', 1, 'Information needed for your vetting by {{"{{.DueAt}}"}}',
 'Hello {{"{{.FirstName}}"}},

Your vetting team needs the following from you by {{"{{.DueAt}}"}}:

{{"{{.Description}}"}}

SignetAssure'),
('information_reminder', 'sms', 1, '',
 'SignetAssure reminder: information for your vetting is due {{"{{.DueAt}}"}}: {{"{{.Description}}"}}'),
('information_reminder', 'whatsapp', 1, '',
 'Reminder: information for your vetting is due {{"{{.DueAt}}"}}: {{"{{.Description}}"}}'),
('information_reminder', 'email', 1, 'Reminder: information for your vetting is due {{"{{.DueAt}}"}}',
 'Hello {{"{{.FirstName}}"}},

A reminder that your vetting team still needs the following from you by {{"{{.DueAt}}"}}:

{{"{{.Description}}"}}

SignetAssure'),
('broadcast', 'sms', 1, '', '{{"{{.Text}}"}}');

-- The outbox: every message we made, sent or not. id is the idempotency key the workflow fixed.
CREATE TABLE messages (
    id                   text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 200),
    channel              text NOT NULL CHECK (channel IN ('sms', 'whatsapp', 'email')),
    template             text NOT NULL,
    template_version     integer NOT NULL,
    person_id            uuid REFERENCES persons (id),
    staff_user_id        uuid REFERENCES staff_users (id),
    recipient            text NOT NULL,       -- E.164 or e-mail address; '' when there is none to send to
    subject              text NOT NULL DEFAULT '',
    body                 text NOT NULL,
    status               text NOT NULL CHECK (status IN ('pending', 'suppressed', 'queued', 'sent', 'delivered',
                                                         'read', 'undelivered', 'failed')),
    status_at            timestamptz NOT NULL,
    status_reason        text NOT NULL DEFAULT '',
    provider             text NOT NULL DEFAULT '',
    provider_id          text,
    error_code           integer,
    price                numeric(12, 5),      -- as the provider states it (Twilio: negative)
    price_unit           text,
    segments             integer,
    -- set while a hand-over may have reached the provider without our knowing: the next attempt looks
    -- for it there before sending again
    handover_started_at  timestamptz,
    -- what caused it
    case_ref             text REFERENCES vetting_cases (case_ref),
    clearance_id         uuid REFERENCES clearances (id),
    broadcast_id         uuid,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);
CREATE UNIQUE INDEX messages_provider_key ON messages (provider, provider_id) WHERE provider_id IS NOT NULL;
CREATE INDEX messages_created_idx ON messages (created_at DESC, id);
CREATE INDEX messages_person_idx ON messages (person_id, created_at DESC);
CREATE INDEX messages_status_idx ON messages (status, created_at DESC);
CREATE INDEX messages_broadcast_idx ON messages (broadcast_id, status) WHERE broadcast_id IS NOT NULL;
CREATE INDEX messages_unpriced_idx ON messages (status_at) WHERE price IS NULL AND provider = 'twilio'
    AND status IN ('sent', 'delivered', 'read', 'undelivered', 'failed') AND provider_id IS NOT NULL;

-- Each message's status history: what we did and every receipt, once each.
CREATE TABLE message_events (
    message_id   text NOT NULL REFERENCES messages (id),
    event_id     text NOT NULL,
    status       text NOT NULL DEFAULT '',
    raw          text NOT NULL DEFAULT '',
    error_code   integer,
    reason       text NOT NULL DEFAULT '',
    at           timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, event_id)
);

-- The inbox: messages people sent us.
CREATE TABLE inbound_messages (
    id            uuid PRIMARY KEY,
    provider_id   text NOT NULL UNIQUE,
    channel       text NOT NULL CHECK (channel IN ('sms', 'whatsapp')),
    sender        text NOT NULL,    -- E.164
    receiver      text NOT NULL,
    body          text NOT NULL,
    person_id     uuid REFERENCES persons (id),
    -- what we made of it: opt_out, opt_in, help, a broadcast reply keyword, or '' (free text)
    keyword       text NOT NULL DEFAULT '',
    broadcast_id  uuid,
    received_at   timestamptz NOT NULL
);
CREATE INDEX inbound_received_idx ON inbound_messages (received_at DESC, id);
CREATE INDEX inbound_person_idx ON inbound_messages (person_id, received_at DESC);
CREATE INDEX inbound_sender_idx ON inbound_messages (sender, received_at DESC);

-- Consent and opt-out per channel and address (a number or an e-mail address). SMS and e-mail may be
-- sent unless opted out; WhatsApp only with consent recorded (when and how it was given).
CREATE TABLE messaging_consent (
    channel      text NOT NULL CHECK (channel IN ('sms', 'whatsapp', 'email')),
    address      text NOT NULL,
    status       text NOT NULL CHECK (status IN ('opted_in', 'opted_out')),
    method       text NOT NULL,      -- e.g. keyword, unsubscribe, provider_21610, written, web_form, verbal
    evidence     text NOT NULL DEFAULT '',
    person_id    uuid REFERENCES persons (id),
    recorded_by  uuid REFERENCES staff_users (id),
    at           timestamptz NOT NULL,
    PRIMARY KEY (channel, address)
);
CREATE INDEX messaging_consent_person_idx ON messaging_consent (person_id);

-- Contact groups: every active person at a site, of a supplier, holding a clearance level, or picked by hand.
CREATE TABLE contact_groups (
    id           uuid PRIMARY KEY,
    name         text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('site', 'supplier', 'level', 'manual')),
    location_id  uuid REFERENCES locations (id),
    supplier_id  uuid REFERENCES suppliers (id),
    level        text,
    created_by   uuid REFERENCES staff_users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'site') = (location_id IS NOT NULL)),
    CHECK ((kind = 'supplier') = (supplier_id IS NOT NULL)),
    CHECK ((kind = 'level') = (level IS NOT NULL))
);
CREATE UNIQUE INDEX contact_groups_name_key ON contact_groups (lower(name));

CREATE TABLE contact_group_members (
    group_id   uuid NOT NULL REFERENCES contact_groups (id) ON DELETE CASCADE,
    person_id  uuid NOT NULL REFERENCES persons (id),
    PRIMARY KEY (group_id, person_id)
);

-- Emergency broadcasts. Recipients are fixed when the broadcast starts.
CREATE TABLE broadcasts (
    id            uuid PRIMARY KEY,
    group_id      uuid NOT NULL REFERENCES contact_groups (id),
    body          text NOT NULL,
    keywords      text[] NOT NULL,
    rate          double precision NOT NULL CHECK (rate > 0),   -- messages a second handed to the provider
    status        text NOT NULL CHECK (status IN ('preparing', 'sending', 'collecting', 'closed')),
    reply_until   timestamptz NOT NULL,
    created_by    uuid REFERENCES staff_users (id),
    created_at    timestamptz NOT NULL,
    sent_at       timestamptz,
    closed_at     timestamptz
);
CREATE INDEX broadcasts_created_idx ON broadcasts (created_at DESC, id);

CREATE TABLE broadcast_recipients (
    broadcast_id   uuid NOT NULL REFERENCES broadcasts (id),
    person_id      uuid NOT NULL REFERENCES persons (id),
    recipient      text NOT NULL,        -- E.164 UK mobile; '' when the person has none
    skipped        text NOT NULL DEFAULT '',   -- why no message: no_mobile, duplicate_number
    shard          smallint NOT NULL,
    message_id     text REFERENCES messages (id),
    reply_keyword  text,
    reply_body     text,
    replied_at     timestamptz,
    PRIMARY KEY (broadcast_id, person_id)
);
CREATE INDEX broadcast_recipients_number_idx ON broadcast_recipients (recipient, broadcast_id) WHERE recipient <> '';
CREATE INDEX broadcast_recipients_shard_idx ON broadcast_recipients (broadcast_id, shard, person_id)
    WHERE message_id IS NULL AND skipped = '';

-- When people are nudged and reminded. One row; changing it reaches running clearance workflows.
CREATE TABLE reminder_policy (
    id                  smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    nudge_days          integer[] NOT NULL,    -- days before a clearance's validTo
    renewal_lead_days   integer NOT NULL CHECK (renewal_lead_days > 0),
    info_reminder_days  integer[] NOT NULL,    -- days before requested information is due
    updated_by          uuid REFERENCES staff_users (id),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
INSERT INTO reminder_policy (nudge_days, renewal_lead_days, info_reminder_days)
VALUES ('{180,90,30,7}', 150, '{3,1}');

---- create above / drop below ----

DROP TABLE reminder_policy, broadcast_recipients, broadcasts, contact_group_members, contact_groups,
    messaging_consent, inbound_messages, message_events, messages, message_templates;
ALTER TABLE persons DROP COLUMN preferred_channel;
