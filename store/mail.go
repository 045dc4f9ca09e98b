package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/rosterhq/roster"
)

// Mail: the outbox (issue 26). Every mail is a row written in the
// transaction of the change that causes it, so it is committed with the
// change or not at all and no request waits for a mail server; a worker
// (mail.Worker) claims due rows under a lease, sends them and records the
// outcome. Statuses: pending (waiting or being sent), sent (an SMTP server
// accepted it), logged (no SMTP server is set: written to the log), failed
// (given up).

// OutboxMail is one mail of the outbox, as a worker claims it.
type OutboxMail struct {
	ID                int64
	To, Subject, Body string
	Attempts          int // attempts made before this one
	CreatedAt         time.Time
}

// QueueMail writes one mail to the outbox in tx, due at once. A retried
// transaction writes it again with everything else, and only the attempt
// that commits leaves it: one row per committed change.
func (tx *Tx) QueueMail(ctx context.Context, to, subject, body string) error {
	if err := tx.execLater(ctx, `INSERT INTO outbox (to_addr, subject, body, created_at) VALUES (?, ?, ?, ?)`,
		to, subject, body, micros(tx.now)); err != nil {
		return err
	}
	tx.mailed = true
	return nil
}

// QueueMailToMembers writes one mail to each member of the account whose
// role is one of roles (every member when none), in one statement: a mail
// to a whole team costs the transaction one statement, however large the
// team.
func (tx *Tx) QueueMailToMembers(ctx context.Context, accountSeq int64, roles []roster.Role, subject, body string) error {
	q := `INSERT INTO outbox (to_addr, subject, body, created_at)
		SELECT u.email, CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT) FROM members m JOIN users u ON u.id = m.user_id
		WHERE m.account_id = ?`
	args := []any{subject, body, micros(tx.now), accountSeq}
	if len(roles) > 0 {
		q += ` AND m.role IN (?` + strings.Repeat(", ?", len(roles)-1) + `)`
		for _, r := range roles {
			args = append(args, int(r))
		}
	}
	if err := tx.execLater(ctx, q+` ORDER BY m.user_id`, args...); err != nil {
		return err
	}
	tx.mailed = true
	return nil
}

// QueueMail writes one mail to the outbox on its own, for a mail that
// belongs to no change (a notice that someone tried to sign up with a
// registered address).
func (db *DB) QueueMail(ctx context.Context, to, subject, body string) error {
	return db.Transact(ctx, func(tx *Tx) error { return tx.QueueMail(ctx, to, subject, body) })
}

// MailQueued fires (at most one wake-up waiting) after a transaction of
// this DB committed mail to the outbox, so the worker of this process
// sends it at once instead of at its next poll.
func (db *DB) MailQueued() <-chan struct{} { return db.mailed }

// claimMail takes up to n due mails, oldest first, for a lease.
// Parameters: lease end, now, now, n, now; %s: the dialect's skipLocked.
const claimMail = `UPDATE outbox SET locked_until = ?
WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? AND locked_until <= ?
		ORDER BY next_attempt_at, id LIMIT ?%s)
	AND status = 'pending' AND locked_until <= ?
RETURNING id, to_addr, subject, body, attempts, created_at`

// ClaimMail claims up to n due mails for lease, oldest first. As with
// webhook deliveries (ClaimDeliveries), the claim is one UPDATE ...
// RETURNING that rechecks each row's lease: of two replicas that see the
// same mail only one claims it. Unlike deliveries, mail has no cap to
// count across replicas, so on PostgreSQL the claims do not take turns:
// each skips the rows another is leasing (FOR UPDATE SKIP LOCKED). (They
// shared the deliveries' advisory lock: at 200 role changes a second
// to 8 replicas, each mailing the member, a claim waited 43 ms for it
// on average, holding a connection.) A worker that dies lets its lease run
// out and another takes the mail over; MailDone and MailFailed end the
// lease. The worker runs on the wall clock (at), not db.Now.
func (db *DB) ClaimMail(ctx context.Context, at time.Time, n int, lease time.Duration) ([]OutboxMail, error) {
	if n <= 0 {
		return nil, nil
	}
	ctx, cancel := db.Bound(ctx) // the whole claim, as a transaction's attempt
	defer cancel()
	now := micros(at)
	// Most polls find nothing: they only read, so they never take the
	// claim lock or (on SQLite) the write lock.
	var some int
	if err := db.oneRow(ctx, `SELECT COUNT(*) FROM (SELECT id FROM outbox
		WHERE status = 'pending' AND next_attempt_at <= ? AND locked_until <= ? LIMIT 1) one`, now, now).Scan(&some); err != nil {
		return nil, db.d.mapErr(err)
	} else if some == 0 {
		return nil, nil
	}
	return claimRows(ctx, db, false, fmt.Sprintf(claimMail, db.d.skipLocked()), []any{now + lease.Microseconds(), now, now, n, now}, func(rows *sql.Rows) (OutboxMail, error) {
		var m OutboxMail
		var created int64
		err := rows.Scan(&m.ID, &m.To, &m.Subject, &m.Body, &m.Attempts, &created)
		m.CreatedAt = fromMicros(created)
		return m, err
	})
}

// MailDone records that the mails ids left: status sent (an SMTP server
// accepted them) or logged (written to the log), at at; one statement
// for a worker's round.
func (db *DB) MailDone(ctx context.Context, ids []int64, status string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{status, micros(at)}
	for _, id := range ids {
		args = append(args, id)
	}
	_, err := db.exec(ctx, `UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = '', locked_until = 0, done_at = ?
		WHERE id IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")+`) AND status = 'pending'`, args...)
	return db.d.mapErr(err)
}

// MailFailed records a failed attempt: why (msg), and when to try again
// (next), or given up (status failed) when next is the zero time.
func (db *DB) MailFailed(ctx context.Context, id int64, msg string, next time.Time) error {
	q := `UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, locked_until = 0 WHERE id = ? AND status = 'pending'`
	args := []any{msg, micros(next), id}
	if next.IsZero() {
		q = `UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?, locked_until = 0, done_at = ? WHERE id = ? AND status = 'pending'`
		args = []any{msg, micros(time.Now()), id}
	}
	_, err := db.exec(ctx, q, args...)
	return db.d.mapErr(err)
}

// MailPending counts the mails waiting to be sent (due or not, under a
// lease or not): the outbox's queue.
func (db *DB) MailPending(ctx context.Context) (int64, error) {
	var n int64
	err := db.oneRow(ctx, `SELECT COUNT(*) FROM outbox WHERE status = 'pending'`).Scan(&n)
	return n, db.d.mapErr(err)
}
