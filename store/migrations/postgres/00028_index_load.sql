-- +goose Up
-- A start reads every membership into the check index (issue 26: ten
-- million). The facts few members hold are read apart from the members,
-- each from a small index, so that the members are read from their own
-- table alone, without a join per row (store.LoadIndexSparse):
-- - the users with TOTP on (passkeys are a table of their own),
-- - the accounts that require single sign-on.
CREATE INDEX users_with_totp ON users (id) WHERE totp_confirmed_at IS NOT NULL;
CREATE INDEX accounts_requiring_sso ON accounts (id) WHERE require_sso = 1;

-- +goose Down
DROP INDEX accounts_requiring_sso;
DROP INDEX users_with_totp;
