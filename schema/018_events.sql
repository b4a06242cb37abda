-- Lifecycle events (issue 16), written by a transactional outbox: an event row is inserted in the same
-- transaction, and the same statement, as the audit entry of the change it describes (store.auditInsert),
-- so a committed change has its events and a rolled-back one has none. An idempotent writer's repeat,
-- whose audit entry is skipped because its dedup_key is logged, writes no event either: the events are
-- inserted only for the audit row the statement actually inserted. The catalogue of types is package
-- events.
--
-- Readers take events in (tx, id) order, and only those of transactions older than every transaction
-- still running (tx < pg_snapshot_xmin(pg_current_snapshot())): no event can later appear before one
-- already read, so a reader that remembers the last event it read (its id, the cursor of
-- GET /api/v1/events?after=) misses none. id alone is not that order: ids are taken when events are
-- inserted, and a transaction that took a smaller one may commit after one that took a larger.
-- event_id is the CloudEvents id, stable for ever. subject holds opaque ids only (case/<caseRef>,
-- person/<uuid>, clearance/<uuid>, partner/<uuid>, message/<id>...); seq numbers one subject's events
-- 1, 2, 3... with no gap. data holds ids and states, never personal values; names (display names) are kept apart, so a
-- subscription can choose whether it receives them.

CREATE TABLE events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id      uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    type          text NOT NULL,
    type_version  integer NOT NULL CHECK (type_version > 0),
    subject       text NOT NULL,
    seq           bigint NOT NULL CHECK (seq > 0),
    occurred_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    data          jsonb NOT NULL DEFAULT '{}',
    names         jsonb,
    -- the audit entry of the change the event describes; NULL for a change that has none (a message's or
    -- a broadcast's status), whose writer appends the event only when its own write changed the row
    audit_id      bigint,
    -- the transaction that wrote it
    tx            xid8 NOT NULL DEFAULT pg_current_xact_id(),
    UNIQUE (subject, seq)
);
CREATE INDEX events_order_idx ON events (tx, id);
CREATE INDEX events_occurred_at_idx ON events (occurred_at, id);

-- Each subject's last seq. The next is taken by an upsert that locks the subject's row until the
-- transaction ends, so two writers of one subject take 1..n in turn, and a rolled-back writer's number is
-- given back with its event.
CREATE TABLE event_subjects (
    subject   text PRIMARY KEY,
    last_seq  bigint NOT NULL
);

-- events_append writes one event of the audit entry audit_id and returns its id.
CREATE FUNCTION events_append(p_audit_id bigint, p_occurred_at timestamptz, p_type text, p_type_version integer,
    p_subject text, p_data jsonb, p_names jsonb) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n      bigint;
    new_id bigint;
BEGIN
    INSERT INTO event_subjects AS s (subject, last_seq) VALUES (p_subject, 1)
        ON CONFLICT (subject) DO UPDATE SET last_seq = s.last_seq + 1
        RETURNING s.last_seq INTO n;
    INSERT INTO events (type, type_version, subject, seq, occurred_at, data, names, audit_id)
        VALUES (p_type, p_type_version, p_subject, n, coalesce(p_occurred_at, clock_timestamp()),
            coalesce(p_data, '{}'), p_names, p_audit_id)
        RETURNING id INTO new_id;
    RETURN new_id;
END $$;

-- Append-only, like the audit log. Delivery (later) keeps its own state in its own tables.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events is append-only';
END $$;
CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

---- create above / drop below ----

DROP TABLE events, event_subjects;
DROP FUNCTION events_append, events_append_only;
