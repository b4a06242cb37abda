-- Committed events wake their deliveries at once (issue 16): a statement that appends events notifies the
-- channel signetassure_events with the distinct types it appended (comma-separated). PostgreSQL delivers a
-- notification only when its transaction commits, so a rolled-back change wakes nobody, and folds a
-- transaction's identical notifications into one. The worker that holds the listener's lock signals the
-- delivery workflows the types concern (worker.WakeWebhooks); the workflows' poll is the fallback.

CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('signetassure_events', (SELECT string_agg(DISTINCT type, ',' ORDER BY type) FROM appended));
    RETURN NULL;
END $$;
CREATE TRIGGER events_notify AFTER INSERT ON events REFERENCING NEW TABLE AS appended
    FOR EACH STATEMENT EXECUTE FUNCTION events_notify();

---- create above / drop below ----

DROP TRIGGER events_notify ON events;
DROP FUNCTION events_notify;
