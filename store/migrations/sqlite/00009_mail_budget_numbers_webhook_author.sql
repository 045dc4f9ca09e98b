-- +goose Up
-- Issue 19: invitation mail has a budget, a phone number belongs to one
-- account, a webhook records who made it.

-- One row per invitation mail sent (an invite or a resend), written in the
-- transaction that decides to send it: the account's hourly and daily
-- budget and one address's pacing are counted here, so every replica and
-- every concurrent writer sees the same count. Rows older than a day serve
-- no window and are pruned.
CREATE TABLE invitation_mails (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email      TEXT    NOT NULL,
    sent_at    INTEGER NOT NULL
);
CREATE INDEX invitation_mails_account ON invitation_mails (account_id, sent_at);
CREATE INDEX invitation_mails_address ON invitation_mails (account_id, email, sent_at);
-- The last send of each invitation of the past day, so the budget does not
-- start from nothing on upgrade (earlier resends were not recorded).
INSERT INTO invitation_mails (account_id, email, sent_at)
    SELECT account_id, email, last_sent_at FROM invitations
    WHERE last_sent_at > (CAST(strftime('%s', 'now') AS INTEGER) - 86400) * 1000000;

-- A number held by two accounts (possible before this migration) stays
-- with the account that added it first; the later copies are released,
-- and each release is written to that account's audit log.
INSERT INTO audit_events (account_id, actor_user_id, actor_email, action, target, detail, ip, at)
    SELECT n.account_id, NULL, 'roster (migration 00009)', 'number.release', n.number,
           'another account added this number first: a number belongs to one account', '',
           CAST(strftime('%s', 'now') AS INTEGER) * 1000000
    FROM numbers n
    WHERE EXISTS (SELECT 1 FROM numbers o WHERE o.number = n.number
                  AND (o.created_at < n.created_at OR (o.created_at = n.created_at AND o.account_id < n.account_id)));
DELETE FROM numbers
    WHERE EXISTS (SELECT 1 FROM numbers o WHERE o.number = numbers.number
                  AND (o.created_at < numbers.created_at OR (o.created_at = numbers.created_at AND o.account_id < numbers.account_id)));
CREATE UNIQUE INDEX numbers_one_account ON numbers (number);

-- Who made a webhook: the user (kept after they leave, like the audit
-- log's actor) and their address then. Webhooks made before are NULL / ''.
ALTER TABLE webhooks ADD COLUMN created_by INTEGER;
ALTER TABLE webhooks ADD COLUMN created_by_email TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE webhooks DROP COLUMN created_by_email;
ALTER TABLE webhooks DROP COLUMN created_by;
DROP INDEX numbers_one_account;
DROP TABLE invitation_mails;
