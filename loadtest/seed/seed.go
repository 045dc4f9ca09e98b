// Package seed fills an existing account of either database (SQLite or
// PostgreSQL) with members and pending invitations that look like a real
// team's, written straight through SQL in one transaction (10,000 members
// in about a second): the team list at 10,000 (issue 21) for the
// benchmarks of package loadtest and the console's browser walk
// (servertest's Members). It imports neither loadtest nor servertest,
// whose tests use it.
package seed

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/rosterhq/roster/store"
)

// Password is every seeded user's password_hash (no one logs in).
const Password = "seed-not-a-password-hash"

// batch is how many rows one multi-row INSERT carries.
const batch = 200

var first = []string{"Ada", "Ben", "Chloé", "Dmitri", "Émile", "Fatima", "Grace", "Hiro", "Ines", "Jürgen",
	"Kofi", "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Victor", "Wen", "Ximena", "Zoë"}

var last = []string{"Abbott", "Berg", "Castillo", "Dubois", "Eriksen", "Fischer", "García", "Haddad", "Ito", "Jensen",
	"Kowalski", "Lindqvist", "Mensah", "Nakamura", "Okafor", "Patel", "Quispe", "Rossi", "Schmidt", "Tanaka",
	"Ueda", "Varga", "Weber", "Xu", "Yilmaz", "Zhang", "Åberg", "Novak", "Moreau", "Silva"}

// Name is the name of seeded member i (1-based): a first and a last
// name, some outside ASCII; the pair repeats every 750 members.
func Name(i int) string {
	return first[i%len(first)] + " " + last[(i/len(first))%len(last)]
}

// Email is the address of seeded member i (1-based) at domain: unique,
// so a search for "member10000" finds exactly member 10,000.
func Email(i int, domain string) string { return fmt.Sprintf("member%05d@%s", i, domain) }

// InviteeEmail is the address of seeded invitation i (1-based).
func InviteeEmail(i int, domain string) string { return fmt.Sprintf("invitee%05d@%s", i, domain) }

// Role is the role of seeded member or invitation i (1-based): admin,
// developer, finance analyst and support in turn (2..5).
func Role(i int) int { return 2 + (i-1)%4 }

// MFA reports whether seeded member i has two-factor sign-in on:
// every third.
func MFA(i int) bool { return i%3 == 0 }

// Members adds n members to the account with Auth ID accountID, at the
// domain of its owner's address: member i (1..n) is Name(i) at
// Email(i, domain) with role Role(i), two-factor on when MFA(i),
// having joined n-i+1 minutes before now (member n last). It returns the
// user IDs in order (ids[i-1] is member i). The rows are written with SQL
// only: a running service's check index learns of them by its LoadIndex
// (servertest's SeedMembers calls it).
func Members(ctx context.Context, db *store.DB, accountID string, n int) ([]int64, error) {
	seq, domain, _, err := account(ctx, db, accountID)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	ids := make([]int64, 0, n)
	err = inTx(ctx, db, func(tx *sql.Tx, ph func(rows, width int) string) error {
		for from := 1; from <= n; from += batch {
			to := min(n, from+batch-1)
			var uargs, margs []any
			var emails []any
			for i := from; i <= to; i++ {
				at := now.Add(-time.Duration(n-i+1) * time.Minute).UnixMicro()
				var secret, confirmed any
				if MFA(i) {
					secret, confirmed = "JBSWY3DPEHPK3PXP", at
				}
				email := Email(i, domain)
				emails = append(emails, email)
				uargs = append(uargs, email, Name(i), Password, at, at, secret, confirmed)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO users (email, name, password_hash, verified_at, created_at, totp_secret, totp_confirmed_at) VALUES `+
				ph(len(emails), 7), uargs...); err != nil {
				return fmt.Errorf("loadtest: seed users %d..%d: %w", from, to, err)
			}
			byEmail := map[string]int64{}
			rows, err := tx.QueryContext(ctx, `SELECT id, email FROM users WHERE email IN `+ph(1, len(emails)), emails...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id int64
				var e string
				if err := rows.Scan(&id, &e); err != nil {
					rows.Close()
					return err
				}
				byEmail[e] = id
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for i := from; i <= to; i++ {
				id := byEmail[Email(i, domain)]
				ids = append(ids, id)
				margs = append(margs, seq, id, Role(i), now.Add(-time.Duration(n-i+1)*time.Minute).UnixMicro())
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO members (account_id, user_id, role, joined_at) VALUES `+ph(to-from+1, 4), margs...); err != nil {
				return fmt.Errorf("loadtest: seed members %d..%d: %w", from, to, err)
			}
		}
		return nil
	})
	if err != nil {
		return ids, err
	}
	return ids, db.RefreshMemberKeys(ctx, seq) // the team list's keys (migration 00027)
}

// Invitations adds n pending invitations to the account, sent by its
// owner: invitation i (1..n) to InviteeEmail(i, domain) with role
// Role(i), sent n-i+1 minutes before now; every tenth has expired, the
// others expire in seven days.
func Invitations(ctx context.Context, db *store.DB, accountID string, n int) error {
	seq, domain, owner, err := account(ctx, db, accountID)
	if err != nil {
		return err
	}
	now := time.Now()
	return inTx(ctx, db, func(tx *sql.Tx, ph func(rows, width int) string) error {
		for from := 1; from <= n; from += batch {
			to := min(n, from+batch-1)
			var args []any
			for i := from; i <= to; i++ {
				sent := now.Add(-time.Duration(n-i+1) * time.Minute)
				expires := sent.Add(7 * 24 * time.Hour)
				if i%10 == 0 {
					expires = now.Add(-time.Hour)
				}
				token := make([]byte, 32)
				rand.Read(token)
				args = append(args, seq, InviteeEmail(i, domain), Role(i), token, "pending", owner, sent.UnixMicro(), sent.UnixMicro(), expires.UnixMicro())
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO invitations (account_id, email, role, token_hash, status, invited_by, created_at, last_sent_at, expires_at) VALUES `+
				ph(to-from+1, 9), args...); err != nil {
				return fmt.Errorf("loadtest: seed invitations %d..%d: %w", from, to, err)
			}
		}
		return nil
	})
}

// account finds the account's integer ID, its owner and the domain of
// the owner's address.
func account(ctx context.Context, db *store.DB, accountID string) (seq int64, domain string, owner int64, err error) {
	q := `SELECT a.id, u.id, u.email FROM accounts a JOIN members m ON m.account_id = a.id AND m.role = 1 JOIN users u ON u.id = m.user_id WHERE a.auth_id = ?`
	if db.Dialect() == "postgres" {
		q = strings.Replace(q, "?", "$1", 1)
	}
	var email string
	if err := db.SQL().QueryRowContext(ctx, q, accountID).Scan(&seq, &owner, &email); err != nil {
		return 0, "", 0, fmt.Errorf("loadtest: seed account %s: %w", accountID, err)
	}
	_, domain, _ = strings.Cut(email, "@")
	return seq, domain, owner, nil
}

// inTx runs fn in one transaction; ph writes the VALUES of rows rows of
// width placeholders each, numbered for PostgreSQL.
func inTx(ctx context.Context, db *store.DB, fn func(tx *sql.Tx, ph func(rows, width int) string) error) error {
	pg := db.Dialect() == "postgres"
	ph := func(rows, width int) string {
		var b strings.Builder
		k := 0
		for r := range rows {
			if r > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for c := range width {
				if c > 0 {
					b.WriteString(", ")
				}
				k++
				if pg {
					fmt.Fprintf(&b, "$%d", k)
				} else {
					b.WriteByte('?')
				}
			}
			b.WriteByte(')')
		}
		return b.String()
	}
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx, ph); err != nil {
		return err
	}
	return tx.Commit()
}
