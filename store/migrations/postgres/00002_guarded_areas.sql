-- +goose Up
-- The guarded areas. Money is in US cents, prices in micro-USD, times in
-- unix microseconds. Every row names its account.

CREATE TABLE account_settings (
    account_id BIGINT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    company    TEXT    NOT NULL DEFAULT '',
    address    TEXT    NOT NULL DEFAULT '',
    timezone   TEXT    NOT NULL DEFAULT 'UTC'
);

CREATE TABLE applications (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id    BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    answer_url    TEXT    NOT NULL,
    answer_method TEXT    NOT NULL CHECK (answer_method IN ('GET', 'POST')),
    hangup_url    TEXT    NOT NULL DEFAULT '',
    message_url   TEXT    NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    UNIQUE (account_id, id)
);

CREATE TABLE numbers (
    account_id     BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    number         TEXT    NOT NULL,
    alias          TEXT    NOT NULL DEFAULT '',
    application_id BIGINT REFERENCES applications (id) ON DELETE SET NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (account_id, number)
);

-- The Auth Token is kept readable: the console reveals it to those who may
-- view credentials. A rotated-out token is kept only as a hash, until its
-- grace period ends.
CREATE TABLE credentials (
    account_id         BIGINT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    auth_token         TEXT    NOT NULL,
    previous_hash      BYTEA,
    previous_until     BIGINT,
    rotated_at         BIGINT NOT NULL
);

CREATE TABLE billing (
    account_id      BIGINT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    balance_cents   BIGINT NOT NULL DEFAULT 0,
    auto_enabled    BOOLEAN NOT NULL DEFAULT FALSE,
    auto_threshold  BIGINT NOT NULL DEFAULT 0,
    auto_amount     BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE payment_methods (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    brand      TEXT    NOT NULL,
    last4      TEXT    NOT NULL CHECK (length(last4) = 4),
    exp_month  INTEGER NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
    exp_year   INTEGER NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE recharges (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    created_at   BIGINT NOT NULL
);
CREATE INDEX recharges_account ON recharges (account_id, created_at);

CREATE TABLE prices (
    country           TEXT    PRIMARY KEY,
    voice_per_minute  BIGINT NOT NULL CHECK (voice_per_minute >= 0),
    sms_per_message   BIGINT NOT NULL CHECK (sms_per_message >= 0)
);

CREATE TABLE call_logs (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id       BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind             TEXT    NOT NULL CHECK (kind IN ('call', 'message')),
    from_number      TEXT    NOT NULL,
    to_number        TEXT    NOT NULL,
    direction        TEXT    NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    status           TEXT    NOT NULL,
    duration_seconds INTEGER NOT NULL DEFAULT 0,
    started_at       BIGINT NOT NULL
);
CREATE INDEX call_logs_account ON call_logs (account_id, started_at);

-- A key belongs to a membership: deleting the member deletes its keys.
CREATE TABLE api_keys (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   BIGINT NOT NULL,
    user_id      BIGINT NOT NULL,
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    key_hash     BYTEA    NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    FOREIGN KEY (account_id, user_id) REFERENCES members (account_id, user_id) ON DELETE CASCADE
);
CREATE INDEX api_keys_user ON api_keys (user_id);

-- +goose Down
DROP TABLE api_keys;
DROP TABLE call_logs;
DROP TABLE prices;
DROP TABLE recharges;
DROP TABLE payment_methods;
DROP TABLE billing;
DROP TABLE credentials;
DROP TABLE numbers;
DROP TABLE applications;
DROP TABLE account_settings;
