-- Partner trust: a partner's /return keeps the request it answered, so a partnerCaseId used again with
-- another body is refused (409) and the same body gets the first answer; failed authentication on the
-- external endpoints is counted per caller address and minute, outside the hash chain, so a flood of bad
-- keys adds a bounded number of rows while every call is still accounted for.

ALTER TABLE partner_returns ADD COLUMN request jsonb;
-- A return is claimed (its request, no answer yet) before it is carried out, so two sent at once under one
-- partnerCaseId cannot both be.
ALTER TABLE partner_returns ALTER COLUMN answer DROP NOT NULL;

CREATE TABLE external_auth_failures (
    minute     timestamptz NOT NULL,
    caller_ip  text NOT NULL,
    endpoint   text NOT NULL,
    outcome    text NOT NULL,
    count      bigint NOT NULL CHECK (count > 0),
    first_at   timestamptz NOT NULL DEFAULT now(),
    last_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (minute, caller_ip, endpoint, outcome)
);

---- create above / drop below ----

DROP TABLE external_auth_failures;
DELETE FROM partner_returns WHERE answer IS NULL;
ALTER TABLE partner_returns ALTER COLUMN answer SET NOT NULL;
ALTER TABLE partner_returns DROP COLUMN request;
