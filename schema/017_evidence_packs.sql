-- Evidence packs (issue 14): a zip, built by the EvidencePack workflow, of a case's, a person's, a
-- supplier's or a date range's records as the requester's role may see them, every relevant audit entry
-- with its inclusion proof against one signed tree checkpoint, a PDF summary and a signed manifest. The
-- file is kept encrypted (age, X25519) under EVIDENCE_DIR; this row says what was asked for, by whom,
-- how far the build got, and the digest of the stored file. Links to download it are signed, expiring
-- and, for a single-use pack, spent once used.

CREATE TABLE evidence_packs (
    id              uuid PRIMARY KEY,
    subject_kind    text NOT NULL CHECK (subject_kind IN ('case', 'person', 'supplier', 'range')),
    -- the case reference, person id or supplier id; NULL for a range
    subject_id      text CHECK ((subject_kind = 'range') = (subject_id IS NULL)),
    range_from      timestamptz,
    range_to        timestamptz,
    CHECK ((subject_kind = 'range') = (range_from IS NOT NULL AND range_to IS NOT NULL)),
    CHECK (range_from IS NULL OR range_from < range_to),
    requested_by    uuid NOT NULL REFERENCES staff_users (id),
    -- the role the pack's records are disclosed to (what that role may see, no more)
    requester_role  text NOT NULL,
    status          text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'building', 'ready', 'failed')),
    -- progress: records written, audit entries written, and the entries to write (0 until counted)
    records         integer NOT NULL DEFAULT 0 CHECK (records >= 0),
    entries         bigint NOT NULL DEFAULT 0 CHECK (entries >= 0),
    total           bigint NOT NULL DEFAULT 0 CHECK (total >= 0),
    -- the signed checkpoint every proof is against, and the relevant entries not yet in it (left for a
    -- later pack)
    tree_size       bigint,
    unsequenced     bigint NOT NULL DEFAULT 0,
    -- the stored (encrypted) file: its size and SHA-256
    size            bigint,
    sha256          bytea CHECK (sha256 IS NULL OR length(sha256) = 32),
    -- why a build failed, in words with no personal data
    error           text,
    link_lifetime   interval NOT NULL CHECK (link_lifetime > interval '0'),
    single_use      boolean NOT NULL DEFAULT false,
    -- a single-use pack's first download
    used_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz
);
CREATE INDEX evidence_packs_created ON evidence_packs (created_at DESC, id);

---- create above / drop below ----

DROP TABLE evidence_packs;
