-- Foreign travel (issue 17): the travel policy, in versions, and the trips cleared people report, each
-- run by its workflow travel/<id>. A trip records the policy version it was assessed under, so a later
-- policy does not rewrite what a trip required. A trip's timeline is its audit trail (entity travel_trip).

-- The travel policy: countries of concern (each with the source of its listing and its date), and what a
-- trip requires by the traveller's clearance level and whether it goes to a country of concern. A change
-- adds a version; versions are never changed.
CREATE TABLE travel_policies (
    version               integer PRIMARY KEY CHECK (version > 0),
    -- [{code, source, listedOn}]: ISO 3166-1 alpha-2 codes
    countries_of_concern  jsonb NOT NULL CHECK (jsonb_typeof(countries_of_concern) = 'array'),
    -- [{level, concern, briefing, approval, debriefDays}]: a combination without a rule requires nothing
    rules                 jsonb NOT NULL CHECK (jsonb_typeof(rules) = 'array'),
    max_trip_days         integer NOT NULL CHECK (max_trip_days BETWEEN 1 AND 366),
    reminder_days         integer[] NOT NULL,   -- days before departure a missing briefing/approval is reminded
    escalation_days       integer NOT NULL CHECK (escalation_days BETWEEN 0 AND 365),
    updated_by            uuid REFERENCES staff_users (id),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- The first policy lists no country of concern (the organisation lists its own, with their source); a
-- trip to one by anyone cleared above BPSS needs a briefing, an approval and a debrief within 14 days.
INSERT INTO travel_policies (version, countries_of_concern, rules, max_trip_days, reminder_days, escalation_days)
VALUES (1, '[]', '[
  {"level": "CTC", "concern": true, "briefing": true, "approval": false, "debriefDays": 14},
  {"level": "SC",  "concern": true, "briefing": true, "approval": true,  "debriefDays": 14},
  {"level": "eSC", "concern": true, "briefing": true, "approval": true,  "debriefDays": 14},
  {"level": "DV",  "concern": true, "briefing": true, "approval": true,  "debriefDays": 14},
  {"level": "eDV", "concern": true, "briefing": true, "approval": true,  "debriefDays": 14},
  {"level": "DV",  "concern": false, "briefing": false, "approval": false, "debriefDays": 0},
  {"level": "eDV", "concern": false, "briefing": false, "approval": false, "debriefDays": 0}
]', 90, '{14,3}', 7);

CREATE TABLE travel_trips (
    id                 uuid PRIMARY KEY,
    person_id          uuid NOT NULL REFERENCES persons (id),
    countries          text[] NOT NULL CHECK (cardinality(countries) BETWEEN 1 AND 30),
    departs_on         date NOT NULL,
    returns_on         date NOT NULL CHECK (returns_on >= departs_on),
    purpose            text NOT NULL,
    companions         text NOT NULL CHECK (companions IN ('alone', 'with_others')),
    devices            text[] NOT NULL,
    status             text NOT NULL CHECK (status IN ('pending', 'ready', 'away', 'debrief_due', 'closed',
                                                       'refused', 'cancelled')),
    -- the assessment: the policy version, the traveller's highest clearance in force then (none: no
    -- policy applies), the destinations of concern, and what the trip requires
    policy_version     integer NOT NULL REFERENCES travel_policies (version),
    level              text,
    clearance_id       uuid REFERENCES clearances (id),
    concern_countries  text[] NOT NULL,
    requires           jsonb NOT NULL,
    too_long           boolean NOT NULL DEFAULT false,
    briefed_at         timestamptz,
    decision           text CHECK (decision IN ('approved', 'refused')),
    decided_by         uuid REFERENCES staff_users (id),
    decided_at         timestamptz,
    decision_reason    text NOT NULL DEFAULT '',
    debrief            jsonb,
    debriefed_at       timestamptz,
    -- the aftercare case a debrief opened; no reference: the case writes itself once its workflow runs
    aftercare_case_ref text,
    cancel_reason      text NOT NULL DEFAULT '',
    reported_by        uuid REFERENCES staff_users (id),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX travel_trips_person_idx ON travel_trips (person_id, departs_on DESC);
CREATE INDEX travel_trips_status_idx ON travel_trips (status, departs_on);
-- the same trip reported twice (same person, destinations and dates) while the first stands
CREATE UNIQUE INDEX travel_trips_duplicate_key ON travel_trips (person_id, departs_on, returns_on, countries)
    WHERE status NOT IN ('cancelled', 'refused');

-- The traveller's own links, sent on their preferred channel: each for one trip and one purpose
-- (acknowledging the briefing, or giving the debrief), expiring, used once. Only the token's SHA-256 is
-- kept; the token is in the message sent.
CREATE TABLE travel_links (
    token_hash  bytea PRIMARY KEY,
    trip_id     uuid NOT NULL REFERENCES travel_trips (id),
    purpose     text NOT NULL CHECK (purpose IN ('briefing', 'debrief')),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX travel_links_trip_idx ON travel_links (trip_id);

INSERT INTO message_templates (name, channel, version, subject, body) VALUES
('travel_briefing', 'sms', 1, '',
 'SignetAssure: your trip to {{"{{.Countries}}"}} on {{"{{.DepartsOn}}"}} needs {{"{{.Needed}}"}} before you go. Acknowledge the briefing here: {{"{{.Link}}"}} Reply STOP to opt out.'),
('travel_briefing', 'whatsapp', 1, '',
 'Your trip to {{"{{.Countries}}"}} on {{"{{.DepartsOn}}"}} needs {{"{{.Needed}}"}} before you go. Acknowledge the briefing here: {{"{{.Link}}"}}'),
('travel_briefing', 'email', 1, 'Before your trip on {{"{{.DepartsOn}}"}}',
 'Hello {{"{{.FirstName}}"}},

Your trip to {{"{{.Countries}}"}} on {{"{{.DepartsOn}}"}} needs {{"{{.Needed}}"}} before you go. Your security team will brief you; acknowledge the briefing here once it is done:

{{"{{.Link}}"}}

SignetAssure'),
('travel_reminder', 'sms', 1, '',
 'SignetAssure reminder: your trip to {{"{{.Countries}}"}} on {{"{{.DepartsOn}}"}} ({{"{{.DaysLeft}}"}} days) still needs {{"{{.Needed}}"}}. Reply STOP to opt out.'),
('travel_reminder', 'whatsapp', 1, '',
 'Reminder: your trip to {{"{{.Countries}}"}} on {{"{{.DepartsOn}}"}} ({{"{{.DaysLeft}}"}} days) still needs {{"{{.Needed}}"}}.'),
('travel_reminder', 'email', 1, 'Reminder: your trip on {{"{{.DepartsOn}}"}} still needs {{"{{.Needed}}"}}',
 'Hello {{"{{.FirstName}}"}},

Your trip to {{"{{.Countries}}"}} on {{"{{.DepartsOn}}"}}, in {{"{{.DaysLeft}}"}} days, still needs {{"{{.Needed}}"}}. Please contact your security team.

SignetAssure'),
('travel_debrief', 'sms', 1, '',
 'SignetAssure: welcome back from {{"{{.Countries}}"}}. Please give your travel debrief by {{"{{.DueOn}}"}}: {{"{{.Link}}"}} Reply STOP to opt out.'),
('travel_debrief', 'whatsapp', 1, '',
 'Welcome back from {{"{{.Countries}}"}}. Please give your travel debrief by {{"{{.DueOn}}"}}: {{"{{.Link}}"}}'),
('travel_debrief', 'email', 1, 'Your travel debrief is due by {{"{{.DueOn}}"}}',
 'Hello {{"{{.FirstName}}"}},

Welcome back from {{"{{.Countries}}"}}. Please give your travel debrief (any contact with foreign officials, approaches, incidents, lost devices) by {{"{{.DueOn}}"}}:

{{"{{.Link}}"}}

SignetAssure');

---- create above / drop below ----

DELETE FROM message_templates WHERE name IN ('travel_briefing', 'travel_reminder', 'travel_debrief');
DROP TABLE travel_links, travel_trips, travel_policies;
