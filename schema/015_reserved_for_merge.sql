-- Placeholder only: migration 015 is written on another branch. tern needs numbers without gaps, so this
-- empty one stands in for it on the evidence-pack branch (h-evpack). Delete this file when merging; the
-- other branch's 015 takes its place and 016_evidence_packs.sql follows it (or is renumbered).
SELECT 1;

---- create above / drop below ----

SELECT 1;
