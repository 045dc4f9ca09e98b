-- +goose Up
-- SCIM 2.0 provisioning (issue 23): the company's directory adds, changes,
-- deactivates and removes an account's members.

-- A member deactivated by the directory keeps their place (and role) but
-- holds nothing in the account until reactivated.
ALTER TABLE members ADD COLUMN deactivated_at INTEGER;

-- A bearer token the directory presents; stored hashed, shown once.
CREATE TABLE scim_tokens (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    token_hash   BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX scim_tokens_account ON scim_tokens (account_id);

-- An account's provisioning settings: the role a provisioned member gets
-- when neither the request nor a mapped group names one, and the roles of
-- the directory's groups by display name (a JSON object).
CREATE TABLE scim_settings (
    account_id   INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    default_role INTEGER NOT NULL DEFAULT 5 CHECK (default_role BETWEEN 2 AND 5),
    group_roles  TEXT    NOT NULL DEFAULT '{}'
);

-- A member the directory provisioned: its externalId, and the role the
-- request named (0: none; the role comes from the groups or the default).
CREATE TABLE scim_users (
    account_id  INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    external_id TEXT    NOT NULL DEFAULT '',
    named_role  INTEGER NOT NULL DEFAULT 0 CHECK (named_role BETWEEN 0 AND 5 AND named_role <> 1),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, user_id),
    FOREIGN KEY (account_id, user_id) REFERENCES members (account_id, user_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX scim_users_external ON scim_users (account_id, external_id) WHERE external_id <> '';

-- The directory's groups, and which provisioned members are in each.
CREATE TABLE scim_groups (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    display_name TEXT    NOT NULL,
    external_id  TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    UNIQUE (account_id, display_name)
);
CREATE TABLE scim_group_members (
    group_id   INTEGER NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id),
    FOREIGN KEY (account_id, user_id) REFERENCES members (account_id, user_id) ON DELETE CASCADE
);
CREATE INDEX scim_group_members_user ON scim_group_members (account_id, user_id);

-- +goose Down
DROP TABLE scim_group_members;
DROP TABLE scim_groups;
DROP TABLE scim_users;
DROP TABLE scim_settings;
DROP TABLE scim_tokens;
ALTER TABLE members DROP COLUMN deactivated_at;
