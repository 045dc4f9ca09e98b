-- +goose Up
-- Two-factor sign-in (TOTP), recovery codes, password resets, accounts that
-- require two-factor sign-in, and sessions a person can see and end.

-- The TOTP secret is kept readable (a code is checked against it); it is
-- on only once confirmed. totp_last_step is the last 30-second step whose
-- code was used: a code is never accepted twice.
ALTER TABLE users ADD COLUMN totp_secret TEXT,
                  ADD COLUMN totp_confirmed_at BIGINT,
                  ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;

CREATE TABLE recovery_codes (
    user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BYTEA  NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

ALTER TABLE accounts ADD COLUMN require_mfa SMALLINT NOT NULL DEFAULT 0 CHECK (require_mfa IN (0, 1));

CREATE TABLE password_resets (
    token_hash BYTEA  PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX password_resets_user ON password_resets (user_id);

CREATE TABLE pending_logins (
    token_hash BYTEA  PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

ALTER TABLE sessions ADD COLUMN id BIGSERIAL UNIQUE,
                     ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0,
                     ADD COLUMN ip TEXT NOT NULL DEFAULT '',
                     ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
UPDATE sessions SET last_seen_at = created_at;

-- +goose Down
ALTER TABLE sessions DROP COLUMN user_agent, DROP COLUMN ip, DROP COLUMN last_seen_at, DROP COLUMN id;
DROP TABLE pending_logins;
DROP TABLE password_resets;
ALTER TABLE accounts DROP COLUMN require_mfa;
DROP TABLE recovery_codes;
ALTER TABLE users DROP COLUMN totp_last_step, DROP COLUMN totp_confirmed_at, DROP COLUMN totp_secret;
