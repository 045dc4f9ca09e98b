-- +goose Up
-- Issue 26: every mail goes through the outbox. A mail is written in the
-- transaction of the change that causes it (status pending, due at once);
-- a worker on any replica claims due mail under a lease (locked_until),
-- sends it and marks it sent (or logged, when no SMTP server is set), or
-- records the failure and when to try again (jittered exponential
-- back-off), giving up (failed) after a day. Retention deletes what is no
-- longer pending after ROSTER_OUTBOX_RETENTION.
ALTER TABLE outbox ADD COLUMN status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'sent', 'logged', 'failed'));
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN locked_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN done_at BIGINT; -- when sent, logged or given up
-- Every row before this migration was written to the log (the outbox
-- only kept mail when no SMTP server was set).
UPDATE outbox SET status = 'logged', done_at = created_at;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';

-- +goose Down
DROP INDEX outbox_due;
ALTER TABLE outbox DROP COLUMN done_at;
ALTER TABLE outbox DROP COLUMN locked_until;
ALTER TABLE outbox DROP COLUMN next_attempt_at;
ALTER TABLE outbox DROP COLUMN last_error;
ALTER TABLE outbox DROP COLUMN attempts;
ALTER TABLE outbox DROP COLUMN status;
