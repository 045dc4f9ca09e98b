package store

import (
	"context"
	"database/sql"

	"github.com/rosterhq/roster"
)

// CreateAPIKey stores a key's hash for a member and records the change.
// The schema ties the key to the membership.
func (tx *Tx) CreateAPIKey(ctx context.Context, acct, userID int64, name, prefix string, hash []byte) (int64, error) {
	var id int64
	err := tx.queryRow(ctx, `INSERT INTO api_keys (account_id, user_id, name, prefix, key_hash, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		[]any{acct, userID, name, prefix, hash, micros(tx.now)}, &id)
	if err != nil {
		return 0, err
	}
	_, err = tx.Changed(ctx, acct, userID)
	return id, err
}

// DeleteAPIKey deletes one of the user's keys (ErrNoRows otherwise) and
// records the change.
func (tx *Tx) DeleteAPIKey(ctx context.Context, userID, id int64) (accountSeq int64, prefix, name string, err error) {
	if err := tx.queryRow(ctx, `DELETE FROM api_keys WHERE user_id = ? AND id = ? RETURNING account_id, prefix, name`, []any{userID, id}, &accountSeq, &prefix, &name); err != nil {
		return 0, "", "", err
	}
	_, err = tx.Changed(ctx, accountSeq, userID)
	return accountSeq, prefix, name, err
}

// APIKeys lists the user's keys, with each key's account Auth ID.
func (db *DB) APIKeys(ctx context.Context, userID int64) ([]roster.APIKey, error) {
	rows, err := db.query(ctx, `SELECT k.id, a.auth_id, k.name, k.prefix, k.created_at, k.last_used_at
		FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.user_id = ? ORDER BY k.id`, userID)
	return collect(rows, err, func(rows *sql.Rows) (roster.APIKey, error) {
		var k roster.APIKey
		var created int64
		var used sql.NullInt64
		if err := rows.Scan(&k.ID, &k.AccountID, &k.Name, &k.Prefix, &created, &used); err != nil {
			return k, err
		}
		k.CreatedAt = fromMicros(created)
		if used.Valid {
			t := fromMicros(used.Int64)
			k.LastUsedAt = &t
		}
		return k, nil
	})
}

// MemberKeys returns the hashes and IDs of a member's keys.
func (db *DB) MemberKeys(ctx context.Context, acct, userID int64) (map[int64][]byte, error) {
	db = db.reader(ctx) // a standby's when there is a read pool (replicas.go)
	rows, err := db.query(ctx, `SELECT id, key_hash FROM api_keys WHERE account_id = ? AND user_id = ?`, acct, userID)
	out := map[int64][]byte{}
	err = eachRow(rows, err, func(rows *sql.Rows) error {
		var id int64
		var h []byte
		if err := rows.Scan(&id, &h); err != nil {
			return err
		}
		out[id] = h
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AllKeys calls f for every key, for loading the check index.
func (db *DB) AllKeys(ctx context.Context, f func(id, acct, userID int64, hash []byte)) error {
	db = db.reader(ctx) // a standby's when there is a read pool (replicas.go)
	rows, err := db.queryBulk(ctx, `SELECT id, account_id, user_id, key_hash FROM api_keys`)
	return eachRow(rows, err, func(rows *sql.Rows) error {
		var id, acct, uid int64
		var h []byte
		if err := rows.Scan(&id, &acct, &uid, &h); err != nil {
			return err
		}
		f(id, acct, uid, h)
		return nil
	})
}

// TouchAPIKey records that a key was used (at most once a minute).
func (db *DB) TouchAPIKey(ctx context.Context, id int64) error {
	now := micros(db.Now())
	_, err := db.exec(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`,
		now, id, now-60_000_000)
	return db.d.mapErr(err)
}

// APIKeyExists reports whether a key with the hash exists (for a request
// that names a revision this replica has not applied yet).
func (db *DB) APIKeyExists(ctx context.Context, hash []byte) (bool, error) {
	var n int
	err := db.row(ctx, `SELECT COUNT(*) FROM api_keys WHERE key_hash = ?`, hash).Scan(&n)
	return n > 0, db.d.mapErr(err)
}
