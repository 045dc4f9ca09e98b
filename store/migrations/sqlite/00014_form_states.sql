-- +goose Up
-- The console's one-time form states (issue 21): what a refused form said
-- and what was typed, kept between the POST's redirect and the GET page
-- that shows it, on whichever replica that GET reaches. key_hash is the
-- SHA-256 of a secret the browser holds (its session, or a random cookie
-- for a visitor without one); the row is deleted by the read that shows
-- it, and swept by the retention job once expired.
CREATE TABLE form_states (
    key_hash   BLOB    PRIMARY KEY,
    data       BLOB    NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX form_states_expires ON form_states (expires_at);

-- +goose Down
DROP TABLE form_states;
