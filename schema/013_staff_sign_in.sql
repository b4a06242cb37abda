-- Staff sign-in: users linked to a directory (Entra ID, LDAP/AD) whose groups set their roles at every
-- sign-in; API tokens limited to scopes; console sessions kept here, never in the browser but for a
-- random id in a cookie; the in-flight state of an OpenID Connect sign-in; and case workers scoped to
-- their sites and suppliers where the organisation turns that on.

ALTER TABLE staff_users
    ADD COLUMN directory text NOT NULL DEFAULT 'local' CHECK (directory IN ('local', 'entra', 'ldap')),
    -- the directory's stable id for the user (Entra object id, LDAP entryUUID / objectGUID); NULL until
    -- their first sign-in links a directory user an administrator added by e-mail
    ADD COLUMN directory_subject text CHECK (directory_subject IS NULL OR directory <> 'local'),
    -- who made the user inactive: an administrator, or the directory (no group of theirs maps to a
    -- role); only the directory's own deactivation is undone by a later sign-in
    ADD COLUMN deactivated_by text CHECK (deactivated_by IN ('administrator', 'directory')),
    ADD COLUMN last_sign_in_at timestamptz,
    -- the sites and suppliers whose persons a scoped case worker sees (organisation.scope_case_workers)
    ADD COLUMN location_ids uuid[] NOT NULL DEFAULT '{}',
    ADD COLUMN supplier_ids uuid[] NOT NULL DEFAULT '{}';
CREATE UNIQUE INDEX staff_users_directory_subject ON staff_users (directory, directory_subject)
    WHERE directory_subject IS NOT NULL;

ALTER TABLE organisation ADD COLUMN scope_case_workers boolean NOT NULL DEFAULT false;

-- NULL: every scope the holder's roles give (tokens issued before scopes, the bootstrap token)
ALTER TABLE api_tokens ADD COLUMN scopes text[] CHECK (scopes IS NULL OR cardinality(scopes) > 0);

CREATE TABLE staff_sessions (
    id            uuid PRIMARY KEY,
    secret_hash   bytea NOT NULL UNIQUE,   -- SHA-256 of the cookie's 256-bit secret; never the secret
    user_id       uuid NOT NULL REFERENCES staff_users (id),
    -- how the user signed in: entra, ldap, or token (a staff API token exchanged for a session)
    method        text NOT NULL CHECK (method IN ('entra', 'ldap', 'token')),
    -- NULL: every scope of the user's roles; a session from a token keeps that token's scopes
    scopes        text[],
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,    -- the absolute limit; the idle limit runs from last_seen_at
    ended_at      timestamptz,
    end_reason    text CHECK (end_reason IN ('signed_out', 'signed_out_everywhere', 'user_deactivated', 'directory', 'administrator'))
);
CREATE INDEX staff_sessions_user ON staff_sessions (user_id, created_at DESC);

-- An OpenID Connect sign-in between the redirect to the directory and its return: bound to the browser
-- that started it (the hash of a cookie's secret) and to the state it sent; used once, within minutes.
CREATE TABLE sign_in_attempts (
    state         text PRIMARY KEY,
    browser_hash  bytea NOT NULL,
    nonce         text NOT NULL,
    verifier      text NOT NULL,
    return_to     text NOT NULL DEFAULT '/ui/',
    expires_at    timestamptz NOT NULL
);

---- create above / drop below ----

DROP TABLE sign_in_attempts;
DROP TABLE staff_sessions;
ALTER TABLE api_tokens DROP COLUMN scopes;
ALTER TABLE organisation DROP COLUMN scope_case_workers;
DROP INDEX staff_users_directory_subject;
ALTER TABLE staff_users DROP COLUMN directory, DROP COLUMN directory_subject, DROP COLUMN deactivated_by,
    DROP COLUMN last_sign_in_at, DROP COLUMN location_ids, DROP COLUMN supplier_ids;
