-- +goose Up
-- Times are unix microseconds (UTC) so the same Go code reads both backends.
CREATE TABLE users (
    id                 INTEGER PRIMARY KEY,
    email              TEXT    NOT NULL UNIQUE, -- normalized: trimmed, lower-case, punycode domain
    name               TEXT    NOT NULL,
    password_hash      TEXT    NOT NULL,
    verified_at        INTEGER,
    default_account_id INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
    created_at         INTEGER NOT NULL
);

CREATE TABLE accounts (
    id                     INTEGER PRIMARY KEY,
    auth_id                TEXT    NOT NULL UNIQUE,
    name                   TEXT    NOT NULL,
    plan                   TEXT    NOT NULL DEFAULT 'standard' CHECK (plan IN ('standard', 'committed')),
    monthly_commitment_usd INTEGER NOT NULL DEFAULT 0,
    contract_months        INTEGER NOT NULL DEFAULT 0,
    created_at             INTEGER NOT NULL,
    CHECK (plan = 'standard' OR (monthly_commitment_usd >= 750 AND contract_months >= 12))
);

CREATE TABLE members (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       INTEGER NOT NULL CHECK (role BETWEEN 1 AND 5),
    joined_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, user_id)
);
CREATE INDEX members_user ON members (user_id);
-- Exactly one owner per account: at most one here, and the owner is inserted
-- with the account in one transaction and can be neither re-roled nor deleted.
CREATE UNIQUE INDEX members_one_owner ON members (account_id) WHERE role = 1;

CREATE TABLE invitations (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email        TEXT    NOT NULL,
    role         INTEGER NOT NULL CHECK (role BETWEEN 2 AND 5),
    token_hash   BLOB    NOT NULL UNIQUE,
    status       TEXT    NOT NULL CHECK (status IN ('pending', 'accepted', 'revoked')),
    invited_by   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    send_count   INTEGER NOT NULL DEFAULT 1,
    created_at   INTEGER NOT NULL,
    last_sent_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    accepted_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    ended_at     INTEGER
);
-- One pending invitation per (account, address).
CREATE UNIQUE INDEX invitations_one_pending ON invitations (account_id, email) WHERE status = 'pending';

CREATE TABLE email_verifications (
    token_hash BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

CREATE TABLE sessions (
    token_hash BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE audit_events (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    actor_user_id INTEGER,
    actor_email   TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    target        TEXT    NOT NULL,
    detail        TEXT    NOT NULL,
    ip            TEXT    NOT NULL,
    at            INTEGER NOT NULL
);
CREATE INDEX audit_events_account ON audit_events (account_id, id);

-- Mail kept when no SMTP server is configured, and a record of every send.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    to_addr    TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

-- Every committed change to who may do what, in order. Its id is the
-- revision a replica has applied; replicas read it to update their check
-- index, and callers send it back to ask for read-after-write.
CREATE TABLE changes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL,
    user_id    INTEGER NOT NULL DEFAULT 0, -- 0: the account itself (its plan)
    at         INTEGER NOT NULL
);

-- +goose Down
DROP TABLE changes;
DROP TABLE outbox;
DROP TABLE audit_events;
DROP TABLE sessions;
DROP TABLE email_verifications;
DROP TABLE invitations;
DROP TABLE members;
DROP TABLE accounts;
DROP TABLE users;
