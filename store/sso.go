package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/rosterhq/roster"
)

// Enterprise sign-in (issue 22): domains, single sign-on connections, the
// sign-ins this server started (flows) and the SAML assertions it took.

const domainCols = `id, account_id, domain, token, created_at, verified_at`

func scanDomain(sc interface{ Scan(...any) error }, d *roster.Domain) error {
	var created int64
	var verified sql.NullInt64
	if err := sc.Scan(&d.ID, &d.AccountSeq, &d.Domain, &d.Token, &created, &verified); err != nil {
		return err
	}
	d.CreatedAt, d.VerifiedAt = fromMicros(created), nullMicros(verified)
	d.Status = roster.DomainPending
	if verified.Valid {
		d.Status = roster.DomainVerified
	}
	return nil
}

// CreateDomain adds a pending domain to the account. ErrUnique when the
// account already claims it.
func (tx *Tx) CreateDomain(ctx context.Context, accountSeq int64, domain, token string) (roster.Domain, error) {
	d := roster.Domain{AccountSeq: accountSeq, Domain: domain, Token: token, Status: roster.DomainPending, CreatedAt: tx.now}
	err := tx.queryRow(ctx, `INSERT INTO domains (account_id, domain, token, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
		[]any{accountSeq, domain, token, micros(tx.now)}, &d.ID)
	return d, err
}

// Domain returns one of the account's domains, or ErrNoRows.
func (tx *Tx) Domain(ctx context.Context, accountSeq, id int64) (roster.Domain, error) {
	var d roster.Domain
	err := scanDomain(tx.row(ctx, `SELECT `+domainCols+` FROM domains WHERE id = ? AND account_id = ?`, id, accountSeq), &d)
	return d, tx.db.mapNoRows(err)
}

// Domains lists the account's domains, oldest first.
func (db *DB) Domains(ctx context.Context, accountSeq int64) ([]roster.Domain, error) {
	rows, err := db.query(ctx, `SELECT `+domainCols+` FROM domains WHERE account_id = ? ORDER BY id`, accountSeq)
	out, err := collect(rows, err, func(rows *sql.Rows) (roster.Domain, error) {
		var d roster.Domain
		return d, scanDomain(rows, &d)
	})
	return out, db.d.mapErr(err)
}

// VerifiedDomain returns the verified domain of that name, whichever
// account holds it, or ErrNoRows.
func (db *DB) VerifiedDomain(ctx context.Context, domain string) (roster.Domain, error) {
	var d roster.Domain
	err := scanDomain(db.row(ctx, `SELECT `+domainCols+` FROM domains WHERE domain = ? AND verified_at IS NOT NULL`, domain), &d)
	return d, db.mapNoRows(err)
}

// MarkDomainVerified records that the domain's TXT record was seen, and
// records a change of the account for the index (who is bound to its
// single sign-on follows its verified domains). ErrUnique when another
// account verified the domain first.
func (tx *Tx) MarkDomainVerified(ctx context.Context, accountSeq, id int64) error {
	r, err := tx.exec(ctx, `UPDATE domains SET verified_at = ? WHERE id = ? AND account_id = ? AND verified_at IS NULL`, micros(tx.now), id, accountSeq)
	if err := affected(r, err); err != nil {
		return err
	}
	_, err = tx.Changed(ctx, accountSeq, 0)
	return err
}

// DeleteDomain removes one of the account's domains, or ErrNoRows, and
// records a change of the account for the index.
func (tx *Tx) DeleteDomain(ctx context.Context, accountSeq, id int64) error {
	r, err := tx.exec(ctx, `DELETE FROM domains WHERE id = ? AND account_id = ?`, id, accountSeq)
	if err := affected(r, err); err != nil {
		return err
	}
	_, err = tx.Changed(ctx, accountSeq, 0)
	return err
}

// CountVerifiedDomains counts the account's verified domains.
func (tx *Tx) CountVerifiedDomains(ctx context.Context, accountSeq int64) (int, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM domains WHERE account_id = ? AND verified_at IS NOT NULL`, []any{accountSeq}, &n)
	return n, err
}

const connCols = `id, account_id, type, name, enabled, default_role, counts_as_mfa, issuer, client_id, client_secret,
	metadata_xml, metadata_url, idp_entity_id, allow_idp_initiated, created_at`

func scanConnection(sc interface{ Scan(...any) error }, c *roster.SSOConnection) error {
	var typ string
	var enabled, role, mfa, idpInit, created int64
	if err := sc.Scan(&c.ID, &c.AccountSeq, &typ, &c.Name, &enabled, &role, &mfa, &c.Issuer, &c.ClientID, &c.ClientSecret,
		&c.MetadataXML, &c.MetadataURL, &c.IdPEntityID, &idpInit, &created); err != nil {
		return err
	}
	c.Type, c.Enabled, c.DefaultRole, c.CountsAsMFA = roster.SSOType(typ), enabled == 1, roster.Role(role), mfa == 1
	c.AllowIdPInitiated, c.CreatedAt = idpInit == 1, fromMicros(created)
	return nil
}

func connArgs(c roster.SSOConnection) []any {
	return []any{c.Name, boolInt(c.Enabled), int(c.DefaultRole), boolInt(c.CountsAsMFA), c.Issuer, c.ClientID, c.ClientSecret,
		c.MetadataXML, c.MetadataURL, c.IdPEntityID, boolInt(c.AllowIdPInitiated)}
}

// CreateSSOConnection adds the connection to its account (c.AccountSeq)
// and returns it with its ID.
func (tx *Tx) CreateSSOConnection(ctx context.Context, c roster.SSOConnection) (roster.SSOConnection, error) {
	c.CreatedAt = tx.now
	args := append([]any{c.AccountSeq, string(c.Type)}, connArgs(c)...)
	err := tx.queryRow(ctx, `INSERT INTO sso_connections (account_id, type, name, enabled, default_role, counts_as_mfa, issuer, client_id, client_secret,
		metadata_xml, metadata_url, idp_entity_id, allow_idp_initiated, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		append(args, micros(tx.now)), &c.ID)
	return c, err
}

// UpdateSSOConnection saves every field but the type. ErrNoRows when the
// account has no such connection.
func (tx *Tx) UpdateSSOConnection(ctx context.Context, c roster.SSOConnection) error {
	r, err := tx.exec(ctx, `UPDATE sso_connections SET name = ?, enabled = ?, default_role = ?, counts_as_mfa = ?, issuer = ?, client_id = ?,
		client_secret = ?, metadata_xml = ?, metadata_url = ?, idp_entity_id = ?, allow_idp_initiated = ? WHERE id = ? AND account_id = ?`,
		append(connArgs(c), c.ID, c.AccountSeq)...)
	return affected(r, err)
}

// DeleteSSOConnection removes the connection; the sessions it made, its
// flows and its assertions go with it (ON DELETE CASCADE). ErrNoRows when
// the account has no such connection.
func (tx *Tx) DeleteSSOConnection(ctx context.Context, accountSeq, id int64) error {
	r, err := tx.exec(ctx, `DELETE FROM sso_connections WHERE id = ? AND account_id = ?`, id, accountSeq)
	return affected(r, err)
}

// SSOConnection returns one of the account's connections, or ErrNoRows.
func (tx *Tx) SSOConnection(ctx context.Context, accountSeq, id int64) (roster.SSOConnection, error) {
	var c roster.SSOConnection
	err := scanConnection(tx.row(ctx, `SELECT `+connCols+` FROM sso_connections WHERE id = ? AND account_id = ?`, id, accountSeq), &c)
	return c, tx.db.mapNoRows(err)
}

// SSOConnectionByID returns a connection whatever its account (for the
// sign-in routes, which name only the connection), or ErrNoRows.
func (db *DB) SSOConnectionByID(ctx context.Context, id int64) (roster.SSOConnection, error) {
	var c roster.SSOConnection
	err := scanConnection(db.row(ctx, `SELECT `+connCols+` FROM sso_connections WHERE id = ?`, id), &c)
	return c, db.mapNoRows(err)
}

// SSOConnections lists the account's connections, oldest first.
func (db *DB) SSOConnections(ctx context.Context, accountSeq int64) ([]roster.SSOConnection, error) {
	rows, err := db.query(ctx, `SELECT `+connCols+` FROM sso_connections WHERE account_id = ? ORDER BY id`, accountSeq)
	out, err := collect(rows, err, func(rows *sql.Rows) (roster.SSOConnection, error) {
		var c roster.SSOConnection
		return c, scanConnection(rows, &c)
	})
	return out, db.d.mapErr(err)
}

// SSOConnectionsForSAMLEntity lists the enabled SAML connections whose
// provider has the entity ID (an IdP-initiated response names only that).
func (db *DB) SSOConnectionsForSAMLEntity(ctx context.Context, idpEntityID string) ([]roster.SSOConnection, error) {
	rows, err := db.query(ctx, `SELECT `+connCols+` FROM sso_connections WHERE type = 'saml' AND enabled = 1 AND idp_entity_id = ? ORDER BY id`, idpEntityID)
	out, err := collect(rows, err, func(rows *sql.Rows) (roster.SSOConnection, error) {
		var c roster.SSOConnection
		return c, scanConnection(rows, &c)
	})
	return out, db.d.mapErr(err)
}

// CountEnabledSSOConnections counts the account's enabled connections.
func (tx *Tx) CountEnabledSSOConnections(ctx context.Context, accountSeq int64) (int, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM sso_connections WHERE account_id = ? AND enabled = 1`, []any{accountSeq}, &n)
	return n, err
}

// SSOFlow is a sign-in this server started: what finishing it needs.
type SSOFlow struct {
	ConnectionID int64
	Verifier     string // OIDC: the PKCE code verifier
	Nonce        string // OIDC: the ID token's nonce
}

// CreateSSOFlow records a started sign-in under the hash of its key (the
// OIDC state, the SAML request ID), for ttl.
func (db *DB) CreateSSOFlow(ctx context.Context, keyHash []byte, f SSOFlow, ttl time.Duration) error {
	_, err := db.exec(ctx, `INSERT INTO sso_flows (key_hash, connection_id, verifier, nonce, expires_at) VALUES (?, ?, ?, ?, ?)`,
		keyHash, f.ConnectionID, f.Verifier, f.Nonce, micros(db.Now().Add(ttl)))
	return db.d.mapErr(err)
}

// TakeSSOFlow reads and deletes the live flow with the key's hash, in one
// statement: a flow finishes once, on whichever replica. ErrNoRows when
// there is none (unknown, used or expired).
func (db *DB) TakeSSOFlow(ctx context.Context, keyHash []byte) (SSOFlow, error) {
	var f SSOFlow
	err := db.row(ctx, `DELETE FROM sso_flows WHERE key_hash = ? AND expires_at > ? RETURNING connection_id, verifier, nonce`,
		keyHash, micros(db.Now())).Scan(&f.ConnectionID, &f.Verifier, &f.Nonce)
	return f, db.mapNoRows(err)
}

// UseSSOAssertion records that the connection accepted the assertion ID,
// until expires. ErrUnique when it was accepted before (a replay), on any
// replica.
func (db *DB) UseSSOAssertion(ctx context.Context, connectionID int64, assertionID string, expires time.Time) error {
	_, err := db.exec(ctx, `INSERT INTO sso_assertions (connection_id, assertion_id, expires_at) VALUES (?, ?, ?)`,
		connectionID, assertionID, micros(expires))
	return db.d.mapErr(err)
}

// CreateSSOSession starts a session that came through the connection.
func (tx *Tx) CreateSSOSession(ctx context.Context, userID int64, tokenHash []byte, ttl time.Duration, ip, userAgent string, connectionID int64) error {
	if err := tx.CreateSession(ctx, userID, tokenHash, ttl, ip, userAgent); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `UPDATE sessions SET sso_connection_id = ? WHERE token_hash = ?`, connectionID, tokenHash)
	return err
}

// SessionSSO returns the account and connection a session came through
// (0, 0 for a session that came through a password).
func (db *DB) SessionSSO(ctx context.Context, sessionID int64) (accountSeq, connectionID int64, err error) {
	var acct, conn sql.NullInt64
	err = db.row(ctx, `SELECT c.account_id, c.id FROM sessions s LEFT JOIN sso_connections c ON c.id = s.sso_connection_id WHERE s.id = ?`,
		sessionID).Scan(&acct, &conn)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, ErrNoRows
	}
	return acct.Int64, conn.Int64, db.d.mapErr(err)
}

// EndSSOSessions ends every session the connection made.
func (tx *Tx) EndSSOSessions(ctx context.Context, connectionID int64) (int64, error) {
	r, err := tx.exec(ctx, `DELETE FROM sessions WHERE sso_connection_id = ?`, connectionID)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

// MarkMemberSSO records that the member signed in through the account's
// single sign-on. The first time, it records a change of the member for
// the index (a check by user ID counts a member bound to single sign-on
// as signed in through it once they have been).
func (tx *Tx) MarkMemberSSO(ctx context.Context, accountSeq, userID int64) error {
	r, err := tx.exec(ctx, `UPDATE members SET sso_at = ? WHERE account_id = ? AND user_id = ? AND sso_at IS NULL`, micros(tx.now), accountSeq, userID)
	if err != nil {
		return err
	}
	if n, err := r.RowsAffected(); err != nil {
		return err
	} else if n > 0 {
		_, err = tx.Changed(ctx, accountSeq, userID)
		return err
	}
	_, err = tx.exec(ctx, `UPDATE members SET sso_at = ? WHERE account_id = ? AND user_id = ?`, micros(tx.now), accountSeq, userID)
	return err
}

// SetRequireSSO sets whether the account requires its single sign-on of
// the members on its verified domains, and records the change for the
// index.
func (tx *Tx) SetRequireSSO(ctx context.Context, accountSeq int64, on bool) error {
	if _, err := tx.exec(ctx, `UPDATE accounts SET require_sso = ? WHERE id = ?`, boolInt(on), accountSeq); err != nil {
		return err
	}
	_, err := tx.Changed(ctx, accountSeq, 0)
	return err
}
