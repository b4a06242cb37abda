-- A sync in which some persons could not be reconciled (a write refused, a record that is not theirs) ends
-- "completed_with_errors", never plain "completed": the others were reconciled, and its result names who
-- failed and why (by kind, never the system's message).
ALTER TABLE access_syncs DROP CONSTRAINT access_syncs_status_check;
ALTER TABLE access_syncs ADD CONSTRAINT access_syncs_status_check
    CHECK (status IN ('running', 'completed', 'completed_with_errors', 'failed'));

---- create above / drop below ----

UPDATE access_syncs SET status = 'completed' WHERE status = 'completed_with_errors';
ALTER TABLE access_syncs DROP CONSTRAINT access_syncs_status_check;
ALTER TABLE access_syncs ADD CONSTRAINT access_syncs_status_check
    CHECK (status IN ('running', 'completed', 'failed'));
