-- Audit writers no longer wait for one another: the hash chain ends here and the Merkle tree (014) carries
-- the log on alone.
--
-- Until now every audit entry took the next seq under the lock on the single audit_chain row, held until
-- its transaction ended, so every audited write in the system ran one at a time. From here an entry is
-- written with no chain fields, and its id is queued in audit_pending in the same transaction; the
-- sequencer (audit.Sequence) takes committed entries from the queue in batches, makes each the next leaf
-- of the tree and signs a checkpoint. Leaves are in the order the sequencer sees entries committed.
--
-- The chain's entries keep their seq, prev_hash and hash, the chain head stays where it stopped, and the
-- chain's signed checkpoints keep verifying (`audit verify` checks both). Entries the sequencer had not
-- reached yet are queued here, in chain order.

DROP TRIGGER audit_log_chain ON audit_log;
ALTER TABLE audit_log ALTER COLUMN seq DROP NOT NULL, ALTER COLUMN prev_hash DROP NOT NULL,
    ALTER COLUMN hash DROP NOT NULL;

-- Committed entries not yet leaves of the tree. The sequencer deletes an entry's row in the transaction
-- that makes it a leaf.
CREATE TABLE audit_pending (
    entry_id  bigint PRIMARY KEY
);
INSERT INTO audit_pending (entry_id)
    SELECT id FROM audit_log a WHERE NOT EXISTS (SELECT 1 FROM audit_leaves l WHERE l.entry_id = a.id) ORDER BY seq;

-- A new entry has no chain fields (none can be forged onto it), takes its time from the clock when it
-- names none, and is skipped when its dedup_key is logged already, as before: a plain INSERT of a logged
-- dedup_key is skipped, not refused. Two writers of the same new dedup_key at once meet at the unique
-- index: ON CONFLICT (dedup_key) DO NOTHING skips the second.
CREATE FUNCTION audit_log_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.dedup_key IS NOT NULL AND EXISTS (SELECT 1 FROM audit_log WHERE dedup_key = NEW.dedup_key) THEN
        RETURN NULL;
    END IF;
    IF NEW.at IS NULL THEN
        NEW.at := clock_timestamp();
    END IF;
    NEW.seq := NULL;
    NEW.prev_hash := NULL;
    NEW.hash := NULL;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_log_entry BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_entry();

-- Queue each entry actually inserted (an AFTER trigger: an entry skipped as a duplicate queues nothing).
CREATE FUNCTION audit_log_queue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_pending (entry_id) VALUES (NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER audit_log_queue AFTER INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_queue();

---- create above / drop below ----

-- Back to the chain: the entries written since are chained in id order after the head, then the chain
-- trigger takes over again.
DROP TRIGGER audit_log_queue ON audit_log;
DROP FUNCTION audit_log_queue;
DROP TRIGGER audit_log_entry ON audit_log;
DROP FUNCTION audit_log_entry;
DROP TABLE audit_pending;
ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change;
ALTER TABLE audit_chain DISABLE TRIGGER audit_chain_forward;
DO $$
DECLARE
    r     record;
    n     bigint;
    h     bytea;
    next  bytea;
BEGIN
    SELECT seq, hash INTO n, h FROM audit_chain WHERE id = 1;
    FOR r IN SELECT * FROM audit_log WHERE seq IS NULL ORDER BY id LOOP
        n := n + 1;
        next := audit_entry_hash(h, n, r.at, r.actor_id, r.action, r.entity_type, r.entity_id, r.detail, r.dedup_key);
        UPDATE audit_log SET seq = n, prev_hash = h, hash = next WHERE id = r.id;
        h := next;
    END LOOP;
    UPDATE audit_chain SET seq = n, hash = h WHERE id = 1;
END $$;
ALTER TABLE audit_chain ENABLE TRIGGER audit_chain_forward;
ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change;
ALTER TABLE audit_log ALTER COLUMN seq SET NOT NULL, ALTER COLUMN prev_hash SET NOT NULL,
    ALTER COLUMN hash SET NOT NULL;
CREATE OR REPLACE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
