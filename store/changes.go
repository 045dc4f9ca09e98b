package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/rosterhq/roster"
)

// Change is one committed change to who may do what: a member's place
// (UserID set) or the account's plan (UserID 0). Read by ChangesSince, a
// member's change comes with what the check index keeps of the
// membership as that read found it: Member and Keys, or Gone.
type Change struct {
	Rev        int64
	AccountSeq int64
	UserID     int64
	// At is when its writer sent the commit (the writer's clock; read by
	// ChangesSince): what the index's propagation is measured from.
	At time.Time

	Member IndexRow // the membership (UserID set, not Gone)
	Keys   []MemberKey
	Gone   bool // UserID set and no such membership: removed, with its keys
}

// MemberKey is one personal API key of a member: its ID and hash.
type MemberKey struct {
	ID   int64
	Hash []byte
}

// Changed records a change in the transaction: it is written to the
// change log with the transaction, just before the commit (its revision,
// tx.Revision, is known once committed). Callers apply it to their check
// index after the commit. The error is always nil now; it stays for the
// callers that check it.
func (tx *Tx) Changed(ctx context.Context, accountSeq, userID int64) (Change, error) {
	c := Change{AccountSeq: accountSeq, UserID: userID}
	tx.changes = append(tx.changes, c)
	return c, nil
}

// flushChanges writes the transaction's changes to the change log, last
// thing before the commit. On PostgreSQL the changes must commit in
// revision order, or a replica reading "after revision N" could skip one
// committed late: a transaction-scoped lock orders them, and every write
// that records a change holds it from here to its commit (issue 26: taken
// by Changed, it was held through the rest of the transaction, and 200
// writes a second queued on it until the pools ran dry).
//
// The lock, the rows and the notification go in one statement there: as
// separate statements they were four round trips under the lock, and at
// 100 writes a second to 8 replicas on a 2-core machine the writes queued
// on it for seconds (issue 26).
func (tx *Tx) flushChanges(ctx context.Context) error {
	if len(tx.changes) == 0 {
		return nil
	}
	if lock := tx.db.d.changeLock(); lock != "" {
		return tx.flushChangesLocked(ctx, lock, false)
	}
	for _, c := range tx.changes {
		var rev int64
		err := tx.queryRow(ctx, `INSERT INTO changes (account_id, user_id, at) VALUES (?, ?, ?) RETURNING id`,
			[]any{c.AccountSeq, c.UserID, micros(tx.db.Now())}, &rev)
		if err != nil {
			return err
		}
		tx.rev = max(tx.rev, rev)
	}
	tx.changes = nil
	if q := tx.db.d.notify(fmt.Sprintf("'%d'", tx.rev)); q != "" && !tx.notified {
		if _, err := tx.exec(ctx, "SELECT "+q); err != nil {
			return err
		}
		tx.notified = true
	}
	return nil
}

// flushChangeRows is the most changes one statement of
// flushChangesLocked writes (three parameters each).
const flushChangeRows = 1000

// flushChangesLocked is flushChanges where a lock orders the revisions:
// one statement takes it, draws the revisions after it (the rows to
// insert come from a join with the lock's row, so none is made before
// the lock is held), notifies the followers at commit, and answers the
// newest revision. A longer list takes more statements, each taking the
// lock again (a transaction's advisory lock may be taken again).
//
// With commit, the last of those statements and the COMMIT go to the
// server as one query (the dialect's commitWith): the lock is held for
// the server's work only. Sent apart, the lock was held across a round
// trip to the client as well, and where the client's process waits for a
// CPU (8 replicas and PostgreSQL on 2 cores, 200 writes a second) that
// round trip was milliseconds long, every write of every replica queued
// behind it (50 ms a write waiting on the lock, issue 26), and the member
// rows it held waited too. The transaction is committed when it returns
// nil; database/sql's own Commit afterwards only ends its bookkeeping.
func (tx *Tx) flushChangesLocked(ctx context.Context, lock string, commit bool) error {
	for len(tx.changes) > 0 {
		cs := tx.changes[:min(len(tx.changes), flushChangeRows)]
		args := make([]any, 0, 3*len(cs))
		at := micros(tx.db.Now()) // the commit's moment, not the transaction's start: Change.At
		for _, c := range cs {
			args = append(args, c.AccountSeq, c.UserID, at)
		}
		notify := "NULL"
		if q := tx.db.d.notify("CAST(MAX(id) AS TEXT)"); q != "" && !tx.notified {
			notify = q
		}
		var rev int64
		var notified any
		last := commit && len(cs) == len(tx.changes)
		// With the commit, the writes put off (execLater) go first, each
		// a CTE the lock's statement waits for (its WHERE counts their
		// rows): written before the lock is taken, they do not lengthen
		// the time every writer waits for it.
		pre, preArgs, lockQ := "", []any(nil), lock
		if last && len(tx.later) > 0 {
			var counts []string
			for i, l := range tx.later {
				pre += fmt.Sprintf("later%d AS (%s RETURNING 1), ", i, l.q)
				preArgs = append(preArgs, l.args...)
				counts = append(counts, fmt.Sprintf("(SELECT COUNT(*) FROM later%d)", i))
			}
			tx.later = nil
			lockQ = lock + ` WHERE ` + strings.Join(counts, " + ") + ` >= 0`
		}
		q := `WITH ` + pre + `lock AS (` + lockQ + `),
			ins AS (INSERT INTO changes (account_id, user_id, at) SELECT v.a, v.u, v.t FROM lock CROSS JOIN (VALUES ` +
			strings.TrimSuffix(strings.Repeat(`(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT)), `, len(cs)), ", ") +
			`) AS v (a, u, t) RETURNING id)
			SELECT MAX(id), ` + notify + ` FROM ins`
		args = append(preArgs, args...)
		if last {
			q, args = tx.db.d.commitWith(q, args)
		}
		err := tx.queryRow(ctx, q, args, &rev, &notified)
		if err != nil {
			return err
		}
		if notify != "NULL" {
			tx.notified = true
		}
		tx.rev = max(tx.rev, rev)
		tx.changes = tx.changes[len(cs):]
	}
	tx.changes = nil
	return nil
}

// ChangesSince returns up to limit changes after rev, oldest first, each
// member's change with the membership as it is now (Change.Member, Keys,
// Gone): a catch-up of the check index is one statement, one snapshot
// (issue 26: the changes and then the memberships they name were two
// statements, and at 200 writes a second to 8 replicas the catch-ups were
// a third of the database's statements). A membership changed several
// times comes with each of its changes, as it is after the last.
//
// On PostgreSQL each membership is looked up by its key in a LATERAL
// subquery kept apart from the rest of the plan (OFFSET 0): joined, or as
// an IN list, the prepared statement's generic plan read every member of
// the account for each change (94 buffers and 1.3 ms a membership at 40
// writes a second to 8 replicas, 43% of a core, the largest of the
// database's work), and would read a 100,000-member account whole at
// every catch-up.
func (db *DB) ChangesSince(ctx context.Context, rev int64, limit int) ([]Change, error) {
	r := db.reader(ctx) // a standby's when there is a read pool (replicas.go)
	const page = `(SELECT id, account_id, user_id, at FROM changes WHERE id > ? ORDER BY id LIMIT ?) c`
	q := `SELECT c.id, c.account_id, c.user_id, c.at, ` + indexFactCols + `, k.id, k.key_hash
		FROM ` + page + `
		LEFT JOIN members m ON m.account_id = c.account_id AND m.user_id = c.user_id
		LEFT JOIN users u ON u.id = m.user_id
		LEFT JOIN accounts a ON a.id = m.account_id
		LEFT JOIN api_keys k ON k.account_id = m.account_id AND k.user_id = m.user_id
		ORDER BY c.id, k.id`
	if r.d.name() == "postgres" {
		q = `SELECT c.id, c.account_id, c.user_id, c.at, x.*, k.id, k.key_hash
		FROM ` + page + `
		LEFT JOIN LATERAL (SELECT ` + indexFactCols + indexMemberFrom + `
			WHERE c.user_id <> 0 AND m.account_id = c.account_id AND m.user_id = c.user_id OFFSET 0) x ON TRUE
		LEFT JOIN api_keys k ON x.role IS NOT NULL AND k.account_id = c.account_id AND k.user_id = c.user_id
		ORDER BY c.id, k.id`
	}
	rows, err := r.queryFixed(ctx, q, rev, limit)
	var out []Change
	err = eachRow(rows, err, func(rows *sql.Rows) error {
		var c Change
		var at int64
		var role, keyID sql.NullInt64
		var mfa, onDomain, ssoSeen, deactivated sql.NullBool
		var hash []byte
		if err := rows.Scan(&c.Rev, &c.AccountSeq, &c.UserID, &at, &role, &mfa, &onDomain, &ssoSeen, &deactivated, &keyID, &hash); err != nil {
			return err
		}
		if n := len(out); n > 0 && out[n-1].Rev == c.Rev { // another key of the same change
			if keyID.Valid {
				out[n-1].Keys = append(out[n-1].Keys, MemberKey{keyID.Int64, hash})
			}
			return nil
		}
		c.At = fromMicros(at)
		if c.UserID != 0 {
			if !role.Valid {
				c.Gone = true
			} else {
				c.Member = IndexRow{AccountSeq: c.AccountSeq, UserID: c.UserID, Role: roster.Role(role.Int64),
					MFA: mfa.Bool, OnDomain: onDomain.Bool, SSOSeen: ssoSeen.Bool, Deactivated: deactivated.Bool}
			}
			if keyID.Valid {
				c.Keys = []MemberKey{{keyID.Int64, hash}}
			}
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) > 0 {
		db.sawReplayed(r, out[len(out)-1].Rev)
	}
	return out, nil
}

// LatestRevision returns the newest change's revision (0 when none).
func (db *DB) LatestRevision(ctx context.Context) (int64, error) {
	r := db.reader(ctx) // a standby's when there is a read pool (replicas.go)
	var rev int64
	err := r.oneRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM changes`).Scan(&rev)
	if err == nil {
		db.sawReplayed(r, rev)
	}
	return rev, r.d.mapErr(err)
}

// AccountPlan returns what the check index keeps of the account, or ErrNoRows.
func (db *DB) AccountPlan(ctx context.Context, accountSeq int64) (AccountFlags, error) {
	db = db.reader(ctx) // a standby's when there is a read pool (replicas.go)
	var authID, plan string
	var requireMFA, requireSSO int64
	err := db.row(ctx, `SELECT auth_id, plan, require_mfa, require_sso FROM accounts WHERE id = ?`, accountSeq).Scan(&authID, &plan, &requireMFA, &requireSSO)
	if err != nil {
		return AccountFlags{}, db.mapNoRows(err)
	}
	return accountFlags(authID, plan, requireMFA, requireSSO), nil
}

// MemberRoleNow returns the member's current role and whether the user
// has two-factor sign-in on, or ErrNoRows.
func (db *DB) MemberRoleNow(ctx context.Context, accountSeq, userID int64) (roster.Role, bool, error) {
	var role int
	var mfa bool
	err := db.row(ctx, `SELECT m.role, `+hasSecondFactor+` FROM members m JOIN users u ON u.id = m.user_id
		WHERE m.account_id = ? AND m.user_id = ?`, accountSeq, userID).Scan(&role, &mfa)
	if err != nil {
		return 0, false, db.mapNoRows(err)
	}
	return roster.Role(role), mfa, nil
}

// IndexSize returns how many accounts and memberships there are (to size
// the index).
func (db *DB) IndexSize(ctx context.Context) (accounts, members int, err error) {
	db = db.reader(ctx) // a standby's when there is a read pool (replicas.go)
	err = db.oneRow(ctx, `SELECT (SELECT COUNT(*) FROM accounts), (SELECT COUNT(*) FROM members)`).Scan(&accounts, &members)
	return accounts, members, db.d.mapErr(err)
}
