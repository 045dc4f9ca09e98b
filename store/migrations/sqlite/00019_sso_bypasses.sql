-- +goose Up
-- The owner of an account that requires single sign-on keeps a password
-- path (issue 22); each session that uses it in the account is recorded
-- once, so the audit event and the admins' mail come once per session and
-- account, on whichever replica.
CREATE TABLE sso_bypasses (
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    PRIMARY KEY (session_id, account_id)
);
CREATE INDEX sso_bypasses_account ON sso_bypasses (account_id);

-- +goose Down
DROP TABLE sso_bypasses;
