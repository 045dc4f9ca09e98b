-- +goose Up
-- The team list at 100,000 members (issue 26). Every page is read from an
-- index of the members table alone:
-- - name_key, the member's name folded (LOWER, compared byte by byte) and
--   search_key, the name folded, a unit separator (chr 31) and the address
--   folded, copied from users and kept by the store's writes that add a
--   member or change a user's name (store.refreshMemberKeys): the name
--   sort and the search no longer join users to order or filter;
-- - a trigram index (pg_trgm, with btree_gin to name the account in it) for
--   the search, where the server offers the extensions (both in PostgreSQL's
--   contrib, trusted: the database's owner may create them); without them
--   the search reads the account's members as before.
ALTER TABLE members ADD COLUMN name_key TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN search_key TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE members m SET name_key = LOWER(u.name), search_key = LOWER(u.name) || chr(31) || LOWER(u.email)
    FROM users u WHERE u.id = m.user_id;
CREATE INDEX members_by_name ON members (account_id, name_key, user_id);
CREATE INDEX members_by_role_name ON members (account_id, role, name_key, user_id);
CREATE INDEX members_by_joined ON members (account_id, joined_at, user_id);

-- +goose StatementBegin
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE EXTENSION IF NOT EXISTS btree_gin;
    CREATE INDEX members_search ON members USING gin (account_id, search_key gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'no trigram index for the member search (%): it reads the account''s members', SQLERRM;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP INDEX IF EXISTS members_search;
DROP INDEX members_by_joined;
DROP INDEX members_by_role_name;
DROP INDEX members_by_name;
ALTER TABLE members DROP COLUMN search_key;
ALTER TABLE members DROP COLUMN name_key;
