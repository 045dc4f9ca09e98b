-- +goose Up
-- The team list at 100,000 members (issue 26). Every page is read from an
-- index of the members table alone:
-- - name_key, the member's name folded (roster_lower: Go's strings.ToLower)
--   and search_key, the name folded, a unit separator (char 31) and the
--   address folded, copied from users and kept by the store's writes that
--   add a member or change a user's name (store.refreshMemberKeys): the
--   name sort and the search no longer join users to order or filter. The
--   schema itself calls no roster_lower: only this backfill, run by Roster.
ALTER TABLE members ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN search_key TEXT NOT NULL DEFAULT '';
UPDATE members SET
    name_key = (SELECT roster_lower(u.name) FROM users u WHERE u.id = members.user_id),
    search_key = (SELECT roster_lower(u.name) || char(31) || roster_lower(u.email) FROM users u WHERE u.id = members.user_id);
CREATE INDEX members_by_name ON members (account_id, name_key, user_id);
CREATE INDEX members_by_role_name ON members (account_id, role, name_key, user_id);
CREATE INDEX members_by_joined ON members (account_id, joined_at, user_id);

-- +goose Down
DROP INDEX members_by_joined;
DROP INDEX members_by_role_name;
DROP INDEX members_by_name;
ALTER TABLE members DROP COLUMN search_key;
ALTER TABLE members DROP COLUMN name_key;
