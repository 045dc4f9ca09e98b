package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/rosterhq/roster"
)

// SCIM provisioning (issue 23): the bearer tokens an account's directory
// presents, stored hashed, and the account's provisioning settings (the
// roles provisioned members get).

const scimTokenCols = `id, account_id, name, created_at, last_used_at`

func scanSCIMToken(sc interface{ Scan(...any) error }, t *roster.SCIMToken, more ...any) error {
	var created int64
	var used sql.NullInt64
	if err := sc.Scan(append([]any{&t.ID, &t.AccountSeq, &t.Name, &created, &used}, more...)...); err != nil {
		return err
	}
	t.CreatedAt, t.LastUsedAt = fromMicros(created), nullMicros(used)
	return nil
}

// CreateSCIMToken stores a token's hash for the account and returns the
// token's row. ErrUnique when the hash is stored already.
func (tx *Tx) CreateSCIMToken(ctx context.Context, accountSeq int64, name string, hash []byte) (roster.SCIMToken, error) {
	t := roster.SCIMToken{AccountSeq: accountSeq, Name: name, CreatedAt: tx.now}
	err := tx.queryRow(ctx, `INSERT INTO scim_tokens (account_id, name, token_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
		[]any{accountSeq, name, hash, micros(tx.now)}, &t.ID)
	return t, err
}

// CountSCIMTokens counts the account's tokens.
func (tx *Tx) CountSCIMTokens(ctx context.Context, accountSeq int64) (int, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM scim_tokens WHERE account_id = ?`, []any{accountSeq}, &n)
	return n, err
}

// SCIMTokens lists the account's tokens, oldest first (never their hashes).
func (db *DB) SCIMTokens(ctx context.Context, accountSeq int64) ([]roster.SCIMToken, error) {
	rows, err := db.query(ctx, `SELECT `+scimTokenCols+` FROM scim_tokens WHERE account_id = ? ORDER BY id`, accountSeq)
	out, err := collect(rows, err, func(rows *sql.Rows) (roster.SCIMToken, error) {
		var t roster.SCIMToken
		return t, scanSCIMToken(rows, &t)
	})
	return out, db.d.mapErr(err)
}

// DeleteSCIMToken deletes one of the account's tokens and returns it, or
// ErrNoRows (another account's token is not found, as one that does not
// exist).
func (tx *Tx) DeleteSCIMToken(ctx context.Context, accountSeq, id int64) (roster.SCIMToken, error) {
	var t roster.SCIMToken
	err := scanSCIMToken(tx.row(ctx, `DELETE FROM scim_tokens WHERE id = ? AND account_id = ? RETURNING `+scimTokenCols, id, accountSeq), &t)
	return t, tx.db.mapNoRows(err)
}

// SCIMTokenByHash returns the token with the hash, the hash as stored (for
// the caller's constant-time comparison) and the account it names, or
// ErrNoRows: one indexed read, so a revoked token stops working at once on
// every replica.
func (db *DB) SCIMTokenByHash(ctx context.Context, hash []byte) (roster.SCIMToken, []byte, roster.Account, error) {
	var t roster.SCIMToken
	var a roster.Account
	var stored []byte
	var (
		created, requireMFA, requireSSO int64
		plan                            string
	)
	err := scanSCIMToken(db.row(ctx, `SELECT t.id, t.account_id, t.name, t.created_at, t.last_used_at, t.token_hash, a.`+
		strings.ReplaceAll(accountCols, ", ", ", a.")+` FROM scim_tokens t JOIN accounts a ON a.id = t.account_id WHERE t.token_hash = ?`, hash),
		&t, &stored, &a.Seq, &a.ID, &a.Name, &plan, &a.MonthlyCommitmentUSD, &a.ContractMonths, &requireMFA, &requireSSO, &created)
	if err != nil {
		return t, nil, a, db.mapNoRows(err)
	}
	a.Plan, a.RequireMFA, a.RequireSSO, a.CreatedAt = roster.Plan(plan), requireMFA == 1, requireSSO == 1, fromMicros(created)
	return t, stored, a, nil
}

// TouchSCIMToken records that a token was used, at most once a minute.
func (db *DB) TouchSCIMToken(ctx context.Context, id int64) error {
	now := micros(db.Now())
	_, err := db.exec(ctx, `UPDATE scim_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`,
		now, id, now-60_000_000)
	return db.d.mapErr(err)
}

// SCIMSettings returns the account's provisioning settings: DefaultRole
// Support and no group roles when none were saved.
func (db *DB) SCIMSettings(ctx context.Context, accountSeq int64) (roster.SCIMSettings, error) {
	s := roster.SCIMSettings{DefaultRole: roster.RoleSupport, GroupRoles: map[string]roster.Role{}}
	var role int64
	var groups string
	err := db.row(ctx, `SELECT default_role, group_roles FROM scim_settings WHERE account_id = ?`, accountSeq).Scan(&role, &groups)
	if err = db.mapNoRows(err); errors.Is(err, ErrNoRows) {
		return s, nil
	} else if err != nil {
		return s, err
	}
	s.DefaultRole = roster.Role(role)
	if err := json.Unmarshal([]byte(groups), &s.GroupRoles); err != nil {
		return s, err
	}
	return s, nil
}

// SaveSCIMSettings saves the account's provisioning settings, replacing
// what was saved. The schema refuses a default role outside admin to
// support; the group roles are kept as a JSON object of role numbers.
func (tx *Tx) SaveSCIMSettings(ctx context.Context, accountSeq int64, s roster.SCIMSettings) error {
	groups := s.GroupRoles
	if groups == nil {
		groups = map[string]roster.Role{}
	}
	b, err := json.Marshal(groups)
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO scim_settings (account_id, default_role, group_roles) VALUES (?, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET default_role = excluded.default_role, group_roles = excluded.group_roles`,
		accountSeq, int(s.DefaultRole), string(b))
	return err
}
