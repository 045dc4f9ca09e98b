-- +goose Up
-- The team list at 100,000 members (issue 26). Every page is read from an
-- index of the members table alone:
-- - name_key, the member's name folded (roster_lower: Go's strings.ToLower)
--   and search_key, the name folded, a unit separator (char 31) and the
--   address folded, copied from users and kept by the store's writes that
--   add a member or change a user's name (store.refreshMemberKeys): the
--   name sort and the search no longer join users to order or filter. The
--   schema itself calls no roster_lower: only this backfill, run by Roster.
-- - member_counts, the account's members by role, kept by the triggers
--   below, so a page's count of the matches (no search, no status or
--   two-factor filter) is a sum of at most five rows, not a pass over them.
ALTER TABLE members ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN search_key TEXT NOT NULL DEFAULT '';
UPDATE members SET
    name_key = (SELECT roster_lower(u.name) FROM users u WHERE u.id = members.user_id),
    search_key = (SELECT roster_lower(u.name) || char(31) || roster_lower(u.email) FROM users u WHERE u.id = members.user_id);
CREATE INDEX members_by_name ON members (account_id, name_key, user_id);
CREATE INDEX members_by_role_name ON members (account_id, role, name_key, user_id);
CREATE INDEX members_by_joined ON members (account_id, joined_at, user_id);

CREATE TABLE member_counts (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role       INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (account_id, role)
);
INSERT INTO member_counts (account_id, role, n) SELECT account_id, role, COUNT(*) FROM members WHERE true GROUP BY account_id, role;

-- +goose StatementBegin
CREATE TRIGGER members_count_insert AFTER INSERT ON members BEGIN
    INSERT INTO member_counts (account_id, role, n) VALUES (NEW.account_id, NEW.role, 1)
        ON CONFLICT (account_id, role) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER members_count_delete AFTER DELETE ON members BEGIN
    UPDATE member_counts SET n = n - 1 WHERE account_id = OLD.account_id AND role = OLD.role;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER members_count_update AFTER UPDATE OF role ON members WHEN OLD.role <> NEW.role BEGIN
    UPDATE member_counts SET n = n - 1 WHERE account_id = OLD.account_id AND role = OLD.role;
    INSERT INTO member_counts (account_id, role, n) VALUES (NEW.account_id, NEW.role, 1)
        ON CONFLICT (account_id, role) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER members_count_update;
DROP TRIGGER members_count_delete;
DROP TRIGGER members_count_insert;
DROP TABLE member_counts;
DROP INDEX members_by_joined;
DROP INDEX members_by_role_name;
DROP INDEX members_by_name;
ALTER TABLE members DROP COLUMN search_key;
ALTER TABLE members DROP COLUMN name_key;
