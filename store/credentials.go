package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/rosterhq/roster"
)

// EnsureCredentials gives the account its first Auth Token when it has none.
func (tx *Tx) EnsureCredentials(ctx context.Context, acct int64, token string) error {
	_, err := tx.exec(ctx, `INSERT INTO credentials (account_id, auth_token, rotated_at) VALUES (?, ?, ?) ON CONFLICT (account_id) DO NOTHING`,
		acct, token, micros(tx.now))
	return err
}

// Credentials returns the current token and, when a grace period runs,
// the previous token's hash and its end.
func (db *DB) Credentials(ctx context.Context, acct int64) (token string, prevHash []byte, prevUntil time.Time, err error) {
	var until sql.NullInt64
	err = db.row(ctx, `SELECT auth_token, previous_hash, previous_until FROM credentials WHERE account_id = ?`, acct).
		Scan(&token, &prevHash, &until)
	if err != nil {
		return "", nil, time.Time{}, db.mapNoRows(err)
	}
	return token, prevHash, nullMicros(until), nil
}

// RotateCredentials replaces the token; the old one's hash stays valid
// until keepUntil (zero: it dies at once).
func (tx *Tx) RotateCredentials(ctx context.Context, acct int64, token string, oldHash []byte, keepUntil time.Time) error {
	var hash, until any
	if !keepUntil.IsZero() {
		hash, until = oldHash, micros(keepUntil)
	}
	r, err := tx.exec(ctx, `UPDATE credentials SET auth_token = ?, previous_hash = ?, previous_until = ?, rotated_at = ? WHERE account_id = ?`,
		token, hash, until, micros(tx.now), acct)
	if err != nil {
		return err
	}
	return oneRow(r)
}

// CurrentToken returns the account's token in the transaction.
func (tx *Tx) CurrentToken(ctx context.Context, acct int64) (string, error) {
	var t string
	err := tx.queryRow(ctx, `SELECT auth_token FROM credentials WHERE account_id = ?`, []any{acct}, &t)
	return t, err
}

// TokenReadableSince returns since when a working Auth Token of the
// account could have been read: when the current one was made, or, while
// a rotated-out one still works (its grace period), when that one was made
// (the rotation before, from the audit log; the zero time when none was
// recorded). ok is false when the account has no token yet.
func (db *DB) TokenReadableSince(ctx context.Context, acct int64, now time.Time) (since time.Time, ok bool, err error) {
	var rotated int64
	var until sql.NullInt64
	err = db.row(ctx, `SELECT rotated_at, previous_until FROM credentials WHERE account_id = ?`, acct).Scan(&rotated, &until)
	if err != nil {
		if err = db.mapNoRows(err); err == ErrNoRows {
			return time.Time{}, false, nil
		}
		return time.Time{}, false, err
	}
	if !until.Valid || until.Int64 <= micros(now) {
		return fromMicros(rotated), true, nil
	}
	var before sql.NullInt64
	err = db.row(ctx, `SELECT MAX(at) FROM audit_events WHERE account_id = ? AND action = '`+roster.ActionCredentialsRotate+`' AND at < ?`, acct, rotated).Scan(&before)
	if err != nil || !before.Valid {
		return time.Time{}, true, db.d.mapErr(err)
	}
	return fromMicros(before.Int64), true, nil
}

// TokenRead is one person's reads of the Auth Token in the audit log: each
// reveal (credentials.view) and each rotation, whose answer carries the
// new token (credentials.rotate).
type TokenRead struct {
	UserID int64
	Email  string // as recorded
	Reads  int
	Last   time.Time
}

// TokenReads returns who read the account's Auth Token at or after since,
// by the audit log, by user.
func (db *DB) TokenReads(ctx context.Context, acct int64, since time.Time) ([]TokenRead, error) {
	rows, err := db.query(ctx, `SELECT COALESCE(actor_user_id, 0), MIN(actor_email), COUNT(*), MAX(at) FROM audit_events
		WHERE account_id = ? AND action IN ('`+roster.ActionCredentialsView+`', '`+roster.ActionCredentialsRotate+`') AND at >= ?
		GROUP BY COALESCE(actor_user_id, 0) ORDER BY 4 DESC`, acct, micros(since))
	out, err := collect(rows, err, func(rows *sql.Rows) (TokenRead, error) {
		var r TokenRead
		var last int64
		if err := rows.Scan(&r.UserID, &r.Email, &r.Reads, &last); err != nil {
			return r, err
		}
		r.Last = fromMicros(last)
		return r, nil
	})
	return out, db.d.mapErr(err)
}
