-- Staff API tokens are listed, revoked and rotated by their holders (and revoked by administrators):
-- each keeps the first characters of its secret, so a holder can tell their tokens apart (and a leaked
-- one can be found) without the secret being kept. Tokens issued before have none.

ALTER TABLE api_tokens ADD COLUMN prefix text CHECK (prefix ~ '^sat_[A-Za-z0-9_-]{6}$');
CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at DESC);

---- create above / drop below ----

DROP INDEX api_tokens_user;
ALTER TABLE api_tokens DROP COLUMN prefix;
