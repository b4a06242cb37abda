-- A placeholder for migration 020, which another branch (travel, issue 17) adds: tern wants migrations
-- numbered without gaps, and this branch's is 021. Drop this file when that branch's 020 is merged.
SELECT 1;

---- create above / drop below ----

SELECT 1;
