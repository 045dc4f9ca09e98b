-- +goose Up
-- The guarded areas. Money is in US cents, prices in micro-USD, times in
-- unix microseconds. Every row names its account.

CREATE TABLE account_settings (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    company    TEXT    NOT NULL DEFAULT '',
    address    TEXT    NOT NULL DEFAULT '',
    timezone   TEXT    NOT NULL DEFAULT 'UTC'
);

CREATE TABLE applications (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    answer_url    TEXT    NOT NULL,
    answer_method TEXT    NOT NULL CHECK (answer_method IN ('GET', 'POST')),
    hangup_url    TEXT    NOT NULL DEFAULT '',
    message_url   TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    UNIQUE (account_id, id)
);

CREATE TABLE numbers (
    account_id     INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    number         TEXT    NOT NULL,
    alias          TEXT    NOT NULL DEFAULT '',
    application_id INTEGER REFERENCES applications (id) ON DELETE SET NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (account_id, number)
);

-- The Auth Token is kept readable: the console reveals it to those who may
-- view credentials. A rotated-out token is kept only as a hash, until its
-- grace period ends.
CREATE TABLE credentials (
    account_id         INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    auth_token         TEXT    NOT NULL,
    previous_hash      BLOB,
    previous_until     INTEGER,
    rotated_at         INTEGER NOT NULL
);

CREATE TABLE billing (
    account_id      INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    balance_cents   INTEGER NOT NULL DEFAULT 0,
    auto_enabled    INTEGER NOT NULL DEFAULT 0,
    auto_threshold  INTEGER NOT NULL DEFAULT 0,
    auto_amount     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE payment_methods (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    brand      TEXT    NOT NULL,
    last4      TEXT    NOT NULL CHECK (length(last4) = 4),
    exp_month  INTEGER NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
    exp_year   INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE recharges (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    created_at   INTEGER NOT NULL
);
CREATE INDEX recharges_account ON recharges (account_id, created_at);

CREATE TABLE prices (
    country           TEXT    PRIMARY KEY,
    voice_per_minute  INTEGER NOT NULL CHECK (voice_per_minute >= 0),
    sms_per_message   INTEGER NOT NULL CHECK (sms_per_message >= 0)
);

CREATE TABLE call_logs (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind             TEXT    NOT NULL CHECK (kind IN ('call', 'message')),
    from_number      TEXT    NOT NULL,
    to_number        TEXT    NOT NULL,
    direction        TEXT    NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    status           TEXT    NOT NULL,
    duration_seconds INTEGER NOT NULL DEFAULT 0,
    started_at       INTEGER NOT NULL
);
CREATE INDEX call_logs_account ON call_logs (account_id, started_at);

-- A key belongs to a membership: deleting the member deletes its keys.
CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    key_hash     BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
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
