package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/rosterhq/roster"
)

const authIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// NewAuthID returns "MA" and 18 random characters of [A-Z0-9].
func NewAuthID() string {
	b := make([]byte, 20)
	b[0], b[1] = 'M', 'A'
	r := make([]byte, 18)
	rand.Read(r)
	for i, c := range r {
		// 256 % 36 = 4: the bias is below 2% per character and harmless for IDs.
		b[2+i] = authIDAlphabet[int(c)%len(authIDAlphabet)]
	}
	return string(b)
}

const accountCols = `id, auth_id, name, plan, monthly_commitment_usd, contract_months, require_mfa, require_sso, created_at`

func scanAccount(sc interface{ Scan(...any) error }, a *roster.Account) error {
	var created, requireMFA, requireSSO int64
	var plan string
	if err := sc.Scan(&a.Seq, &a.ID, &a.Name, &plan, &a.MonthlyCommitmentUSD, &a.ContractMonths, &requireMFA, &requireSSO, &created); err != nil {
		return err
	}
	a.Plan, a.RequireMFA, a.RequireSSO = roster.Plan(plan), requireMFA == 1, requireSSO == 1
	a.CreatedAt = fromMicros(created)
	return nil
}

// CreateAccount inserts an account on the standard plan with ownerID as its
// owner, in the transaction, and records the changes.
func (tx *Tx) CreateAccount(ctx context.Context, name string, ownerID int64) (roster.Account, error) {
	for attempt := 0; ; attempt++ {
		a := roster.Account{ID: NewAuthID(), Name: name, Plan: roster.PlanStandard, CreatedAt: tx.now}
		err := tx.queryRow(ctx, `INSERT INTO accounts (auth_id, name, plan, created_at) VALUES (?, ?, 'standard', ?)
			ON CONFLICT (auth_id) DO NOTHING RETURNING id`, []any{a.ID, name, micros(tx.now)}, &a.Seq)
		if errors.Is(err, ErrNoRows) && attempt < 5 {
			continue // an Auth ID collision: draw again
		} else if err != nil {
			return a, err
		}
		if err := tx.insertMember(ctx, a.Seq, ownerID, roster.RoleOwner); err != nil {
			return a, err
		}
		if _, err := tx.Changed(ctx, a.Seq, 0); err != nil {
			return a, err
		}
		_, err = tx.Changed(ctx, a.Seq, ownerID)
		return a, err
	}
}

// Account returns the account with the Auth ID, or ErrNoRows.
func (tx *Tx) Account(ctx context.Context, authID string) (roster.Account, error) {
	var a roster.Account
	if !roster.ValidAuthID(authID) {
		return a, ErrNoRows // e.g. a NUL byte, which PostgreSQL text cannot hold
	}
	err := scanAccount(tx.row(ctx, `SELECT `+accountCols+` FROM accounts WHERE auth_id = ?`, authID), &a)
	if err == sql.ErrNoRows {
		return a, ErrNoRows
	}
	return a, tx.db.d.mapErr(err)
}

// Account returns the account with the Auth ID, or ErrNoRows.
func (db *DB) Account(ctx context.Context, authID string) (roster.Account, error) {
	var a roster.Account
	if !roster.ValidAuthID(authID) {
		return a, ErrNoRows // e.g. a NUL byte, which PostgreSQL text cannot hold
	}
	err := scanAccount(db.row(ctx, `SELECT `+accountCols+` FROM accounts WHERE auth_id = ?`, authID), &a)
	if err == sql.ErrNoRows {
		return a, ErrNoRows
	}
	return a, db.d.mapErr(err)
}

// SetPlan sets the account's plan. The schema refuses a committed plan
// below the minimums.
func (tx *Tx) SetPlan(ctx context.Context, accountSeq int64, plan roster.Plan, usd, months int) error {
	r, err := tx.exec(ctx, `UPDATE accounts SET plan = ?, monthly_commitment_usd = ?, contract_months = ? WHERE id = ?`,
		string(plan), usd, months, accountSeq)
	if err != nil {
		return err
	}
	if err := oneRow(r); err != nil {
		return err
	}
	_, err = tx.Changed(ctx, accountSeq, 0)
	return err
}

// OwnerEmail returns the address of the account's owner, or ErrNoRows.
func (tx *Tx) OwnerEmail(ctx context.Context, accountSeq int64) (string, error) {
	var email string
	err := tx.queryRow(ctx, `SELECT u.email FROM members m JOIN users u ON u.id = m.user_id WHERE m.account_id = ? AND m.`+isOwner,
		[]any{accountSeq}, &email)
	return email, err
}

// OwnerEmail returns the address of the account's owner, or ErrNoRows.
func (db *DB) OwnerEmail(ctx context.Context, accountSeq int64) (string, error) {
	var email string
	err := db.row(ctx, `SELECT u.email FROM members m JOIN users u ON u.id = m.user_id WHERE m.account_id = ? AND m.`+isOwner, accountSeq).Scan(&email)
	return email, db.mapNoRows(err)
}

// SetAccountName renames the account.
func (tx *Tx) SetAccountName(ctx context.Context, accountSeq int64, name string) error {
	_, err := tx.exec(ctx, `UPDATE accounts SET name = ? WHERE id = ?`, name, accountSeq)
	return err
}

// Memberships lists every account the user belongs to, oldest first.
func (db *DB) Memberships(ctx context.Context, userID int64, p roster.Page) ([]roster.Membership, int, error) {
	var total int
	if err := db.row(ctx, `SELECT COUNT(*) FROM members WHERE user_id = ?`, userID).Scan(&total); err != nil {
		return nil, 0, db.d.mapErr(err)
	}
	rows, err := db.query(ctx, `SELECT a.id, a.auth_id, a.name, a.plan, a.monthly_commitment_usd, a.contract_months, a.require_mfa, a.created_at,
			m.role, COALESCE(u.default_account_id = a.id, FALSE), m.deactivated_at IS NOT NULL
		FROM members m JOIN accounts a ON a.id = m.account_id JOIN users u ON u.id = m.user_id
		WHERE m.user_id = ? ORDER BY m.joined_at, a.id LIMIT ? OFFSET ?`, userID, p.Limit, p.Offset)
	out, err := collect(rows, err, func(rows *sql.Rows) (roster.Membership, error) {
		var m roster.Membership
		var created, requireMFA int64
		var plan string
		var role int
		var deactivated bool
		if err := rows.Scan(&m.Account.Seq, &m.Account.ID, &m.Account.Name, &plan, &m.Account.MonthlyCommitmentUSD,
			&m.Account.ContractMonths, &requireMFA, &created, &role, &m.IsDefault, &deactivated); err != nil {
			return m, err
		}
		m.Account.Plan, m.Account.RequireMFA = roster.Plan(plan), requireMFA == 1
		m.Account.CreatedAt = fromMicros(created)
		m.Role = roster.Role(role)
		m.Status = roster.StatusOf(m.Role, m.Account.Plan)
		if deactivated {
			m.Status = roster.MemberDeactivated
		}
		return m, nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

func oneRow(r sql.Result) error {
	n, err := r.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNoRows
	}
	if n > 1 {
		return fmt.Errorf("store: %d rows changed where one was meant", n)
	}
	return nil
}

// IndexRow is one row of what the check index loads.
type IndexRow struct {
	AccountSeq int64
	UserID     int64
	Role       roster.Role
	MFA        bool // the user has two-factor sign-in on
	// OnDomain: the account requires single sign-on and the user's address
	// is on one of its verified domains (false while it does not require
	// it: the index reloads the account's members when it is turned on).
	OnDomain bool
	SSOSeen  bool // the member has signed in through the account's single sign-on (members.sso_at)
	// Deactivated: the company's directory deactivated the member
	// (members.deactivated_at).
	Deactivated bool
}

// AccountFlags is what the check index keeps of an account.
type AccountFlags struct {
	AuthID     string
	Committed  bool // on the committed plan
	RequireMFA bool // members need two-factor sign-in
	RequireSSO bool // members on its verified domains need its single sign-on
}

// indexMemberCols are what the check index keeps of a member, from members
// m joined with users u and accounts a. An address is on a domain when
// what follows its "@" is the domain: the last len(domain)+1 characters
// are "@"+domain (addresses and domains are stored normalized, in lower
// case), in SQL both databases speak.
const indexMemberCols = `m.account_id, m.user_id, m.role, ` + hasSecondFactor + `,
	a.require_sso = 1 AND EXISTS (SELECT 1 FROM domains d WHERE d.account_id = m.account_id AND d.verified_at IS NOT NULL
		AND substr(u.email, length(u.email) - length(d.domain)) = '@' || d.domain),
	m.sso_at IS NOT NULL, m.deactivated_at IS NOT NULL`

const indexMemberFrom = ` FROM members m JOIN users u ON u.id = m.user_id JOIN accounts a ON a.id = m.account_id`

func scanIndexRow(sc interface{ Scan(...any) error }) (IndexRow, error) {
	var r IndexRow
	var role int
	err := sc.Scan(&r.AccountSeq, &r.UserID, &role, &r.MFA, &r.OnDomain, &r.SSOSeen, &r.Deactivated)
	r.Role = roster.Role(role)
	return r, err
}

func accountFlags(authID, plan string, requireMFA, requireSSO int64) AccountFlags {
	return AccountFlags{AuthID: authID, Committed: plan == string(roster.PlanCommitted), RequireMFA: requireMFA == 1, RequireSSO: requireSSO == 1}
}

// LoadIndex calls account for every account and member for every
// membership, for building the in-memory check index at start. Its reads
// are not bounded by the database timeout (queryBulk).
func (db *DB) LoadIndex(ctx context.Context, account func(seq int64, f AccountFlags), member func(IndexRow)) error {
	if err := db.LoadIndexAccounts(ctx, account); err != nil {
		return err
	}
	return db.LoadIndexMembers(ctx, 0, math.MaxInt64, member)
}

// LoadIndexAccounts calls account for every account, for the check index.
func (db *DB) LoadIndexAccounts(ctx context.Context, account func(seq int64, f AccountFlags)) error {
	db = db.reader(ctx) // a standby's when there is a read pool (replicas.go)
	rows, err := db.queryBulk(ctx, `SELECT id, auth_id, plan, require_mfa, require_sso FROM accounts`)
	return eachRow(rows, err, func(rows *sql.Rows) error {
		var seq, requireMFA, requireSSO int64
		var authID, plan string
		if err := rows.Scan(&seq, &authID, &plan, &requireMFA, &requireSSO); err != nil {
			return err
		}
		account(seq, accountFlags(authID, plan, requireMFA, requireSSO))
		return nil
	})
}

// LoadIndexMembers calls member for every membership of the accounts
// with IDs from from to to (inclusive), for the check index: a start
// reads several ranges at once, each on its own connection.
func (db *DB) LoadIndexMembers(ctx context.Context, from, to int64, member func(IndexRow)) error {
	db = db.reader(ctx) // a standby's when there is a read pool (replicas.go)
	rows, err := db.queryBulk(ctx, `SELECT `+indexMemberCols+indexMemberFrom+` WHERE m.account_id BETWEEN ? AND ?`, from, to)
	return eachRow(rows, err, func(rows *sql.Rows) error {
		r, err := scanIndexRow(rows)
		if err != nil {
			return err
		}
		member(r)
		return nil
	})
}

// AccountIDRange returns the least and the greatest account ID (0, 0 when
// there is no account).
func (db *DB) AccountIDRange(ctx context.Context) (lo, hi int64, err error) {
	db = db.reader(ctx)
	err = db.row(ctx, `SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM accounts`).Scan(&lo, &hi)
	return lo, hi, err
}

// AccountIndexRows calls member for every member of the account: what
// the check index keeps of each (reloaded when the account's single
// sign-on requirement or verified domains change).
func (db *DB) AccountIndexRows(ctx context.Context, accountSeq int64, member func(IndexRow)) error {
	db = db.reader(ctx) // a standby's when there is a read pool (replicas.go)
	rows, err := db.query(ctx, `SELECT `+indexMemberCols+indexMemberFrom+` WHERE m.account_id = ?`, accountSeq)
	return eachRow(rows, err, func(rows *sql.Rows) error {
		r, err := scanIndexRow(rows)
		if err != nil {
			return err
		}
		member(r)
		return nil
	})
}

// MemberIndexRow returns what the check index keeps of the member, or
// ErrNoRows.
func (db *DB) MemberIndexRow(ctx context.Context, accountSeq, userID int64) (IndexRow, error) {
	db = db.reader(ctx) // a standby's when there is a read pool (replicas.go)
	r, err := scanIndexRow(db.row(ctx, `SELECT `+indexMemberCols+indexMemberFrom+` WHERE m.account_id = ? AND m.user_id = ?`, accountSeq, userID))
	if err != nil {
		return r, db.mapNoRows(err)
	}
	return r, nil
}

// MemberPair names one membership: its account's integer ID and its user's.
type MemberPair struct{ AccountSeq, UserID int64 }

// memberPairBatch is the most memberships one statement names.
const memberPairBatch = 200

// pairValues is the VALUES list naming ps and its arguments.
func pairValues(ps []MemberPair) (string, []any) {
	args := make([]any, 0, 2*len(ps))
	for _, p := range ps {
		args = append(args, p.AccountSeq, p.UserID)
	}
	return `(VALUES ` + strings.TrimSuffix(strings.Repeat(`(CAST(? AS BIGINT), CAST(? AS BIGINT)), `, len(ps)), ", ") + `)`, args
}

// MemberIndexRows calls member for what the check index keeps of each of
// the memberships ps names that exists, and keys for each one's personal
// API keys (ID and hash): a catch-up's reads in two statements for up to
// 200 memberships, instead of two for each (issue 26). A membership with
// no row is gone.
func (db *DB) MemberIndexRows(ctx context.Context, ps []MemberPair, member func(IndexRow), key func(p MemberPair, id int64, hash []byte)) error {
	db = db.reader(ctx) // a standby's when there is a read pool (replicas.go)
	for len(ps) > 0 {
		n := min(len(ps), memberPairBatch)
		vals, args := pairValues(ps[:n])
		rows, err := db.query(ctx, `SELECT `+indexMemberCols+indexMemberFrom+
			` WHERE (m.account_id, m.user_id) IN (SELECT * FROM `+vals+` AS p)`, args...)
		err = eachRow(rows, err, func(rows *sql.Rows) error {
			r, err := scanIndexRow(rows)
			if err == nil {
				member(r)
			}
			return err
		})
		if err != nil {
			return err
		}
		rows, err = db.query(ctx, `SELECT account_id, user_id, id, key_hash FROM api_keys
			WHERE (account_id, user_id) IN (SELECT * FROM `+vals+` AS p)`, args...)
		err = eachRow(rows, err, func(rows *sql.Rows) error {
			var p MemberPair
			var id int64
			var h []byte
			if err := rows.Scan(&p.AccountSeq, &p.UserID, &id, &h); err != nil {
				return err
			}
			key(p, id, h)
			return nil
		})
		if err != nil {
			return err
		}
		ps = ps[n:]
	}
	return nil
}
