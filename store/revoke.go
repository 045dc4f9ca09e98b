package store

import (
	"context"
	"database/sql"
)

// What ends a user's credentials at once: a password reset deletes every
// personal API key; a reset or a change ends every reset link issued before
// it and every sign-in waiting for its second factor.

// EndedKey is a personal API key that DeleteUserAPIKeys deleted.
type EndedKey struct {
	AccountSeq   int64
	Prefix, Name string
}

// DeleteUserAPIKeys deletes every personal API key of the user, in every
// account, and records a change for each account it touched, so that every
// replica's check index forgets the keys.
func (tx *Tx) DeleteUserAPIKeys(ctx context.Context, userID int64) ([]EndedKey, error) {
	rows, err := tx.query(ctx, `DELETE FROM api_keys WHERE user_id = ? RETURNING account_id, prefix, name`, userID)
	out, err := collect(rows, err, func(rows *sql.Rows) (EndedKey, error) {
		var k EndedKey
		err := rows.Scan(&k.AccountSeq, &k.Prefix, &k.Name)
		return k, err
	})
	if err != nil {
		return nil, tx.db.d.mapErr(err)
	}
	changed := map[int64]bool{}
	for _, k := range out {
		if changed[k.AccountSeq] {
			continue
		}
		changed[k.AccountSeq] = true
		if _, err := tx.Changed(ctx, k.AccountSeq, userID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// EndPasswordResets ends every open password-reset link of the user.
func (tx *Tx) EndPasswordResets(ctx context.Context, userID int64) error {
	_, err := tx.exec(ctx, `UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at IS NULL`, micros(tx.now), userID)
	return err
}

// EndPendingLogins ends every sign-in of the user that waits for its
// second factor.
func (tx *Tx) EndPendingLogins(ctx context.Context, userID int64) error {
	_, err := tx.exec(ctx, `UPDATE pending_logins SET used_at = ? WHERE user_id = ? AND used_at IS NULL`, micros(tx.now), userID)
	return err
}
