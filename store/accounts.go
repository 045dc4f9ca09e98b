package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math"

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
const indexMemberCols = `m.account_id, m.user_id, ` + indexFactCols

// indexFactCols are indexMemberCols but the membership's key: its role and
// facts.
const indexFactCols = `m.role, ` + hasSecondFactor + `,
	a.require_sso = 1 AND ` + onVerifiedDomain + `,
	m.sso_at IS NOT NULL, m.deactivated_at IS NOT NULL`

// onVerifiedDomain is whether the address of user u, a member m, is on one
// of m's account's verified domains.
const onVerifiedDomain = `EXISTS (SELECT 1 FROM domains d WHERE d.account_id = m.account_id AND d.verified_at IS NOT NULL
		AND substr(u.email, length(u.email) - length(d.domain)) = '@' || d.domain)`

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
	sp, err := db.LoadIndexSparse(ctx)
	if err != nil {
		return err
	}
	return db.LoadIndexMembers(ctx, IndexRange{math.MinInt64, math.MaxInt64}, sp, member)
}

// LoadIndexAccounts calls account for every account, for the check index.
func (db *DB) LoadIndexAccounts(ctx context.Context, account func(seq int64, f AccountFlags)) error {
	db = db.reader(ctx) // a standby's when there is a read pool (replicas.go)
	rows, err := db.queryBulk(ctx, `SELECT id, auth_id, CASE WHEN plan = ? THEN 1 ELSE 0 END, require_mfa, require_sso FROM accounts`,
		string(roster.PlanCommitted))
	return eachRow(rows, err, func(rows *sql.Rows) error {
		var seq, committed, requireMFA, requireSSO int64
		var authID string
		if err := rows.Scan(&seq, &authID, &committed, &requireMFA, &requireSSO); err != nil {
			return err
		}
		account(seq, AccountFlags{AuthID: authID, Committed: committed == 1, RequireMFA: requireMFA == 1, RequireSSO: requireSSO == 1})
		return nil
	})
}

// IndexSparse is what few memberships hold of what the check index keeps:
// which users have a second factor, and which members are on a verified
// domain of an account that requires single sign-on. A start reads it
// once (LoadIndexSparse), each part from a small index, and then the
// members from their own table alone (LoadIndexMembers): joining users,
// passkeys and domains to every one of ten million rows was most of a
// start's time (issue 26).
type IndexSparse struct {
	mfaBits  []uint64       // the users with a second factor, a bit per ID
	mfaOver  map[int64]bool // those whose ID is beyond mfaBits (or below 0)
	onDomain map[MemberPair]bool
}

// sparseBitsMax is the greatest user ID IndexSparse keeps in its bitset
// (16 MiB of it); greater ones go in a map.
const sparseBitsMax = 1<<27 - 1

func (sp *IndexSparse) mfa(userID int64) bool {
	if userID >= 0 && userID < int64(len(sp.mfaBits))*64 {
		return sp.mfaBits[userID/64]&(1<<(userID%64)) != 0
	}
	return sp.mfaOver[userID]
}

// LoadIndexSparse reads what few memberships hold (IndexSparse).
func (db *DB) LoadIndexSparse(ctx context.Context) (*IndexSparse, error) {
	db = db.reader(ctx) // a standby's when there is a read pool (replicas.go)
	sp := &IndexSparse{mfaOver: map[int64]bool{}, onDomain: map[MemberPair]bool{}}
	// The users with a second factor, as a set.
	var ids []int64
	rows, err := db.queryBulk(ctx, usersWithSecondFactor)
	err = eachRow(rows, err, func(rows *sql.Rows) error {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var top int64 = -1
	for _, id := range ids {
		if id <= sparseBitsMax {
			top = max(top, id)
		}
	}
	sp.mfaBits = make([]uint64, top/64+1)
	for _, id := range ids {
		if id >= 0 && id <= sparseBitsMax {
			sp.mfaBits[id/64] |= 1 << (id % 64)
		} else {
			sp.mfaOver[id] = true
		}
	}
	// The members on a verified domain of an account that requires single
	// sign-on (the partial index accounts_requiring_sso): the OnDomain of
	// indexMemberCols.
	rows, err = db.queryBulk(ctx, `SELECT m.account_id, m.user_id FROM accounts a
		JOIN members m ON m.account_id = a.id JOIN users u ON u.id = m.user_id
		WHERE a.require_sso = 1 AND `+onVerifiedDomain)
	err = eachRow(rows, err, func(rows *sql.Rows) error {
		var p MemberPair
		if err := rows.Scan(&p.AccountSeq, &p.UserID); err != nil {
			return err
		}
		sp.onDomain[p] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sp, nil
}

// IndexRange is one part of the memberships (IndexRanges), read by
// LoadIndexMembers.
type IndexRange struct{ from, to int64 }

// IndexRanges splits the memberships into at most n parts (n at least
// 1) that together hold each of them once, for a start to read them in
// parallel, each on its own connection: by their order in the table on
// SQLite (rowid ranges, read without an index: a fifth faster than by
// account at ten million), by account on PostgreSQL.
func (db *DB) IndexRanges(ctx context.Context, n int) ([]IndexRange, error) {
	db = db.reader(ctx)
	col := db.d.memberOrder()
	var lo, hi int64
	// Each bound its own statement: SQLite reads MIN or MAX alone from the
	// end of the table or an index, both in one statement by a scan.
	if err := db.row(ctx, `SELECT COALESCE((SELECT MIN(`+col+`) FROM members), 0), COALESCE((SELECT MAX(`+col+`) FROM members), 0)`).Scan(&lo, &hi); err != nil {
		return nil, err
	}
	n = max(1, min(n, int(min(hi-lo+1, math.MaxInt32))))
	span := (hi - lo + int64(n)) / int64(n)
	out := make([]IndexRange, n)
	for i := range out {
		out[i] = IndexRange{lo + int64(i)*span, lo + int64(i+1)*span - 1}
	}
	// The first and the last reach past the ends: rows added meanwhile
	// are read, or applied by the next catch-up.
	out[0].from, out[n-1].to = math.MinInt64, math.MaxInt64
	return out, nil
}

// LoadIndexMembers packs a member's user ID and flags into one column:
// the user ID times packedUser, plus the role (1 to 5, the low three
// bits) and these. Two columns a row instead of five saves the driver's
// work on each column ten million times at a start. A user ID of 2^58 or
// more would overflow the product, which both databases refuse (an
// error, never a wrong row); identities are far below it.
const (
	packedSSOSeen     = 8
	packedDeactivated = 16
	packedUser        = 32
)

// LoadIndexMembers calls member for every membership in r, for the check
// index, with the facts few hold read once before (LoadIndexSparse). A
// membership read here is what MemberIndexRow returns for it.
func (db *DB) LoadIndexMembers(ctx context.Context, r IndexRange, sp *IndexSparse, member func(IndexRow)) error {
	db = db.reader(ctx) // a standby's when there is a read pool (replicas.go)
	rows, err := db.queryBulk(ctx, fmt.Sprintf(`SELECT account_id, user_id * %d + role
		+ CASE WHEN sso_at IS NULL THEN 0 ELSE %d END
		+ CASE WHEN deactivated_at IS NULL THEN 0 ELSE %d END
		FROM members WHERE %s BETWEEN ? AND ?`, packedUser, packedSSOSeen, packedDeactivated, db.d.memberOrder()), r.from, r.to)
	return eachRow(rows, err, func(rows *sql.Rows) error {
		var r IndexRow
		var packed int64
		if err := rows.Scan(&r.AccountSeq, &packed); err != nil {
			return err
		}
		r.UserID = packed / packedUser
		r.Role = roster.Role(packed & 7)
		r.SSOSeen = packed&packedSSOSeen != 0
		r.Deactivated = packed&packedDeactivated != 0
		r.MFA = sp.mfa(r.UserID)
		if len(sp.onDomain) > 0 {
			r.OnDomain = sp.onDomain[MemberPair{r.AccountSeq, r.UserID}]
		}
		member(r)
		return nil
	})
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
