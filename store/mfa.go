package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// TOTP is a user's two-factor state.
type TOTP struct {
	Secret    string // base32; "" when none
	Confirmed bool   // on
	LastStep  int64  // the last 30-second step whose code was used
}

// TOTP returns the user's two-factor state, or ErrNoRows for no user.
func (tx *Tx) TOTP(ctx context.Context, userID int64) (TOTP, error) {
	var t TOTP
	var secret sql.NullString
	var confirmed sql.NullInt64
	err := tx.queryRow(ctx, `SELECT totp_secret, totp_confirmed_at, totp_last_step FROM users WHERE id = ?`,
		[]any{userID}, &secret, &confirmed, &t.LastStep)
	t.Secret, t.Confirmed = secret.String, confirmed.Valid
	return t, err
}

// SetTOTPSecret stores a pending secret (not on until confirmed) and
// turns two-factor off; "" clears it.
func (tx *Tx) SetTOTPSecret(ctx context.Context, userID int64, secret string) error {
	_, err := tx.exec(ctx, `UPDATE users SET totp_secret = ?, totp_confirmed_at = NULL WHERE id = ?`, nullString(secret), userID)
	return err
}

// ConfirmTOTP turns two-factor on.
func (tx *Tx) ConfirmTOTP(ctx context.Context, userID int64) error {
	_, err := tx.exec(ctx, `UPDATE users SET totp_confirmed_at = ? WHERE id = ? AND totp_secret IS NOT NULL`, micros(tx.now), userID)
	return err
}

// UseTOTPStep records that the code of step was used, only when it is
// later than any used before: ErrNoRows for a replay.
func (tx *Tx) UseTOTPStep(ctx context.Context, userID, step int64) error {
	r, err := tx.exec(ctx, `UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`, step, userID, step)
	if err != nil {
		return err
	}
	return oneRow(r)
}

// SetRecoveryCodes replaces the user's recovery codes (hashes); nil clears.
func (tx *Tx) SetRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte) error {
	if _, err := tx.exec(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return err
	}
	for _, h := range hashes {
		if _, err := tx.exec(ctx, `INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)`, userID, h); err != nil {
			return err
		}
	}
	return nil
}

// UseRecoveryCode marks an unused code used: ErrNoRows when it is not one
// of the user's or was used.
func (tx *Tx) UseRecoveryCode(ctx context.Context, userID int64, hash []byte) error {
	r, err := tx.exec(ctx, `UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`,
		micros(tx.now), userID, hash)
	if err != nil {
		return err
	}
	return oneRow(r)
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (tx *Tx) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, []any{userID}, &n)
	return n, err
}

// UserAccounts lists the integer IDs of the accounts the user belongs to.
func (tx *Tx) UserAccounts(ctx context.Context, userID int64) ([]int64, error) {
	rows, err := tx.query(ctx, `SELECT account_id FROM members WHERE user_id = ? ORDER BY account_id`, userID)
	out, err := collect(rows, err, scanInt64)
	return out, tx.db.d.mapErr(err)
}

// SetRequireMFA sets whether the account's members need two-factor
// sign-in, and records the change for the check index.
func (tx *Tx) SetRequireMFA(ctx context.Context, accountSeq int64, on bool) error {
	v := 0
	if on {
		v = 1
	}
	if _, err := tx.exec(ctx, `UPDATE accounts SET require_mfa = ? WHERE id = ?`, v, accountSeq); err != nil {
		return err
	}
	_, err := tx.Changed(ctx, accountSeq, 0)
	return err
}

// CreatePasswordReset stores a reset token's hash.
func (tx *Tx) CreatePasswordReset(ctx context.Context, userID int64, tokenHash []byte, ttl time.Duration) error {
	_, err := tx.exec(ctx, `INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		tokenHash, userID, micros(tx.now), micros(tx.now.Add(ttl)))
	return err
}

// UsePasswordReset marks the token used (and every other open reset of
// its user) and returns the user, or ErrNoRows for an unknown, used or
// expired token.
func (tx *Tx) UsePasswordReset(ctx context.Context, tokenHash []byte) (int64, error) {
	var userID int64
	err := tx.queryRow(ctx, `UPDATE password_resets SET used_at = ?
		WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING user_id`,
		[]any{micros(tx.now), tokenHash, micros(tx.now)}, &userID)
	if err != nil {
		return 0, err
	}
	_, err = tx.exec(ctx, `UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at IS NULL`, micros(tx.now), userID)
	return userID, err
}

// PasswordResetUser returns the user a live reset token belongs to, or
// ErrNoRows.
func (db *DB) PasswordResetUser(ctx context.Context, tokenHash []byte) (int64, error) {
	var userID int64
	err := db.row(ctx, `SELECT user_id FROM password_resets WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`,
		tokenHash, micros(db.Now())).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNoRows
	}
	return userID, db.d.mapErr(err)
}

// CreatePendingLogin stores the token of a sign-in whose password was
// right and whose second factor is due.
func (tx *Tx) CreatePendingLogin(ctx context.Context, userID int64, tokenHash []byte, ttl time.Duration) error {
	_, err := tx.exec(ctx, `INSERT INTO pending_logins (token_hash, user_id, expires_at) VALUES (?, ?, ?)`,
		tokenHash, userID, micros(tx.now.Add(ttl)))
	return err
}

// PendingLogin returns the user of a live pending sign-in, or ErrNoRows.
func (db *DB) PendingLogin(ctx context.Context, tokenHash []byte) (int64, error) {
	var userID int64
	err := db.row(ctx, `SELECT user_id FROM pending_logins WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`,
		tokenHash, micros(db.Now())).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNoRows
	}
	return userID, db.d.mapErr(err)
}

// UsePendingLogin ends a pending sign-in: ErrNoRows when it was used.
func (tx *Tx) UsePendingLogin(ctx context.Context, tokenHash []byte) error {
	r, err := tx.exec(ctx, `UPDATE pending_logins SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`,
		micros(tx.now), tokenHash, micros(tx.now))
	if err != nil {
		return err
	}
	return oneRow(r)
}

// PasswordHash returns the user's password hash.
func (tx *Tx) PasswordHash(ctx context.Context, userID int64) (string, error) {
	var h string
	err := tx.queryRow(ctx, `SELECT password_hash FROM users WHERE id = ?`, []any{userID}, &h)
	return h, err
}

// SetPassword sets the user's password hash.
func (tx *Tx) SetPassword(ctx context.Context, userID int64, hash string) error {
	_, err := tx.exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID)
	return err
}
