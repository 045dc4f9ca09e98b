-- +goose Up
-- Passkeys (issue 24): WebAuthn credentials a user signs in with, without
-- a password or as the second factor after one.

-- A credential: its ID and public key (COSE), the signature counter last
-- seen (a counter going back is a cloned authenticator), the model of the
-- authenticator (AAGUID), how the browser reaches it (transports, a JSON
-- array), whether it may be and is synced (backup eligible, backed up).
CREATE TABLE passkeys (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id   BYTEA   NOT NULL UNIQUE,
    public_key      BYTEA   NOT NULL,
    sign_count      BIGINT  NOT NULL DEFAULT 0,
    aaguid          BYTEA   NOT NULL,
    transports      TEXT    NOT NULL DEFAULT '[]',
    backup_eligible INTEGER NOT NULL DEFAULT 0,
    backed_up       INTEGER NOT NULL DEFAULT 0,
    name            TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    last_used_at    BIGINT
);
CREATE INDEX passkeys_user ON passkeys (user_id);

-- A ceremony begun and not yet finished: its challenge (go-webauthn's
-- session data, JSON), single use, for five minutes. Keyed by the hash of
-- a random flow ID (passwordless sign-in), of the pending sign-in's token
-- (second factor), or of the user (registration: one at a time).
CREATE TABLE passkey_flows (
    key_hash     BYTEA   PRIMARY KEY,
    user_id      BIGINT  REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL,
    session_data TEXT    NOT NULL,
    expires_at   BIGINT  NOT NULL
);
CREATE INDEX passkey_flows_expires ON passkey_flows (expires_at);

-- +goose Down
DROP TABLE passkey_flows;
DROP TABLE passkeys;
