package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rosterhq/roster"
)

// AddMember inserts a membership. ErrUnique when the user already is one.
func (tx *Tx) AddMember(ctx context.Context, accountSeq, userID int64, role roster.Role) error {
	if err := tx.insertMember(ctx, accountSeq, userID, role); err != nil {
		return err
	}
	_, err := tx.Changed(ctx, accountSeq, userID)
	return err
}

// memberKeys is the team list's keys of the membership of user (an SQL
// expression of its ID) as SQL (migration 00027): its name folded as
// foldSQL does, which orders the name sort (members.name_key), and that,
// a unit separator (31) and its address folded, which the search reads
// (members.search_key). Every write of either goes through here: the
// insert of a member, and refreshMemberKeys when a user's name changes.
func (db *DB) memberKeys(user string) (nameKey, searchKey string) {
	sep := "char(31)"
	if db.d.name() == "postgres" {
		sep = "chr(31)"
	}
	return `(SELECT ` + db.foldSQL("u.name") + ` FROM users u WHERE u.id = ` + user + `)`,
		`(SELECT ` + db.foldSQL("u.name") + ` || ` + sep + ` || ` + db.foldSQL("u.email") + ` FROM users u WHERE u.id = ` + user + `)`
}

// insertMember inserts a membership with its team list keys.
func (tx *Tx) insertMember(ctx context.Context, accountSeq, userID int64, role roster.Role) error {
	// An unknown user's keys are '', so the foreign key refuses the row
	// as it did before the keys.
	nameKey, searchKey := tx.db.memberKeys("?")
	_, err := tx.exec(ctx, `INSERT INTO members (account_id, user_id, role, joined_at, name_key, search_key)
		VALUES (?, ?, ?, ?, COALESCE(`+nameKey+`, ''), COALESCE(`+searchKey+`, ''))`,
		accountSeq, userID, int(role), micros(tx.now), userID, userID)
	return err
}

// refreshMemberKeys sets the team list's keys of the memberships that
// match where from their users as they are now (memberKeys).
func (tx *Tx) refreshMemberKeys(ctx context.Context, where string, args ...any) error {
	nameKey, searchKey := tx.db.memberKeys("members.user_id")
	_, err := tx.exec(ctx, `UPDATE members SET name_key = `+nameKey+`, search_key = `+searchKey+` WHERE `+where, args...)
	return err
}

// MemberRole returns the user's role in the account, or ErrNoRows.
func (tx *Tx) MemberRole(ctx context.Context, accountSeq, userID int64) (roster.Role, error) {
	var role int
	err := tx.queryRow(ctx, `SELECT role FROM members WHERE account_id = ? AND user_id = ?`,
		[]any{accountSeq, userID}, &role)
	return roster.Role(role), err
}

// SetMemberRole changes a non-owner's role; the owner row is never matched,
// so an owner answers ErrNoRows like a missing member.
func (tx *Tx) SetMemberRole(ctx context.Context, accountSeq, userID int64, role roster.Role) error {
	r, err := tx.exec(ctx, `UPDATE members SET role = ? WHERE account_id = ? AND user_id = ? AND `+notOwner,
		int(role), accountSeq, userID)
	if err != nil {
		return err
	}
	if err := oneRow(r); err != nil {
		return err
	}
	_, err = tx.Changed(ctx, accountSeq, userID)
	return err
}

// DeleteMember deletes a non-owner membership (ErrNoRows otherwise) and
// clears it as the user's default landing account.
func (tx *Tx) DeleteMember(ctx context.Context, accountSeq, userID int64) error {
	r, err := tx.exec(ctx, `DELETE FROM members WHERE account_id = ? AND user_id = ? AND `+notOwner, accountSeq, userID)
	if err != nil {
		return err
	}
	if err := oneRow(r); err != nil {
		return err
	}
	_, err = tx.exec(ctx, `UPDATE users SET default_account_id = NULL WHERE id = ? AND default_account_id = ?`, userID, accountSeq)
	if err != nil {
		return err
	}
	_, err = tx.Changed(ctx, accountSeq, userID)
	return err
}

// The owner rule in SQL, written once from roster.RoleOwner: the owner
// can be neither re-roled nor removed, is listed first, and is the one
// member the schema allows per account (members_one_owner, whose
// "role = 1" a test holds to roster.RoleOwner).
const (
	ownerRoleSQL = string(rune('0' + roster.RoleOwner))
	isOwner      = "role = " + ownerRoleSQL
	notOwner     = "role <> " + ownerRoleSQL
	// ownerFirst orders the member list: the expression of the
	// members_list_order index, so a page is read from it.
	ownerFirst = "(CASE WHEN m." + isOwner + " THEN 0 ELSE 1 END)"
)

// ErrBadCursor: a keyset cursor that this list did not make.
var ErrBadCursor = errors.New("store: bad cursor")

// memberCursor is a position in the member list's order: the owner first
// (rank 0, others 1), then by join time and user ID.
func memberCursor(m roster.Member) string {
	rank := 1
	if m.Role == roster.RoleOwner {
		rank = 0
	}
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d.%d.%d", rank, micros(m.JoinedAt), m.UserID))
}

func parseMemberCursor(s string) (rank, joined, userID int64, err error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		var n int
		n, err = fmt.Sscanf(string(b), "%d.%d.%d", &rank, &joined, &userID)
		if n != 3 || rank < 0 || rank > 1 {
			err = ErrBadCursor
		}
	}
	if err != nil {
		return 0, 0, 0, ErrBadCursor
	}
	return rank, joined, userID, nil
}

// Members lists an account's members, owner first, then by join time, a
// page at a time: by offset, or after p.After (a cursor of this list, from
// the index on that order: any page costs the same). It returns the cursor
// of the next page ("" when this page is the last). ErrBadCursor.
func (db *DB) Members(ctx context.Context, a roster.Account, p roster.Page) ([]roster.Member, int, string, error) {
	db = db.reader(ctx) // a standby's when there is a read pool (replicas.go)
	var total int
	if err := db.row(ctx, `SELECT COUNT(*) FROM members WHERE account_id = ?`, a.Seq).Scan(&total); err != nil {
		return nil, 0, "", db.d.mapErr(err)
	}
	const cols = `SELECT ` + memberCols + `
		FROM members m JOIN users u ON u.id = m.user_id WHERE m.account_id = ?`
	const order = ` ORDER BY ` + ownerFirst + `, m.joined_at, m.user_id LIMIT ?`
	var rows *rowSet
	var err error
	if p.After != "" {
		rank, joined, uid, cerr := parseMemberCursor(p.After)
		if cerr != nil {
			return nil, 0, "", cerr
		}
		rows, err = db.query(ctx, cols+` AND (`+ownerFirst+`, m.joined_at, m.user_id) > (?, ?, ?)`+order,
			a.Seq, rank, joined, uid, p.Limit)
	} else {
		rows, err = db.query(ctx, cols+order+` OFFSET ?`, a.Seq, p.Limit, p.Offset)
	}
	out, err := collect(rows, err, func(rows *sql.Rows) (roster.Member, error) {
		return scanMember(rows, a)
	})
	if err != nil {
		return nil, 0, "", db.d.mapErr(err)
	}
	next := ""
	if len(out) == p.Limit && p.Limit > 0 {
		next = memberCursor(out[len(out)-1])
	}
	return out, total, next, nil
}

// memberCols are the columns scanMember reads, from members m joined
// with users u: whether the directory deactivated the member, and
// whether it provisioned them (a scim_users row, by its primary key).
const memberCols = `m.user_id, u.email, u.name, m.role, m.joined_at, ` + hasSecondFactor + `, m.sso_at IS NOT NULL,
	m.deactivated_at IS NOT NULL, EXISTS (SELECT 1 FROM scim_users su WHERE su.account_id = m.account_id AND su.user_id = m.user_id)`

// scanMember reads one row of memberCols as a member of a: its status is
// deactivated when the directory deactivated it, else it follows from its
// role and the account's plan.
func scanMember(sc interface{ Scan(...any) error }, a roster.Account) (roster.Member, error) {
	m := roster.Member{AccountID: a.ID}
	var role int
	var joined int64
	var deactivated bool
	if err := sc.Scan(&m.UserID, &m.Email, &m.Name, &role, &joined, &m.MFA, &m.SSO, &deactivated, &m.Provisioned); err != nil {
		return m, err
	}
	m.Role = roster.Role(role)
	m.JoinedAt = fromMicros(joined)
	m.Status = roster.StatusOf(m.Role, a.Plan)
	if deactivated {
		m.Status = roster.MemberDeactivated
	}
	return m, nil
}

// Member returns one member of the account, or ErrNoRows.
func (db *DB) Member(ctx context.Context, a roster.Account, userID int64) (roster.Member, error) {
	return db.member(ctx, db.oneRow, a, userID)
}

// Member returns one member of the account as the transaction sees it, or
// ErrNoRows: an answer built in the transaction that made the change.
func (tx *Tx) Member(ctx context.Context, a roster.Account, userID int64) (roster.Member, error) {
	return tx.db.member(ctx, tx.row, a, userID)
}

func (db *DB) member(ctx context.Context, qr querier, a roster.Account, userID int64) (roster.Member, error) {
	m, err := scanMember(qr(ctx, `SELECT `+memberCols+`
		FROM members m JOIN users u ON u.id = m.user_id WHERE m.account_id = ? AND m.user_id = ?`, a.Seq, userID), a)
	if err == sql.ErrNoRows {
		return m, ErrNoRows
	} else if err != nil {
		return m, db.d.mapErr(err)
	}
	return m, nil
}

// Audit writes an audit event in the transaction (with its commit where
// the dialect batches: execLater).
func (tx *Tx) Audit(ctx context.Context, accountSeq int64, actor roster.Actor, action, target, detail string) error {
	var actorID any
	if actor.UserID != 0 {
		actorID = actor.UserID
	}
	return tx.execLater(ctx, `INSERT INTO audit_events (account_id, actor_user_id, actor_email, action, target, detail, ip, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, accountSeq, actorID, actor.Email, action, target, detail, actor.IP, micros(tx.now))
}

// auditSelect reads events with the names of the people in them, as the
// users are now: the actor, and the person acted on. member.role names
// its member by user ID; the events about a person name them by address.
// The target is cast only when it is digits: PostgreSQL's CAST fails the
// whole read on any other text, where SQLite's gives 0.
const auditSelect = `SELECT e.id, COALESCE(e.actor_user_id, 0), e.actor_email, e.action, e.target, e.detail, e.ip, e.at,
		COALESCE(au.name, ''), COALESCE(sid.name, se.name, ''), COALESCE(sid.email, se.email, '')
	FROM audit_events e
	LEFT JOIN users au ON au.id = e.actor_user_id
	LEFT JOIN users sid ON sid.id = (CASE WHEN e.action = 'member.role' AND LENGTH(e.target) BETWEEN 1 AND 18
		AND TRIM(e.target, '0123456789') = '' THEN CAST(e.target AS BIGINT) END)
	LEFT JOIN users se ON se.email = e.target`

// scanAuditEvent reads one row of auditSelect.
func scanAuditEvent(rows *sql.Rows, e *roster.AuditEvent) error {
	var at int64
	if err := rows.Scan(&e.ID, &e.ActorID, &e.ActorEmail, &e.Action, &e.Target, &e.Detail, &e.IP, &at,
		&e.ActorName, &e.SubjectName, &e.SubjectEmail); err != nil {
		return err
	}
	e.At = fromMicros(at)
	if e.SubjectEmail == "" && strings.Contains(e.Target, "@") {
		e.SubjectEmail = e.Target // an address with no login yet (an invitation's)
	}
	return nil
}

// auditWhere is the filter's conditions, the account named first.
func auditWhere(a roster.Account, f roster.AuditFilter) (string, []any) {
	where, args := ` WHERE e.account_id = ?`, []any{a.Seq}
	if f.ActorID != 0 {
		where += ` AND e.actor_user_id = ?`
		args = append(args, f.ActorID)
	} else if f.ActorEmail != "" {
		where += ` AND e.actor_email = ?`
		args = append(args, f.ActorEmail)
	}
	if f.Action != "" {
		where += ` AND e.action = ?`
		args = append(args, f.Action)
	}
	return where, args
}

// AuditEvents lists the account's audit events that match the filter,
// newest first, and how many match.
func (db *DB) AuditEvents(ctx context.Context, a roster.Account, f roster.AuditFilter, p roster.Page) ([]roster.AuditEvent, int, error) {
	db = db.reader(ctx) // a standby's when there is a read pool (replicas.go)
	where, args := auditWhere(a, f)
	var total int
	if err := db.oneRow(ctx, `SELECT COUNT(*) FROM audit_events e`+where, args...).Scan(&total); err != nil {
		return nil, 0, db.d.mapErr(err)
	}
	rows, err := db.query(ctx, auditSelect+where+` ORDER BY e.id DESC LIMIT ? OFFSET ?`, append(args, p.Limit, p.Offset)...)
	out, err := collect(rows, err, func(rows *sql.Rows) (roster.AuditEvent, error) {
		e := roster.AuditEvent{AccountID: a.ID}
		err := scanAuditEvent(rows, &e)
		return e, err
	})
	if err != nil {
		return nil, 0, db.d.mapErr(err)
	}
	return out, total, nil
}

// AuditActors lists up to limit of the people seen acting in the account's
// audit log, each once: a user by ID with their name now, an actor with no
// user (the operator) by the address recorded. Ordered by address.
func (db *DB) AuditActors(ctx context.Context, a roster.Account, limit int) ([]roster.AuditActor, error) {
	db = db.reader(ctx) // a standby's when there is a read pool (replicas.go)
	rows, err := db.query(ctx, `SELECT x.uid, COALESCE(u.email, x.email), COALESCE(u.name, '')
		FROM (SELECT COALESCE(actor_user_id, 0) AS uid, MIN(actor_email) AS email
			FROM audit_events WHERE account_id = ? GROUP BY COALESCE(actor_user_id, 0), CASE WHEN actor_user_id IS NULL THEN actor_email ELSE '' END) x
		LEFT JOIN users u ON u.id = x.uid
		ORDER BY 2, 1 LIMIT ?`, a.Seq, limit)
	out, err := collect(rows, err, func(rows *sql.Rows) (roster.AuditActor, error) {
		var p roster.AuditActor
		err := rows.Scan(&p.UserID, &p.Email, &p.Name)
		return p, err
	})
	return out, db.d.mapErr(err)
}

// Departure is a member's leaving or removal, from the audit log.
type Departure struct {
	UserID  int64  // 0 when no user has the address now
	Email   string // the member's address
	Name    string // the user's name now, "" when none
	Role    string // the role they held ("" when not recorded: leaving, before it was)
	Removed bool   // removed by someone (member.delete), else left (member.leave)
	At      time.Time
}

// Departures returns the account's members who were removed or left at or
// after since, newest first.
func (db *DB) Departures(ctx context.Context, acct int64, since time.Time) ([]Departure, error) {
	rows, err := db.query(ctx, `SELECT COALESCE(u.id, 0), e.target, COALESCE(u.name, ''), e.detail, e.action, e.at
		FROM audit_events e LEFT JOIN users u ON u.email = e.target
		WHERE e.account_id = ? AND e.action IN ('`+roster.ActionMemberDelete+`', '`+roster.ActionMemberLeave+`') AND e.at >= ?
		ORDER BY e.id DESC`, acct, micros(since))
	out, err := collect(rows, err, func(rows *sql.Rows) (Departure, error) {
		var d Departure
		var action string
		var at int64
		if err := rows.Scan(&d.UserID, &d.Email, &d.Name, &d.Role, &action, &at); err != nil {
			return d, err
		}
		d.Removed, d.At = action == "member.delete", fromMicros(at)
		return d, nil
	})
	return out, db.d.mapErr(err)
}

// RefreshMemberKeys copies every member's name and address, folded, into
// the account's team list keys (see refreshMemberKeys): for loaders that
// write members in SQL of their own (loadtest/seed, tests). It works in
// transactions of a thousand members, each well within a request's
// database deadline (5,000 took 3.3 s on SQLite under the race detector,
// and past the 5 s deadline on a busy machine).
func (db *DB) RefreshMemberKeys(ctx context.Context, accountSeq int64) error {
	const chunk = 1000
	for from := int64(0); ; {
		var to sql.NullInt64
		err := db.oneRow(ctx, `SELECT MAX(user_id) FROM (SELECT user_id FROM members WHERE account_id = ? AND user_id > ?
			ORDER BY user_id LIMIT ?) c`, accountSeq, from, chunk).Scan(&to)
		if err != nil {
			return db.d.mapErr(err)
		}
		if !to.Valid {
			return nil
		}
		err = db.Transact(ctx, func(tx *Tx) error {
			return tx.refreshMemberKeys(ctx, `account_id = ? AND user_id > ? AND user_id <= ?`, accountSeq, from, to.Int64)
		})
		if err != nil {
			return err
		}
		from = to.Int64
	}
}
