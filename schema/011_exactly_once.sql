-- Exactly once. One open vetting case per person, case type and requested level, enforced here: two
-- requests racing past the API's check start two case workflows, and only one of them can write its row
-- (the other ends without doing anything). And the first answer to every keyed staff write request, kept
-- so that a retry with the same Idempotency-Key is answered alike.

-- Open cases that already duplicate each other (the race this index closes) must be withdrawn first; the
-- migration names them rather than choosing which one to keep.
DO $$
DECLARE
    dups text;
BEGIN
    SELECT string_agg(refs, '; ') INTO dups FROM (
        SELECT string_agg(case_ref, ', ' ORDER BY opened_at) AS refs FROM vetting_cases
        WHERE closed_at IS NULL GROUP BY person_id, type, requested_level HAVING count(*) > 1) d;
    IF dups IS NOT NULL THEN
        RAISE EXCEPTION 'open vetting cases duplicate each other (same person, type and level): %. Withdraw all but one of each, then migrate again', dups;
    END IF;
END $$;

CREATE UNIQUE INDEX vetting_cases_one_open_key ON vetting_cases (person_id, type, requested_level)
    WHERE closed_at IS NULL;

-- A staff user's keyed write request and its first answer. The request is kept as its method, path and
-- the SHA-256 of its body (never the body: it may hold personal data); the answer as its status, content
-- type, Location and body, replayed to a retry. A row without a status is a request in progress, claimed
-- until locked_until; answers of 5xx are not kept (the retry runs again). Rows expire after a day.
CREATE TABLE idempotency_keys (
    user_id        uuid NOT NULL REFERENCES staff_users (id),
    key            text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    method         text NOT NULL,
    path           text NOT NULL,
    request_hash   bytea NOT NULL,
    status         integer,
    content_type   text NOT NULL DEFAULT '',
    location       text NOT NULL DEFAULT '',
    body           bytea,
    created_at     timestamptz NOT NULL DEFAULT now(),
    locked_until   timestamptz,
    expires_at     timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at);

---- create above / drop below ----

DROP TABLE idempotency_keys;
DROP INDEX vetting_cases_one_open_key;
