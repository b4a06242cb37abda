-- The audit log as a Merkle tree (RFC 6962 hashing, package audit/tlog), beside the hash chain for now:
-- a sequencer (audit.Sequence, run by the worker every few seconds) gives each committed entry the next
-- leaf, in chain order, stores the hash of every node of the tree it completes, and signs a checkpoint
-- of the new size in the C2SP tlog-checkpoint format. Inclusion and consistency proofs are read from
-- the stored nodes; anyone with the deployment's public key can check them.
--
-- A leaf is sha256(0x00 || leaf data), and the leaf data of an entry (audit.LeafData) is
-- "signetassure-audit-leaf-v1" followed by the netstrings of its id, at (µs since the epoch), actor id
-- ('' for the system), action, entity type, entity id, detail::text and dedup key ('' when none).

-- Which entry each leaf is (no foreign key: audit_log refuses TRUNCATE with its own append-only error).
CREATE TABLE audit_leaves (
    leaf_index  bigint PRIMARY KEY CHECK (leaf_index >= 0),
    entry_id    bigint NOT NULL UNIQUE
);

-- Every completed node of the tree: level 0 the leaves; node (level, idx) covers leaves
-- [idx * 2^level, (idx + 1) * 2^level). A node's hash never changes once stored.
CREATE TABLE audit_tree_nodes (
    level  smallint NOT NULL CHECK (level BETWEEN 0 AND 63),
    idx    bigint NOT NULL CHECK (idx >= 0),
    hash   bytea NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
);

-- The tree's size and the roots of its perfect subtrees, left to right (the compact range the
-- sequencer extends).
CREATE TABLE audit_tree (
    id      smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    size    bigint NOT NULL CHECK (size >= 0),
    hashes  bytea[] NOT NULL
);
INSERT INTO audit_tree (size, hashes) VALUES (0, '{}');

-- Signed checkpoints of the tree (C2SP tlog-checkpoint notes, signed with the audit signing key, which
-- never lives in the database).
CREATE TABLE audit_tree_checkpoints (
    size       bigint PRIMARY KEY CHECK (size >= 0),
    root       bytea NOT NULL CHECK (length(root) = 32),
    note       text NOT NULL,
    signed_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION audit_tree_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;
CREATE TRIGGER audit_leaves_append_only BEFORE UPDATE OR DELETE ON audit_leaves
    FOR EACH ROW EXECUTE FUNCTION audit_tree_append_only();
CREATE TRIGGER audit_tree_nodes_append_only BEFORE UPDATE OR DELETE ON audit_tree_nodes
    FOR EACH ROW EXECUTE FUNCTION audit_tree_append_only();
CREATE TRIGGER audit_tree_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_tree_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_tree_append_only();
CREATE TRIGGER audit_leaves_no_truncate BEFORE TRUNCATE ON audit_leaves
    FOR EACH STATEMENT EXECUTE FUNCTION audit_tree_append_only();
CREATE TRIGGER audit_tree_nodes_no_truncate BEFORE TRUNCATE ON audit_tree_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION audit_tree_append_only();
CREATE TRIGGER audit_tree_checkpoints_no_truncate BEFORE TRUNCATE ON audit_tree_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_tree_append_only();

---- create above / drop below ----

DROP TABLE audit_tree_checkpoints;
DROP TABLE audit_tree;
DROP TABLE audit_tree_nodes;
DROP TABLE audit_leaves;
DROP FUNCTION audit_tree_append_only;
