-- +goose Up
-- The team list at 10,000 (issue 21). A role filter counts and reads one
-- role's members from an index; the pending invitations' list (newest
-- first, by keyset) reads its page from one.
CREATE INDEX members_role ON members (account_id, role, joined_at, user_id);
CREATE INDEX invitations_pending_list ON invitations (account_id, id) WHERE status = 'pending';

-- +goose Down
DROP INDEX invitations_pending_list;
DROP INDEX members_role;
