package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/rosterhq/roster"
)

// Passkey is a stored WebAuthn credential: what the console shows
// (roster.Passkey) and what an assertion is checked against.
type Passkey struct {
	roster.Passkey
	UserID         int64
	CredentialID   []byte
	PublicKey      []byte // COSE
	SignCount      uint32
	AAGUID         []byte
	Transports     []string
	BackupEligible bool
}

const passkeyCols = `id, user_id, credential_id, public_key, sign_count, aaguid, transports, backup_eligible, backed_up, name, created_at, last_used_at`

func scanPasskey(sc interface{ Scan(...any) error }) (Passkey, error) {
	var p Passkey
	var transports string
	var count, created int64
	var lastUsed sql.NullInt64
	err := sc.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.PublicKey, &count, &p.AAGUID, &transports,
		&p.BackupEligible, &p.BackedUp, &p.Name, &created, &lastUsed)
	if err != nil {
		return p, err
	}
	p.SignCount = uint32(count)
	p.CreatedAt, p.LastUsedAt = fromMicros(created), nullMicros(lastUsed)
	if err := json.Unmarshal([]byte(transports), &p.Transports); err != nil {
		p.Transports = nil
	}
	return p, nil
}

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreatePasskey stores a new credential of p.UserID (created now) and
// returns it with its ID. ErrUnique when the credential ID is stored
// already (for anyone).
func (tx *Tx) CreatePasskey(ctx context.Context, p Passkey) (Passkey, error) {
	transports, err := json.Marshal(p.Transports)
	if err != nil {
		return p, err
	}
	if p.Transports == nil {
		transports = []byte("[]")
	}
	if p.AAGUID == nil {
		p.AAGUID = []byte{}
	}
	p.CreatedAt, p.LastUsedAt = tx.now, time.Time{}
	err = tx.queryRow(ctx, `INSERT INTO passkeys (user_id, credential_id, public_key, sign_count, aaguid, transports,
		backup_eligible, backed_up, name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		[]any{p.UserID, p.CredentialID, p.PublicKey, int64(p.SignCount), p.AAGUID, string(transports),
			flag(p.BackupEligible), flag(p.BackedUp), p.Name, micros(tx.now)}, &p.ID)
	return p, err
}

// UserPasskeys lists the user's passkeys, oldest first.
func (tx *Tx) UserPasskeys(ctx context.Context, userID int64) ([]Passkey, error) {
	rows, err := tx.query(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE user_id = ? ORDER BY id`, userID)
	out, err := collect(rows, err, func(r *sql.Rows) (Passkey, error) { return scanPasskey(r) })
	return out, tx.db.d.mapErr(err)
}

// PasskeyByCredential returns the passkey with the credential ID, or
// ErrNoRows.
func (tx *Tx) PasskeyByCredential(ctx context.Context, credentialID []byte) (Passkey, error) {
	p, err := scanPasskey(tx.row(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE credential_id = ?`, credentialID))
	return p, tx.db.mapNoRows(err)
}

// RenamePasskey names one of the user's passkeys and returns it, or
// ErrNoRows (another user's passkey is not found either).
func (tx *Tx) RenamePasskey(ctx context.Context, userID, id int64, name string) (Passkey, error) {
	p, err := scanPasskey(tx.row(ctx, `UPDATE passkeys SET name = ? WHERE user_id = ? AND id = ? RETURNING `+passkeyCols,
		name, userID, id))
	return p, tx.db.mapNoRows(err)
}

// DeletePasskey deletes one of the user's passkeys and returns it, or
// ErrNoRows.
func (tx *Tx) DeletePasskey(ctx context.Context, userID, id int64) (Passkey, error) {
	p, err := scanPasskey(tx.row(ctx, `DELETE FROM passkeys WHERE user_id = ? AND id = ? RETURNING `+passkeyCols,
		userID, id))
	return p, tx.db.mapNoRows(err)
}

// DeleteUserPasskeys deletes every passkey of the user and returns how
// many there were.
func (tx *Tx) DeleteUserPasskeys(ctx context.Context, userID int64) (int64, error) {
	r, err := tx.exec(ctx, `DELETE FROM passkeys WHERE user_id = ?`, userID)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

// UsePasskey records a sign-in with the passkey: its new signature counter,
// whether it is backed up now, and the time. The counter must go forward
// (or stay 0 where the authenticator keeps none): ErrNoRows otherwise,
// and nothing is written (a cloned authenticator, or a race with another
// sign-in of the same count).
func (tx *Tx) UsePasskey(ctx context.Context, id int64, signCount uint32, backedUp bool) error {
	c := int64(signCount)
	r, err := tx.exec(ctx, `UPDATE passkeys SET sign_count = ?, backed_up = ?, last_used_at = ?
		WHERE id = ? AND ((sign_count = 0 AND ? = 0) OR sign_count < ?)`, c, flag(backedUp), micros(tx.now), id, c, c)
	if err != nil {
		return err
	}
	return oneRow(r)
}

// PutPasskeyFlow stores a begun ceremony under keyHash (replacing one
// there), of a kind, for the user (0: not known yet), for ttl.
func (tx *Tx) PutPasskeyFlow(ctx context.Context, keyHash []byte, userID int64, kind, data string, ttl time.Duration) error {
	var uid any
	if userID != 0 {
		uid = userID
	}
	_, err := tx.exec(ctx, `INSERT INTO passkey_flows (key_hash, user_id, kind, session_data, expires_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (key_hash) DO UPDATE SET user_id = excluded.user_id, kind = excluded.kind,
			session_data = excluded.session_data, expires_at = excluded.expires_at`,
		keyHash, uid, kind, data, micros(tx.now.Add(ttl)))
	return err
}

// TakePasskeyFlow reads and deletes the ceremony under keyHash, of the
// kind: once. ErrNoRows when there is none, or it expired (Prune
// deletes those).
func (tx *Tx) TakePasskeyFlow(ctx context.Context, keyHash []byte, kind string) (userID int64, data string, err error) {
	var uid sql.NullInt64
	var expires int64
	err = tx.queryRow(ctx, `DELETE FROM passkey_flows WHERE key_hash = ? AND kind = ? RETURNING user_id, session_data, expires_at`,
		[]any{keyHash, kind}, &uid, &data, &expires)
	if err != nil {
		return 0, "", err
	}
	if expires <= micros(tx.now) {
		return 0, "", ErrNoRows
	}
	return uid.Int64, data, nil
}
