-- +goose Up
-- PostgreSQL's sessions take the keys they have here (see its 00012): the
-- ID is the primary key and the token's hash is unique. Nothing to do here.
SELECT 1;

-- +goose Down
SELECT 1;
