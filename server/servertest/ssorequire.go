package servertest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/edge"
)

// Helpers for the tests of requiring single sign-on (issue 22): a verified
// domain, a connection and a session that came through it, written
// straight into the database (the sign-in flows have their own tests), and
// the server's check index reloaded so it knows them.

// exec runs a statement written with ? placeholders (numbered for
// PostgreSQL here) on the server's database.
func (e *Env) exec(tb testing.TB, query string, args ...any) {
	tb.Helper()
	if e.Server.DB.Dialect() != "sqlite" {
		for i := 1; strings.Contains(query, "?"); i++ {
			query = strings.Replace(query, "?", fmt.Sprintf("$%d", i), 1)
		}
	}
	if _, err := e.Server.DB.SQL().Exec(query, args...); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
}

// Reload reloads the server's check index from the database (after a
// helper wrote to it directly).
func (e *Env) Reload(tb testing.TB) {
	tb.Helper()
	if err := e.Server.Service.LoadIndex(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

// SSOConnection gives the account with Auth ID accountID the verified
// domain and an enabled OpenID Connect connection named name (countsAsMFA:
// its sessions satisfy the account's two-factor requirement), and returns
// the connection's ID. The check index is reloaded.
func (e *Env) SSOConnection(tb testing.TB, accountID, domain, name string, countsAsMFA bool) int64 {
	tb.Helper()
	now := time.Now().UnixMicro()
	seq := int64(e.Count(tb, `SELECT id FROM accounts WHERE auth_id = ?`, accountID))
	if e.Count(tb, `SELECT COUNT(*) FROM domains WHERE account_id = ? AND domain = ?`, seq, domain) == 0 {
		e.exec(tb, `INSERT INTO domains (account_id, domain, token, created_at, verified_at) VALUES (?, ?, ?, ?, ?)`,
			seq, domain, "test-token", now, now)
	} else {
		e.exec(tb, `UPDATE domains SET verified_at = ? WHERE account_id = ? AND domain = ? AND verified_at IS NULL`, now, seq, domain)
	}
	mfa := 0
	if countsAsMFA {
		mfa = 1
	}
	e.exec(tb, `INSERT INTO sso_connections (account_id, type, name, enabled, counts_as_mfa, issuer, client_id, created_at)
		VALUES (?, 'oidc', ?, 1, ?, 'https://idp.test', 'roster', ?)`, seq, name, mfa, now)
	id := int64(e.Count(tb, `SELECT MAX(id) FROM sso_connections WHERE account_id = ?`, seq))
	e.Reload(tb)
	return id
}

// SSOSession starts a session of the user with the address that came
// through the connection, as a finished single sign-on would (and records
// that the member signed in through it when markMember), and returns a
// client carrying its cookie. The check index is reloaded.
func (e *Env) SSOSession(tb testing.TB, email string, connectionID int64, markMember bool) *Client {
	tb.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(token))
	now := time.Now()
	uid := e.Count(tb, `SELECT id FROM users WHERE email = ?`, email)
	e.exec(tb, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, ip, user_agent, sso_connection_id)
		VALUES (?, ?, ?, ?, ?, '127.0.0.1', 'test', ?)`, h[:], uid, now.UnixMicro(), now.Add(time.Hour).UnixMicro(), now.UnixMicro(), connectionID)
	if markMember {
		e.exec(tb, `UPDATE members SET sso_at = ? WHERE user_id = ? AND account_id = (SELECT account_id FROM sso_connections WHERE id = ?)`,
			now.UnixMicro(), uid, connectionID)
		e.Reload(tb)
	}
	c := e.Client(tb)
	u, _ := url.Parse(e.URL)
	c.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: edge.CookieName, Value: token, Path: "/"}})
	return c
}
