-- Tamper-evident audit log: every audit_log entry is hash-chained to the one before it, and the chain head is
-- signed from time to time (Ed25519 checkpoints, package audit). `signetassure audit verify` recomputes it.
--
-- Entry hash (package audit recomputes exactly this; change both together, never in place):
--
--   hash = sha256(prev_hash || N(seq) || N(at_us) || N(actor_id) || N(action) || N(entity_type)
--                 || N(entity_id) || N(detail) || N(dedup_key))
--
-- where N(s) is the netstring of s's UTF-8 bytes: the decimal byte length, ':', the bytes, ',' (so no
-- field's content can be mistaken for a separator), and the fields are written as text:
--   seq        decimal
--   at_us      microseconds since 1970-01-01 00:00 UTC, decimal
--   actor_id   the uuid in its lower-case hyphenated form, or '' for the system
--   detail     detail::text (jsonb's normalised output)
--   dedup_key  the key, or '' when NULL
-- The first entry's prev_hash is 32 zero bytes.
--
-- Audit writers are serialised by the lock on the single audit_chain row, held until their transaction
-- ends: write the audit entry last in a transaction.

ALTER TABLE audit_log ADD COLUMN seq bigint UNIQUE, ADD COLUMN prev_hash bytea, ADD COLUMN hash bytea;

-- The chain head: the newest entry's seq and hash (seq 0 and 32 zero bytes before the first entry).
CREATE TABLE audit_chain (
    id    smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    seq   bigint NOT NULL,
    hash  bytea NOT NULL
);
INSERT INTO audit_chain (seq, hash) VALUES (0, decode(repeat('00', 32), 'hex'));

CREATE FUNCTION audit_netstring(s text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT convert_to(length(b)::text || ':', 'UTF8') || b || convert_to(',', 'UTF8')
    FROM (SELECT convert_to(s, 'UTF8') AS b) x
$$;

CREATE FUNCTION audit_entry_hash(prev_hash bytea, seq bigint, at timestamptz, actor_id uuid, action text,
    entity_type text, entity_id text, detail jsonb, dedup_key text) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT sha256(prev_hash
        || audit_netstring(seq::text)
        || audit_netstring((extract(epoch FROM at) * 1000000)::bigint::text)
        || audit_netstring(coalesce(actor_id::text, ''))
        || audit_netstring(action)
        || audit_netstring(entity_type)
        || audit_netstring(entity_id)
        || audit_netstring(detail::text)
        || audit_netstring(coalesce(dedup_key, '')))
$$;

-- Chain existing entries in id order.
ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change;
DO $$
DECLARE
    r     record;
    n     bigint;
    h     bytea;
    next  bytea;
BEGIN
    SELECT seq, hash INTO n, h FROM audit_chain WHERE id = 1;
    FOR r IN SELECT * FROM audit_log ORDER BY id LOOP
        n := n + 1;
        next := audit_entry_hash(h, n, r.at, r.actor_id, r.action, r.entity_type, r.entity_id, r.detail, r.dedup_key);
        UPDATE audit_log SET seq = n, prev_hash = h, hash = next WHERE id = r.id;
        h := next;
    END LOOP;
    UPDATE audit_chain SET seq = n, hash = h WHERE id = 1;
END $$;
ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change;
ALTER TABLE audit_log ALTER COLUMN seq SET NOT NULL, ALTER COLUMN prev_hash SET NOT NULL,
    ALTER COLUMN hash SET NOT NULL;

-- Every new entry: lock the head (serialising audit writers), take the next seq, link and hash, move the head.
-- An entry whose dedup_key is already logged is skipped here (as ON CONFLICT (dedup_key) DO NOTHING would
-- skip it, but before the head moves): with the head locked, every earlier entry is committed or ours, so
-- the check cannot miss one. A plain INSERT of a logged dedup_key is therefore skipped too, not refused.
CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head_seq   bigint;
    head_hash  bytea;
BEGIN
    SELECT seq, hash INTO head_seq, head_hash FROM audit_chain WHERE id = 1 FOR UPDATE;
    IF NEW.dedup_key IS NOT NULL AND EXISTS (SELECT 1 FROM audit_log WHERE dedup_key = NEW.dedup_key) THEN
        RETURN NULL;
    END IF;
    IF NEW.at IS NULL THEN
        NEW.at := clock_timestamp();
    END IF;
    NEW.seq := head_seq + 1;
    NEW.prev_hash := head_hash;
    NEW.hash := audit_entry_hash(NEW.prev_hash, NEW.seq, NEW.at, NEW.actor_id, NEW.action, NEW.entity_type,
        NEW.entity_id, NEW.detail, NEW.dedup_key);
    UPDATE audit_chain SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_chain();

-- The head only ever moves one entry forward, and is never removed.
CREATE FUNCTION audit_chain_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.id = OLD.id AND NEW.seq = OLD.seq + 1 THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_chain only moves forward with audit_log';
END $$;
CREATE TRIGGER audit_chain_forward BEFORE INSERT OR UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_chain_forward();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_forward();

-- Signed chain heads: signature = Ed25519 over "signetassure-audit-v1\n<seq>\n<hex(hash)>" with key key_id.
CREATE TABLE audit_checkpoints (
    seq        bigint PRIMARY KEY,
    hash       bytea NOT NULL,
    key_id     text NOT NULL,
    signature  bytea NOT NULL,
    signed_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION audit_checkpoints_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_checkpoints is append-only';
END $$;
CREATE TRIGGER audit_checkpoints_no_change BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoints_append_only();

---- create above / drop below ----

DROP TABLE audit_checkpoints;
DROP FUNCTION audit_checkpoints_append_only;
DROP TRIGGER audit_log_chain ON audit_log;
DROP FUNCTION audit_log_chain;
DROP TABLE audit_chain;
DROP FUNCTION audit_chain_forward;
DROP FUNCTION audit_entry_hash;
DROP FUNCTION audit_netstring;
ALTER TABLE audit_log DROP COLUMN hash, DROP COLUMN prev_hash, DROP COLUMN seq;
