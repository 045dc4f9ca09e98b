package store

import (
	"context"
	"time"
)

// The console's one-time form states (issue 21): a refused form's message
// and typed values, or a page's outcome, kept from the POST that redirects
// to the GET page that shows them. They live in the database so the GET
// may reach any replica. A state is keyed by the hash of a secret only
// its browser holds, read once (TakeFormState deletes it), and expires
// within minutes; Prune sweeps the expired ones nobody came back for.

// PutFormState keeps data under keyHash until ttl from now, replacing
// what the key held: a browser has one pending state, the latest form's.
func (db *DB) PutFormState(ctx context.Context, keyHash, data []byte, ttl time.Duration) error {
	exp := micros(db.Now().Add(ttl))
	_, err := db.exec(ctx, `INSERT INTO form_states (key_hash, data, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (key_hash) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`, keyHash, data, exp)
	return db.d.mapErr(err)
}

// TakeFormState returns the state kept under keyHash and deletes it, in one
// statement, so two requests can never both read it: ErrNoRows when there
// is none or it expired.
func (db *DB) TakeFormState(ctx context.Context, keyHash []byte) ([]byte, error) {
	var data []byte
	var exp int64
	err := db.oneRow(ctx, `DELETE FROM form_states WHERE key_hash = ? RETURNING data, expires_at`, keyHash).Scan(&data, &exp)
	if err != nil {
		return nil, db.mapNoRows(err)
	}
	if exp <= micros(db.Now()) {
		return nil, ErrNoRows
	}
	return data, nil
}
