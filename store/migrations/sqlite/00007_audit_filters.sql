-- +goose Up
-- The audit log's filters (by person, by action), newest first, read from
-- an index instead of walking the account's whole log backwards.
CREATE INDEX audit_events_actor ON audit_events (account_id, actor_user_id, id);
CREATE INDEX audit_events_action ON audit_events (account_id, action, id);

-- +goose Down
DROP INDEX audit_events_action;
DROP INDEX audit_events_actor;
