-- Messages go out as written, costs never block, identity evidence kept (issue 11, findings 10 and 11).

-- A WhatsApp template's variables as Twilio numbers them: the Nth name listed fills placeholder N of the
-- approved Content template (ContentVariables {"1": ..., "2": ...}).
ALTER TABLE message_templates ADD COLUMN content_variables text[] NOT NULL DEFAULT '{}';

-- What is handed to the provider besides the body: the e-mail's HTML part, the WhatsApp Content template
-- and its variables (keys "1", "2", ...), fixed when the message is recorded so a retry sends the same.
ALTER TABLE messages ADD COLUMN html text NOT NULL DEFAULT '',
    ADD COLUMN content_sid text NOT NULL DEFAULT '',
    ADD COLUMN content_variables jsonb;

-- Cost fetching: a message the provider cannot price (it states none, or does not know the message) is
-- tried a few times and then marked unpriceable, so it never holds up the others.
ALTER TABLE messages ADD COLUMN price_status text NOT NULL DEFAULT 'pending'
        CHECK (price_status IN ('pending', 'priced', 'unpriceable')),
    ADD COLUMN price_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN price_checked_at timestamptz,
    ADD COLUMN price_note text NOT NULL DEFAULT '';
UPDATE messages SET price_status = 'priced' WHERE price IS NOT NULL;
DROP INDEX messages_unpriced_idx;
CREATE INDEX messages_unpriced_idx ON messages (price_checked_at NULLS FIRST, status_at)
    WHERE price_status = 'pending' AND provider = 'twilio'
    AND status IN ('sent', 'delivered', 'read', 'undelivered', 'failed') AND provider_id IS NOT NULL;

-- An accepted identity check's result archive, as the provider gave it, sealed with AES-256-GCM under an
-- application key (EVIDENCE_KEY): the nonce and ciphertext, the key's id, and the SHA-256 of the plain
-- archive (identity_checks.evidence_sha256 holds the same digest).
CREATE TABLE identity_evidence (
    case_ref    text NOT NULL,
    attempt     integer NOT NULL,
    key_id      text NOT NULL,
    sealed      bytea NOT NULL,
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    bytes       bigint NOT NULL CHECK (bytes >= 0),
    stored_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_ref, attempt),
    FOREIGN KEY (case_ref, attempt) REFERENCES identity_checks (case_ref, attempt)
);

-- A callback is kept once passed on to the identity check; until then (the workflow engine could not be
-- reached and the provider was answered 503) the provider's retry passes it on again.
ALTER TABLE identity_callbacks ADD COLUMN passed_at timestamptz;
UPDATE identity_callbacks SET passed_at = received_at;

---- create above / drop below ----

ALTER TABLE identity_callbacks DROP COLUMN passed_at;
DROP TABLE identity_evidence;
DROP INDEX messages_unpriced_idx;
ALTER TABLE messages DROP COLUMN price_note, DROP COLUMN price_checked_at, DROP COLUMN price_attempts,
    DROP COLUMN price_status, DROP COLUMN content_variables, DROP COLUMN content_sid, DROP COLUMN html;
CREATE INDEX messages_unpriced_idx ON messages (status_at) WHERE price IS NULL AND provider = 'twilio'
    AND status IN ('sent', 'delivered', 'read', 'undelivered', 'failed') AND provider_id IS NOT NULL;
ALTER TABLE message_templates DROP COLUMN content_variables;
