-- Chained checkpoints (version 2). Each new checkpoint signs, besides the chain head's seq and hash, the
-- time it was signed and the previous checkpoint's seq and hash, so a deleted checkpoint leaves a gap
-- `audit verify` names, and its time (which the cadence check reads) cannot be moved. Rows signed before
-- (version 1, no prev_*) keep verifying as they were; the first version 2 row chains to the newest of them.
--
-- Version 2 signature: Ed25519 over
--   "signetassure-audit-v2\n<seq>\n<hex(hash)>\n<signed_at: UTC, RFC 3339, 6 fractional digits>\n<prev_seq>\n<hex(prev_hash)>"
-- with prev_seq 0 and 32 zero bytes when there is no checkpoint before it. Every signed checkpoint is also
-- appended to the witness sinks outside the database (AUDIT_WITNESS_FILE), and the signing key never
-- enters the database.

ALTER TABLE audit_checkpoints
    ADD COLUMN version smallint NOT NULL DEFAULT 1 CHECK (version IN (1, 2)),
    ADD COLUMN prev_seq bigint,
    ADD COLUMN prev_hash bytea,
    ADD CONSTRAINT audit_checkpoints_chained CHECK (version = 1
        OR (prev_seq IS NOT NULL AND prev_seq >= 0 AND prev_seq < seq AND length(prev_hash) = 32));

---- create above / drop below ----

ALTER TABLE audit_checkpoints DROP CONSTRAINT audit_checkpoints_chained,
    DROP COLUMN prev_hash, DROP COLUMN prev_seq, DROP COLUMN version;
