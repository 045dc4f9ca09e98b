-- +goose Up
-- Enterprise sign-in (issue 22): an account proves it holds a domain (a TXT
-- record), signs its people in through its identity provider (OpenID
-- Connect or SAML 2.0), and may require it of the members on its domains.

-- A domain an account claims; verified once its TXT record was seen. A
-- domain is verified by one account at most (domains_verified); several may
-- claim it while pending. token is the TXT record's value: shown to the
-- account's admins, not a secret.
CREATE TABLE domains (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    domain      TEXT    NOT NULL,
    token       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    verified_at BIGINT,
    UNIQUE (account_id, domain)
);
CREATE UNIQUE INDEX domains_verified ON domains (domain) WHERE verified_at IS NOT NULL;

-- A connection to the account's identity provider. client_secret is kept
-- readable (it is sent to the provider) and never answered. For SAML,
-- metadata_xml is the provider's metadata as last read (from metadata_url
-- when given).
CREATE TABLE sso_connections (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id          BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    type                TEXT    NOT NULL CHECK (type IN ('oidc', 'saml')),
    name                TEXT    NOT NULL,
    enabled             INTEGER NOT NULL DEFAULT 1,
    default_role        INTEGER NOT NULL DEFAULT 0 CHECK (default_role BETWEEN 0 AND 5 AND default_role <> 1),
    counts_as_mfa       INTEGER NOT NULL DEFAULT 0,
    issuer              TEXT    NOT NULL DEFAULT '',
    client_id           TEXT    NOT NULL DEFAULT '',
    client_secret       TEXT    NOT NULL DEFAULT '',
    metadata_xml        TEXT    NOT NULL DEFAULT '',
    metadata_url        TEXT    NOT NULL DEFAULT '',
    idp_entity_id       TEXT    NOT NULL DEFAULT '',
    allow_idp_initiated INTEGER NOT NULL DEFAULT 0,
    created_at          BIGINT  NOT NULL
);
CREATE INDEX sso_connections_account ON sso_connections (account_id);

-- A sign-in this server started and has not finished: the OIDC state or
-- the SAML AuthnRequest ID (its SHA-256), with what finishing it needs.
-- Used once (deleted by the callback that reads it), swept when expired.
CREATE TABLE sso_flows (
    key_hash      BYTEA    PRIMARY KEY,
    connection_id BIGINT  NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    verifier      TEXT    NOT NULL DEFAULT '',
    nonce         TEXT    NOT NULL DEFAULT '',
    expires_at    BIGINT  NOT NULL
);
CREATE INDEX sso_flows_expires ON sso_flows (expires_at);

-- SAML assertion IDs already accepted, kept until they expire: a replay is
-- refused on every replica.
CREATE TABLE sso_assertions (
    connection_id BIGINT  NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    assertion_id  TEXT    NOT NULL,
    expires_at    BIGINT  NOT NULL,
    PRIMARY KEY (connection_id, assertion_id)
);
CREATE INDEX sso_assertions_expires ON sso_assertions (expires_at);

-- A session records the connection it came through: deleting the
-- connection ends it; disabling it ends it too (service).
ALTER TABLE sessions ADD COLUMN sso_connection_id BIGINT  REFERENCES sso_connections (id) ON DELETE CASCADE;
CREATE INDEX sessions_sso ON sessions (sso_connection_id) WHERE sso_connection_id IS NOT NULL;

ALTER TABLE accounts ADD COLUMN require_sso INTEGER NOT NULL DEFAULT 0;

-- When the member last signed in through the account's single sign-on
-- (member lists show "SSO").
ALTER TABLE members ADD COLUMN sso_at BIGINT;

-- +goose Down
ALTER TABLE members DROP COLUMN sso_at;
ALTER TABLE accounts DROP COLUMN require_sso;
DROP INDEX sessions_sso;
ALTER TABLE sessions DROP COLUMN sso_connection_id;
DROP TABLE sso_assertions;
DROP TABLE sso_flows;
DROP TABLE sso_connections;
DROP TABLE domains;
