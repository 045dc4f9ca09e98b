package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/rosterhq/roster"
)

const invitationCols = `i.id, a.auth_id, a.name, a.plan, i.email, i.role, i.status, COALESCE(i.invited_by, 0),
	i.send_count, i.created_at, i.last_sent_at, i.expires_at`

func scanInvitation(sc interface{ Scan(...any) error }, now time.Time) (roster.Invitation, error) {
	var inv roster.Invitation
	var plan, status string
	var role int
	var created, sent, expires int64
	err := sc.Scan(&inv.ID, &inv.AccountID, &inv.AccountName, &plan, &inv.Email, &role, &status, &inv.InvitedBy,
		&inv.SendCount, &created, &sent, &expires)
	if err != nil {
		return inv, err
	}
	inv.Role = roster.Role(role)
	inv.CreatedAt, inv.LastSentAt, inv.ExpiresAt = fromMicros(created), fromMicros(sent), fromMicros(expires)
	inv.Status = roster.InvitationStatus(status)
	if inv.Status == roster.InvitationPending {
		if !inv.ExpiresAt.After(now) {
			inv.Status = roster.InvitationExpired
		} else if roster.Plan(plan) != roster.PlanCommitted {
			inv.Status = roster.InvitationSuspended
		}
	}
	return inv, nil
}

// CreateInvitation inserts a pending invitation. ErrUnique when one is
// already pending for (account, email) — the schema's partial unique index
// decides, so two concurrent invites give one invitation.
func (tx *Tx) CreateInvitation(ctx context.Context, accountSeq int64, email string, role roster.Role, tokenHash []byte, invitedBy int64, ttl time.Duration) (int64, error) {
	var id int64
	err := tx.queryRow(ctx, `INSERT INTO invitations (account_id, email, role, token_hash, status, invited_by, send_count, created_at, last_sent_at, expires_at)
		VALUES (?, ?, ?, ?, 'pending', ?, 1, ?, ?, ?) RETURNING id`,
		[]any{accountSeq, email, int(role), tokenHash, invitedBy, micros(tx.now), micros(tx.now), micros(tx.now.Add(ttl))}, &id)
	return id, err
}

// ExpirePending ends a pending invitation to (account, email) whose expiry
// has passed, so a new one can be sent. It reports nothing when none.
func (tx *Tx) ExpirePending(ctx context.Context, accountSeq int64, email string) error {
	_, err := tx.exec(ctx, `UPDATE invitations SET status = 'revoked', ended_at = ?
		WHERE account_id = ? AND email = ? AND status = 'pending' AND expires_at <= ?`,
		micros(tx.now), accountSeq, email, micros(tx.now))
	return err
}

// Invitation returns one invitation of the account, or ErrNoRows.
func (tx *Tx) Invitation(ctx context.Context, accountSeq, id int64) (roster.Invitation, error) {
	inv, err := scanInvitation(tx.row(ctx, `SELECT `+invitationCols+`
		FROM invitations i JOIN accounts a ON a.id = i.account_id WHERE i.account_id = ? AND i.id = ?`, accountSeq, id), tx.now)
	if err == sql.ErrNoRows {
		return inv, ErrNoRows
	}
	return inv, tx.db.d.mapErr(err)
}

// InvitationByToken returns the invitation a token names, in any state,
// with the account's integer ID, or ErrNoRows.
func (tx *Tx) InvitationByToken(ctx context.Context, tokenHash []byte) (roster.Invitation, int64, error) {
	var seq int64
	row := tx.row(ctx, `SELECT `+invitationCols+`, a.id
		FROM invitations i JOIN accounts a ON a.id = i.account_id WHERE i.token_hash = ?`, tokenHash)
	inv, err := scanInvitation(withExtra{row, []any{&seq}}, tx.now)
	if err == sql.ErrNoRows {
		return inv, 0, ErrNoRows
	}
	return inv, seq, tx.db.d.mapErr(err)
}

// withExtra scans further columns after those its caller asks for.
type withExtra struct {
	sc    interface{ Scan(...any) error }
	extra []any
}

func (w withExtra) Scan(dest ...any) error { return w.sc.Scan(append(dest, w.extra...)...) }

// Invitations lists the account's pending invitations (expired and
// suspended ones included, with that status), newest first.
func (db *DB) Invitations(ctx context.Context, accountSeq int64, p roster.Page) ([]roster.Invitation, int, error) {
	db = db.reader(ctx) // a standby's when there is a read pool (replicas.go)
	var total int
	if err := db.row(ctx, `SELECT COUNT(*) FROM invitations WHERE account_id = ? AND status = 'pending'`, accountSeq).Scan(&total); err != nil {
		return nil, 0, db.d.mapErr(err)
	}
	rows, err := db.query(ctx, `SELECT `+invitationCols+`
		FROM invitations i JOIN accounts a ON a.id = i.account_id
		WHERE i.account_id = ? AND i.status = 'pending' ORDER BY i.id DESC LIMIT ? OFFSET ?`, accountSeq, p.Limit, p.Offset)
	now := db.Now()
	out, err := collect(rows, err, func(rows *sql.Rows) (roster.Invitation, error) { return scanInvitation(rows, now) })
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// SetInvitationRole changes a pending invitation's role, or ErrNoRows.
func (tx *Tx) SetInvitationRole(ctx context.Context, accountSeq, id int64, role roster.Role) error {
	r, err := tx.exec(ctx, `UPDATE invitations SET role = ? WHERE account_id = ? AND id = ? AND status = 'pending'`,
		int(role), accountSeq, id)
	if err != nil {
		return err
	}
	return oneRow(r)
}

// RevokeInvitation ends a pending invitation, or ErrNoRows.
func (tx *Tx) RevokeInvitation(ctx context.Context, accountSeq, id int64) error {
	r, err := tx.exec(ctx, `UPDATE invitations SET status = 'revoked', ended_at = ? WHERE account_id = ? AND id = ? AND status = 'pending'`,
		micros(tx.now), accountSeq, id)
	if err != nil {
		return err
	}
	return oneRow(r)
}

// ResendInvitation replaces the token (the old one stops working), resets
// the expiry and counts the send, or ErrNoRows.
func (tx *Tx) ResendInvitation(ctx context.Context, accountSeq, id int64, tokenHash []byte, ttl time.Duration) error {
	r, err := tx.exec(ctx, `UPDATE invitations SET token_hash = ?, expires_at = ?, last_sent_at = ?, send_count = send_count + 1
		WHERE account_id = ? AND id = ? AND status = 'pending'`,
		tokenHash, micros(tx.now.Add(ttl)), micros(tx.now), accountSeq, id)
	if err != nil {
		return err
	}
	return oneRow(r)
}

// AcceptInvitation marks a pending, unexpired invitation accepted by userID
// in one conditional update, so of two concurrent accepts exactly one
// succeeds; the other gets ErrNoRows.
func (tx *Tx) AcceptInvitation(ctx context.Context, id, userID int64) error {
	r, err := tx.exec(ctx, `UPDATE invitations SET status = 'accepted', accepted_by = ?, ended_at = ?
		WHERE id = ? AND status = 'pending' AND expires_at > ?`, userID, micros(tx.now), id, micros(tx.now))
	if err != nil {
		return err
	}
	return oneRow(r)
}

// RevokePendingFor ends any pending invitation to email in the account
// (used when that person joins by another way).
func (tx *Tx) RevokePendingFor(ctx context.Context, accountSeq int64, email string) error {
	_, err := tx.exec(ctx, `UPDATE invitations SET status = 'revoked', ended_at = ? WHERE account_id = ? AND email = ? AND status = 'pending'`,
		micros(tx.now), accountSeq, email)
	return err
}

// InvitationMailRetention is how long invitation_mails keeps a send: the
// longest window a budget counts over (a day).
const InvitationMailRetention = 24 * time.Hour

// InvitationMailWait reads the sends of invitation mail in the account
// (to email only, when it is not "") over the window ending now, and
// returns how long until fewer than limit of them fall in it: 0 when a
// mail may go now. It reads at most limit rows (the limit-th newest send
// decides), in the transaction that records the send, so concurrent
// writers see each other's sends: SQLite's writers queue, PostgreSQL's
// serializable transactions that read the range another one writes are
// retried.
func (tx *Tx) InvitationMailWait(ctx context.Context, accountSeq int64, email string, window time.Duration, limit int) (time.Duration, error) {
	if limit <= 0 {
		return window, nil
	}
	q, args := `SELECT sent_at FROM invitation_mails WHERE account_id = ? AND sent_at > ?`, []any{accountSeq, micros(tx.now.Add(-window))}
	if email != "" {
		q += ` AND email = ?`
		args = append(args, email)
	}
	var at int64
	err := tx.queryRow(ctx, q+` ORDER BY sent_at DESC LIMIT 1 OFFSET ?`, append(args, limit-1), &at)
	if errors.Is(err, ErrNoRows) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	// That send leaves the window at at+window: then fewer than limit remain.
	return max(fromMicros(at).Add(window).Sub(tx.now), time.Microsecond), nil
}

// RecordInvitationMail counts one invitation mail to email, sent now.
func (tx *Tx) RecordInvitationMail(ctx context.Context, accountSeq int64, email string) error {
	_, err := tx.exec(ctx, `INSERT INTO invitation_mails (account_id, email, sent_at) VALUES (?, ?, ?)`, accountSeq, email, micros(tx.now))
	return err
}
