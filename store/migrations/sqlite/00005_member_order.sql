-- +goose Up
-- The member list's order (owner first, then by join time), so any page of
-- it, by offset or by cursor, is read from an index instead of a sort.
CREATE INDEX members_list_order ON members (account_id, (CASE WHEN role = 1 THEN 0 ELSE 1 END), joined_at, user_id);

-- +goose Down
DROP INDEX members_list_order;
