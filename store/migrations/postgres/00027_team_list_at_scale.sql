-- +goose Up
-- The team list at 100,000 members (issue 26). Every page is read from an
-- index of the members table alone:
-- - name_key, the member's name folded (LOWER, compared byte by byte) and
--   search_key, the name folded, a unit separator (chr 31) and the address
--   folded, copied from users and kept by the store's writes that add a
--   member or change a user's name (store.refreshMemberKeys): the name
--   sort and the search no longer join users to order or filter;
-- - member_counts, the account's members by role, kept by the triggers
--   below, so a page's count of the matches (no search, no status or
--   two-factor filter) is a sum of at most five rows, not a pass over them;
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

CREATE TABLE member_counts (
    account_id BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role       INTEGER NOT NULL,
    n          BIGINT  NOT NULL,
    PRIMARY KEY (account_id, role)
);
INSERT INTO member_counts (account_id, role, n) SELECT account_id, role, COUNT(*) FROM members GROUP BY account_id, role;

-- Statement-level, from the transition tables: a statement adding 100,000
-- members updates each (account, role) row once, not 100,000 times.
-- +goose StatementBegin
CREATE FUNCTION member_counts_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO member_counts (account_id, role, n)
            SELECT account_id, role, COUNT(*) FROM new_rows GROUP BY account_id, role
            ON CONFLICT (account_id, role) DO UPDATE SET n = member_counts.n + excluded.n;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE member_counts c SET n = c.n - d.k
            FROM (SELECT account_id, role, COUNT(*) AS k FROM old_rows GROUP BY account_id, role) d
            WHERE c.account_id = d.account_id AND c.role = d.role;
    ELSE
        INSERT INTO member_counts (account_id, role, n)
            SELECT account_id, role, SUM(k) FROM (
                SELECT account_id, role, -1 AS k FROM old_rows
                UNION ALL SELECT account_id, role, 1 AS k FROM new_rows) d
            GROUP BY account_id, role HAVING SUM(k) <> 0
            ON CONFLICT (account_id, role) DO UPDATE SET n = member_counts.n + excluded.n;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER members_count_insert AFTER INSERT ON members REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION member_counts_keep();
CREATE TRIGGER members_count_delete AFTER DELETE ON members REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION member_counts_keep();
CREATE TRIGGER members_count_update AFTER UPDATE ON members REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION member_counts_keep();

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
DROP TRIGGER members_count_update ON members;
DROP TRIGGER members_count_delete ON members;
DROP TRIGGER members_count_insert ON members;
DROP FUNCTION member_counts_keep();
DROP TABLE member_counts;
DROP INDEX members_by_joined;
DROP INDEX members_by_role_name;
DROP INDEX members_by_name;
ALTER TABLE members DROP COLUMN search_key;
ALTER TABLE members DROP COLUMN name_key;
