-- +goose Up
-- Idempotency keys (issue 26): a POST that presents an Idempotency-Key
-- holds a row here, so a retry of it (on any replica) answers the first
-- answer again and does nothing. id is SHA-256 of the caller's scope and
-- the key; the key itself is never stored. fingerprint is an HMAC of the
-- request (method, path and query, body) under a key derived from the
-- Idempotency-Key. token names the request that holds the row: only it
-- marks the row committed (in each of its transactions, before COMMIT),
-- stores its answer or releases it. lease_until is when a holder that
-- neither answered nor released is taken for dead. committed_at is when
-- the request's first transaction committed (0: none did), so a retry
-- never runs again what was done. answer is the first answer (status,
-- headers, body), sealed with AES-256-GCM under another key derived from
-- the Idempotency-Key: the database alone cannot read the secrets some
-- answers show once. Rows are pruned 24 hours after created_at.
CREATE TABLE idempotency_keys (
    id           BLOB    PRIMARY KEY,
    fingerprint  BLOB    NOT NULL,
    token        BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    lease_until  INTEGER NOT NULL,
    committed_at INTEGER NOT NULL DEFAULT 0,
    answer       BLOB
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
