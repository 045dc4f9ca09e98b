-- +goose Up
-- Sessions are keyed as on SQLite: the ID is the primary key and the token's
-- hash is unique (00004 added the ID to the old table, keyed by the hash),
-- and last_seen_at has no default (it is always written). The schema-parity
-- test found the difference.
ALTER TABLE sessions DROP CONSTRAINT sessions_pkey;
ALTER TABLE sessions DROP CONSTRAINT sessions_id_key;
ALTER TABLE sessions ADD PRIMARY KEY (id);
ALTER TABLE sessions ADD UNIQUE (token_hash);
ALTER TABLE sessions ALTER COLUMN last_seen_at DROP DEFAULT;

-- +goose Down
ALTER TABLE sessions ALTER COLUMN last_seen_at SET DEFAULT 0;
ALTER TABLE sessions DROP CONSTRAINT sessions_token_hash_key;
ALTER TABLE sessions DROP CONSTRAINT sessions_pkey;
ALTER TABLE sessions ADD UNIQUE (id);
ALTER TABLE sessions ADD PRIMARY KEY (token_hash);
