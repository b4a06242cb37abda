-- Partner sites witness each other's audit logs: we keep, for each partner site we witness, the signed
-- checkpoints of its audit log (C2SP tlog-checkpoint notes) we fetched from it, each verified with the
-- key configured for the site and shown (by a consistency proof) to extend the one held before. A
-- checkpoint that does not (a fork, a rollback, a bad signature) is not stored: it is an audit entry
-- (partner.audit_fork, partner.audit_rollback, partner.audit_invalid) and a notification to staff.

-- The partner's audit log: its origin (the checkpoint's first line), the note verifier key that signs
-- its checkpoints ("<name>+<hash>+<base64 key>"), and whether we witness it. The last witnessing's
-- time and problem ('' when none) are kept like the health probe's.
ALTER TABLE partner_sites ADD COLUMN audit_origin text NOT NULL DEFAULT '';
ALTER TABLE partner_sites ADD COLUMN audit_verifier_key text NOT NULL DEFAULT '';
ALTER TABLE partner_sites ADD COLUMN audit_witness boolean NOT NULL DEFAULT false;
ALTER TABLE partner_sites ADD COLUMN audit_checked_at timestamptz;
ALTER TABLE partner_sites ADD COLUMN audit_problem text NOT NULL DEFAULT '';
ALTER TABLE partner_sites ADD CONSTRAINT partner_sites_audit_witness_check
    CHECK (NOT audit_witness OR (audit_origin <> '' AND audit_verifier_key <> ''));

-- A partner key may hold audit:witness: it reads our tree checkpoints and proofs (/api/external/audit/...).
ALTER TABLE partner_keys DROP CONSTRAINT partner_keys_scopes_check;
ALTER TABLE partner_keys ADD CONSTRAINT partner_keys_scopes_check
    CHECK (scopes <@ ARRAY['vetting:read', 'vetting:return', 'audit:witness'] AND cardinality(scopes) > 0);

-- The checkpoints of partners' audit logs we witnessed, append-only: one per (site, origin, size).
CREATE TABLE partner_audit_checkpoints (
    site_id     uuid NOT NULL REFERENCES partner_sites (id),
    origin      text NOT NULL,
    size        bigint NOT NULL CHECK (size >= 0),
    root        bytea NOT NULL CHECK (length(root) = 32),
    note        text NOT NULL,
    fetched_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, origin, size)
);

CREATE TRIGGER partner_audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON partner_audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_tree_append_only();
CREATE TRIGGER partner_audit_checkpoints_no_truncate BEFORE TRUNCATE ON partner_audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_tree_append_only();

---- create above / drop below ----

DROP TABLE partner_audit_checkpoints;
ALTER TABLE partner_keys DROP CONSTRAINT partner_keys_scopes_check;
-- A key that could only witness made no lookup (no disclosure names it): it goes.
DELETE FROM partner_keys WHERE scopes = ARRAY['audit:witness'];
UPDATE partner_keys SET scopes = array_remove(scopes, 'audit:witness') WHERE 'audit:witness' = ANY (scopes);
ALTER TABLE partner_keys ADD CONSTRAINT partner_keys_scopes_check
    CHECK (scopes <@ ARRAY['vetting:read', 'vetting:return'] AND cardinality(scopes) > 0);
ALTER TABLE partner_sites DROP CONSTRAINT partner_sites_audit_witness_check;
ALTER TABLE partner_sites DROP COLUMN audit_problem, DROP COLUMN audit_checked_at, DROP COLUMN audit_witness,
    DROP COLUMN audit_verifier_key, DROP COLUMN audit_origin;
