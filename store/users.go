package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/rosterhq/roster"
)

const userCols = `u.id, u.email, u.name, u.verified_at, u.totp_confirmed_at, ` + hasPasskey + `, COALESCE(a.auth_id, ''), u.created_at`

// hasPasskey is whether the user u has a passkey; hasSecondFactor whether
// they have a second factor: TOTP on, or a passkey (which verifies its
// user: two factors in one). The check index's MFA fact is the latter.
const (
	hasPasskey      = `EXISTS (SELECT 1 FROM passkeys pk WHERE pk.user_id = u.id)`
	hasSecondFactor = `(u.totp_confirmed_at IS NOT NULL OR ` + hasPasskey + `)`
	// usersWithSecondFactor is hasSecondFactor as a set of user IDs (the
	// check index's load: the partial index users_with_totp, and passkeys).
	usersWithSecondFactor = `SELECT id FROM users WHERE totp_confirmed_at IS NOT NULL UNION SELECT user_id FROM passkeys`
)

func scanUser(sc interface{ Scan(...any) error }, u *roster.User, more ...any) error {
	var verified, mfa sql.NullInt64
	var created int64
	if err := sc.Scan(append([]any{&u.ID, &u.Email, &u.Name, &verified, &mfa, &u.Passkeys, &u.DefaultAccountID, &created}, more...)...); err != nil {
		return err
	}
	u.EmailVerified, u.TOTPEnabled = verified.Valid, mfa.Valid
	u.MFAEnabled = u.TOTPEnabled || u.Passkeys
	u.CreatedAt = fromMicros(created)
	return nil
}

// CreateUser inserts a user. ErrUnique when the email is taken.
func (tx *Tx) CreateUser(ctx context.Context, email, name, passwordHash string, verified bool) (int64, error) {
	var verifiedAt any
	if verified {
		verifiedAt = micros(tx.now)
	}
	var id int64
	err := tx.queryRow(ctx, `INSERT INTO users (email, name, password_hash, verified_at, created_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`,
		[]any{email, name, passwordHash, verifiedAt, micros(tx.now)}, &id)
	return id, err
}

// User returns the user with the ID, or ErrNoRows.
func (tx *Tx) User(ctx context.Context, id int64) (roster.User, error) {
	return tx.db.userByQuery(ctx, tx.row, `u.id = ?`, id)
}

// UserByID returns the user, or ErrNoRows.
func (db *DB) UserByID(ctx context.Context, id int64) (roster.User, error) {
	return db.userByQuery(ctx, db.oneRow, `u.id = ?`, id)
}

// UserByEmail returns the user and password hash for a normalized email,
// or ErrNoRows.
func (db *DB) UserByEmail(ctx context.Context, email string) (roster.User, string, error) {
	var hash string
	u, err := db.userByQuery(ctx, db.oneRow, `u.email = ?`, email)
	if err != nil {
		return u, "", err
	}
	err = db.row(ctx, `SELECT password_hash FROM users WHERE id = ?`, u.ID).Scan(&hash)
	return u, hash, db.d.mapErr(err)
}

// querier runs a one-row query: db.oneRow or tx.row.
type querier func(ctx context.Context, q string, args ...any) row

func (db *DB) userByQuery(ctx context.Context, qr querier, where string, arg any) (roster.User, error) {
	var u roster.User
	err := scanUser(qr(ctx, `SELECT `+userCols+`
		FROM users u LEFT JOIN accounts a ON a.id = u.default_account_id WHERE `+where, arg), &u)
	if err == sql.ErrNoRows {
		return u, ErrNoRows
	}
	return u, db.d.mapErr(err)
}

// UserIDByEmail returns the ID of the user with the normalized email, or
// ErrNoRows.
func (tx *Tx) UserIDByEmail(ctx context.Context, email string) (int64, error) {
	var id int64
	err := tx.queryRow(ctx, `SELECT id FROM users WHERE email = ?`, []any{email}, &id)
	return id, err
}

// SetDefaultAccount sets the user's landing account (by integer ID).
//
// Only an account the user is a member of is set; another changes nothing.
func (tx *Tx) SetDefaultAccount(ctx context.Context, userID, accountSeq int64) error {
	_, err := tx.exec(ctx, `UPDATE users SET default_account_id = ? WHERE id = ?
		AND EXISTS (SELECT 1 FROM members WHERE account_id = ? AND user_id = ?)`, accountSeq, userID, accountSeq, userID)
	return err
}

// SetDefaultAccountIfNone sets the landing account when the user has none.
// Only an account the user is a member of is set.
func (tx *Tx) SetDefaultAccountIfNone(ctx context.Context, userID, accountSeq int64) error {
	_, err := tx.exec(ctx, `UPDATE users SET default_account_id = ? WHERE id = ? AND default_account_id IS NULL
		AND EXISTS (SELECT 1 FROM members WHERE account_id = ? AND user_id = ?)`, accountSeq, userID, accountSeq, userID)
	return err
}

// CreateVerification stores an email-verification token's hash with the
// sign-up attempt it belongs to: the password hash and name to apply when
// the link is used ("" for a link that only verifies).
func (tx *Tx) CreateVerification(ctx context.Context, userID int64, tokenHash []byte, ttl time.Duration, passwordHash, name string) error {
	_, err := tx.exec(ctx, `INSERT INTO email_verifications (token_hash, user_id, expires_at, password_hash, name) VALUES (?, ?, ?, ?, ?)`,
		tokenHash, userID, micros(tx.now.Add(ttl)), nullString(passwordHash), nullString(name))
	return err
}

// Verified is what using a verification link did.
type Verified struct {
	UserID      int64
	WasVerified bool   // the address was verified before this link
	OldName     string // the user's name before the link applied its own
	Applied     bool   // the link's attempt set the password and name
}

// UseVerification marks the token used, ends every other open link of the
// user and marks the user verified. When the user was not verified yet and
// the link belongs to a sign-up attempt, the attempt's password and name
// become the user's: the first password set never works unless its setter
// controls the mailbox. ErrNoRows for an unknown, used or expired token.
func (tx *Tx) UseVerification(ctx context.Context, tokenHash []byte) (Verified, error) {
	var v Verified
	var pw, name sql.NullString
	err := tx.queryRow(ctx, `UPDATE email_verifications SET used_at = ?
		WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING user_id, password_hash, name`,
		[]any{micros(tx.now), tokenHash, micros(tx.now)}, &v.UserID, &pw, &name)
	if err != nil {
		return v, err
	}
	var verified sql.NullInt64
	if err := tx.queryRow(ctx, `SELECT verified_at, name FROM users WHERE id = ?`, []any{v.UserID}, &verified, &v.OldName); err != nil {
		return v, err
	}
	v.WasVerified = verified.Valid
	if err := tx.EndVerifications(ctx, v.UserID); err != nil {
		return v, err
	}
	if !v.WasVerified && pw.Valid {
		if _, err := tx.exec(ctx, `UPDATE users SET password_hash = ?, name = ? WHERE id = ?`, pw.String, name.String, v.UserID); err != nil {
			return v, err
		}
		if err := tx.refreshMemberKeys(ctx, `user_id = ?`, v.UserID); err != nil {
			return v, err
		}
		v.Applied = true
	}
	_, err = tx.exec(ctx, `UPDATE users SET verified_at = COALESCE(verified_at, ?) WHERE id = ?`, micros(tx.now), v.UserID)
	return v, err
}

// LastAttempt returns the sign-up attempt (password hash and name, ""
// for a link that only verifies) of the user's most recent verification
// link that was not used or ended, expired or not: sending the link again
// repeats that attempt, never one a later sign-up or the mail limit ended.
// ErrNoRows when there is none.
func (tx *Tx) LastAttempt(ctx context.Context, userID int64) (passwordHash, name string, err error) {
	var pw, nm sql.NullString
	err = tx.queryRow(ctx, `SELECT password_hash, name FROM email_verifications
		WHERE user_id = ? AND used_at IS NULL ORDER BY expires_at DESC LIMIT 1`, []any{userID}, &pw, &nm)
	return pw.String, nm.String, err
}

// EndVerifications ends every open verification link of the user.
func (tx *Tx) EndVerifications(ctx context.Context, userID int64) error {
	_, err := tx.exec(ctx, `UPDATE email_verifications SET used_at = ? WHERE user_id = ? AND used_at IS NULL`, micros(tx.now), userID)
	return err
}

// SetUserProfile sets the user's password hash and name.
func (tx *Tx) SetUserProfile(ctx context.Context, userID int64, passwordHash, name string) error {
	if _, err := tx.exec(ctx, `UPDATE users SET password_hash = ?, name = ? WHERE id = ?`, passwordHash, name, userID); err != nil {
		return err
	}
	return tx.refreshMemberKeys(ctx, `user_id = ?`, userID)
}

// RenameOwnAccounts names every account the user owns. Only for a user who
// never verified: their one account is the one made at sign-up.
func (tx *Tx) RenameOwnAccounts(ctx context.Context, userID int64, name string) error {
	_, err := tx.exec(ctx, `UPDATE accounts SET name = ? WHERE id IN (SELECT account_id FROM members WHERE user_id = ? AND `+isOwner+`)`, name, userID)
	return err
}

// UnverifiedUser returns the ID of the user with the email when that user
// has not verified the address, else ErrNoRows.
func (tx *Tx) UnverifiedUser(ctx context.Context, email string) (int64, error) {
	var id int64
	err := tx.queryRow(ctx, `SELECT id FROM users WHERE email = ? AND verified_at IS NULL`, []any{email}, &id)
	return id, err
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// MarkVerified marks the user's email verified (an accepted invitation
// proves the address).
func (tx *Tx) MarkVerified(ctx context.Context, userID int64) error {
	_, err := tx.exec(ctx, `UPDATE users SET verified_at = COALESCE(verified_at, ?) WHERE id = ?`, micros(tx.now), userID)
	return err
}

// CreateSession stores a session token's hash, with where it came from.
func (tx *Tx) CreateSession(ctx context.Context, userID int64, tokenHash []byte, ttl time.Duration, ip, userAgent string) error {
	if len(userAgent) > 300 {
		userAgent = userAgent[:300]
	}
	_, err := tx.exec(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		tokenHash, userID, micros(tx.now), micros(tx.now.Add(ttl)), micros(tx.now), ip, strings.ToValidUTF8(strings.ReplaceAll(userAgent, "\x00", ""), ""))
	return err
}

// SessionUser returns the user of a live session (not past its end, used
// within idle) and the session's ID, or ErrNoRows. It records the use when
// the last record is older than a quarter of idle (at most a minute): a
// session in use is recorded well within idle, even at a 1-minute idle,
// and a busy session still costs no write per request.
func (db *DB) SessionUser(ctx context.Context, tokenHash []byte, idle time.Duration) (roster.User, int64, error) {
	ls, err := db.LiveSession(ctx, tokenHash, idle)
	return ls.User, ls.ID, err
}

// LiveSession is a live session as the gate reads it, in one query.
type LiveSession struct {
	User roster.User
	ID   int64
	// SSOAccount is the account whose (enabled) single sign-on connection
	// the session came through; 0 for any other sign-in.
	SSOAccount int64
	SSOMFA     bool // that connection counts as two-factor sign-in
}

// LiveSession is SessionUser with the single sign-on the session came
// through, read by the same query.
func (db *DB) LiveSession(ctx context.Context, tokenHash []byte, idle time.Duration) (LiveSession, error) {
	var ls LiveSession
	var lastSeen, ssoMFA int64
	now := db.Now()
	err := scanUser(db.row(ctx, `SELECT `+userCols+`, s.id, s.last_seen_at, COALESCE(sc.account_id, 0), COALESCE(sc.counts_as_mfa, 0)
		FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN accounts a ON a.id = u.default_account_id
		LEFT JOIN sso_connections sc ON sc.id = s.sso_connection_id AND sc.enabled = 1
		WHERE s.token_hash = ? AND s.expires_at > ? AND s.last_seen_at > ?`, tokenHash, micros(now), micros(now.Add(-idle))),
		&ls.User, &ls.ID, &lastSeen, &ls.SSOAccount, &ssoMFA)
	if err == sql.ErrNoRows {
		return LiveSession{}, ErrNoRows
	} else if err != nil {
		return LiveSession{}, db.d.mapErr(err)
	}
	ls.SSOMFA = ssoMFA == 1
	if micros(now)-lastSeen > int64(touchEvery(idle)/time.Microsecond) {
		if _, err := db.exec(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ?`, micros(now), ls.ID); err != nil {
			return LiveSession{}, db.d.mapErr(err)
		}
	}
	return ls, nil
}

// SSOBypassRecorded reports whether RecordSSOBypass recorded the session
// in the account.
func (db *DB) SSOBypassRecorded(ctx context.Context, sessionID, accountSeq int64) (bool, error) {
	var n int
	err := db.row(ctx, `SELECT COUNT(*) FROM sso_bypasses WHERE session_id = ? AND account_id = ?`, sessionID, accountSeq).Scan(&n)
	return n > 0, db.d.mapErr(err)
}

// RecordSSOBypass records that the session acted in the account without
// its single sign-on (its owner's password path) and reports whether this
// is the first time, on any replica: the caller audits and mails then.
func (tx *Tx) RecordSSOBypass(ctx context.Context, sessionID, accountSeq int64) (bool, error) {
	r, err := tx.exec(ctx, `INSERT INTO sso_bypasses (session_id, account_id, at) VALUES (?, ?, ?)
		ON CONFLICT (session_id, account_id) DO NOTHING`, sessionID, accountSeq, micros(tx.now))
	if err != nil {
		return false, err
	}
	n, err := r.RowsAffected()
	return n > 0, err
}

// touchEvery is how stale a session's last use may be before a request
// records it again: a quarter of the idle limit, so the record lags the
// last use by at most that and a session used at least every three
// quarters of idle never ends; and at most a minute, so the session list
// shows when each was last used.
func touchEvery(idle time.Duration) time.Duration {
	if idle <= 0 {
		return time.Minute
	}
	return min(idle/4, time.Minute)
}

// Sessions lists the user's live sessions, the most recently used first.
func (db *DB) Sessions(ctx context.Context, userID int64, idle time.Duration) ([]roster.Session, error) {
	now := db.Now()
	rows, err := db.query(ctx, `SELECT id, created_at, last_seen_at, ip, user_agent FROM sessions
		WHERE user_id = ? AND expires_at > ? AND last_seen_at > ? ORDER BY last_seen_at DESC, id DESC`, userID, micros(now), micros(now.Add(-idle)))
	out, err := collect(rows, err, func(rows *sql.Rows) (roster.Session, error) {
		var s roster.Session
		var created, seen int64
		if err := rows.Scan(&s.ID, &created, &seen, &s.IP, &s.UserAgent); err != nil {
			return s, err
		}
		s.CreatedAt, s.LastSeenAt = fromMicros(created), fromMicros(seen)
		return s, nil
	})
	return out, db.d.mapErr(err)
}

// DeleteSession ends a session.
func (db *DB) DeleteSession(ctx context.Context, tokenHash []byte) error {
	_, err := db.exec(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
	return db.d.mapErr(err)
}

// DeleteSessionByID ends one of the user's sessions, or ErrNoRows.
func (db *DB) DeleteSessionByID(ctx context.Context, userID, id int64) error {
	r, err := db.exec(ctx, `DELETE FROM sessions WHERE user_id = ? AND id = ?`, userID, id)
	if err != nil {
		return db.d.mapErr(err)
	}
	return oneRow(r)
}

// DeleteSessions ends every session of the user but keepID (0: all).
func (tx *Tx) DeleteSessions(ctx context.Context, userID, keepID int64) error {
	_, err := tx.exec(ctx, `DELETE FROM sessions WHERE user_id = ? AND id <> ?`, userID, keepID)
	return err
}
