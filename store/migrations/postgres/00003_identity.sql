-- +goose Up
-- Each sign-up attempt for an unverified address carries its own password
-- and name; verifying a link applies the attempt it belongs to and ends the
-- others. Rows made before this migration have NULLs: they verify only.
ALTER TABLE email_verifications ADD COLUMN password_hash TEXT;
ALTER TABLE email_verifications ADD COLUMN name TEXT;
CREATE INDEX email_verifications_user ON email_verifications (user_id);

-- Counters for login throttling and mail limits, shared by every replica.
-- key names what is counted ("login:addr:...", "login:ip:...", "mail:...");
-- hits count within the window that began at window_start.
CREATE TABLE throttles (
    key          TEXT    PRIMARY KEY,
    hits         BIGINT  NOT NULL,
    window_start BIGINT  NOT NULL,
    last_at      BIGINT  NOT NULL
);

-- Where each user has logged in from: the address-wide login throttle does
-- not apply from these, so an attacker cannot lock the user out of them.
CREATE TABLE known_logins (
    user_id BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ip      TEXT    NOT NULL,
    last_at BIGINT  NOT NULL,
    PRIMARY KEY (user_id, ip)
);

-- +goose Down
DROP TABLE known_logins;
DROP TABLE throttles;
DROP INDEX email_verifications_user;
ALTER TABLE email_verifications DROP COLUMN name;
ALTER TABLE email_verifications DROP COLUMN password_hash;
