-- +goose Up
-- The prune of users who never verified their address finds them by this
-- index alone, however many verified users there are.
CREATE INDEX users_unverified ON users (created_at) WHERE verified_at IS NULL;

-- +goose Down
DROP INDEX users_unverified;
