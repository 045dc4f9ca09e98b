package store

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/rosterhq/roster"
)

// Webhook is an account's endpoint. Secret is kept readable: every
// delivery is signed with it.
type Webhook struct {
	ID        int64
	AccountID int64
	URL       string
	Events    []string
	Secret    string
	Enabled   bool
	CreatedAt time.Time
	// Who made it: their user ID (0 for webhooks made before this was
	// recorded) and their address then, kept after they leave, as the
	// audit log keeps its actors.
	CreatedBy      int64
	CreatedByEmail string
}

// Delivery is one event bound for one webhook, from the outbox.
type Delivery = roster.Delivery

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreateWebhook adds an endpoint to the account, made by the user
// createdBy (0: none) whose address is createdByEmail.
func (tx *Tx) CreateWebhook(ctx context.Context, accountSeq int64, url string, events []string, secret string, createdBy int64, createdByEmail string) (int64, error) {
	var id int64
	var by any
	if createdBy != 0 {
		by = createdBy
	}
	err := tx.queryRow(ctx, `INSERT INTO webhooks (account_id, url, events, secret, enabled, created_at, created_by, created_by_email)
		VALUES (?, ?, ?, ?, 1, ?, ?, ?) RETURNING id`,
		[]any{accountSeq, url, strings.Join(events, ","), secret, micros(tx.now), by, createdByEmail}, &id)
	return id, err
}

// CountWebhooks counts the account's endpoints.
func (tx *Tx) CountWebhooks(ctx context.Context, accountSeq int64) (int, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM webhooks WHERE account_id = ?`, []any{accountSeq}, &n)
	return n, err
}

// UpdateWebhook saves the endpoint's url, events and enabled. ErrNoRows
// when the account has no such webhook.
func (tx *Tx) UpdateWebhook(ctx context.Context, w Webhook) error {
	r, err := tx.exec(ctx, `UPDATE webhooks SET url = ?, events = ?, enabled = ? WHERE id = ? AND account_id = ?`,
		w.URL, strings.Join(w.Events, ","), boolInt(w.Enabled), w.ID, w.AccountID)
	return affected(r, err)
}

// DeleteWebhook removes the endpoint and its deliveries.
func (tx *Tx) DeleteWebhook(ctx context.Context, accountSeq, id int64) error {
	if _, err := tx.exec(ctx, `DELETE FROM webhook_deliveries WHERE webhook_id IN (SELECT id FROM webhooks WHERE id = ? AND account_id = ?)`, id, accountSeq); err != nil {
		return err
	}
	r, err := tx.exec(ctx, `DELETE FROM webhooks WHERE id = ? AND account_id = ?`, id, accountSeq)
	return affected(r, err)
}

func affected(r sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, err := r.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrNoRows
	}
	return nil
}

const webhookCols = `id, account_id, url, events, secret, enabled, created_at, COALESCE(created_by, 0), created_by_email`

type scanner interface{ Scan(dest ...any) error }

func scanWebhook(s scanner) (Webhook, error) {
	var w Webhook
	var events string
	var enabled int
	var at int64
	if err := s.Scan(&w.ID, &w.AccountID, &w.URL, &events, &w.Secret, &enabled, &at, &w.CreatedBy, &w.CreatedByEmail); err != nil {
		return w, err
	}
	if events != "" {
		w.Events = strings.Split(events, ",")
	}
	w.Enabled, w.CreatedAt = enabled != 0, fromMicros(at)
	return w, nil
}

// Webhook returns one of the account's endpoints.
func (tx *Tx) Webhook(ctx context.Context, accountSeq, id int64) (Webhook, error) {
	w, err := scanWebhook(tx.row(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE id = ? AND account_id = ?`, id, accountSeq))
	return w, tx.db.mapNoRows(err)
}

// Webhook returns one of the account's endpoints.
func (db *DB) Webhook(ctx context.Context, accountSeq, id int64) (Webhook, error) {
	w, err := scanWebhook(db.oneRow(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE id = ? AND account_id = ?`, id, accountSeq))
	return w, db.mapNoRows(err)
}

// Webhooks lists the account's endpoints, oldest first.
func (db *DB) Webhooks(ctx context.Context, accountSeq int64, limit, offset int) ([]Webhook, int, error) {
	var total int
	if err := db.oneRow(ctx, `SELECT COUNT(*) FROM webhooks WHERE account_id = ?`, accountSeq).Scan(&total); err != nil {
		return nil, 0, db.d.mapErr(err)
	}
	rows, err := db.query(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE account_id = ? ORDER BY id LIMIT ? OFFSET ?`, accountSeq, limit, offset)
	out, err := collect(rows, err, func(rows *sql.Rows) (Webhook, error) { return scanWebhook(rows) })
	if err != nil {
		return nil, 0, db.d.mapErr(err)
	}
	return out, total, nil
}

// EnqueueEvent writes one delivery of the event for each of the
// account's enabled webhooks that subscribe to its type, in the
// transaction of the change it announces: committed together or not at all.
func (tx *Tx) EnqueueEvent(ctx context.Context, accountSeq int64, eventID, eventType string, body []byte) error {
	rows, err := tx.query(ctx, `SELECT id, events FROM webhooks WHERE account_id = ? AND enabled = 1`, accountSeq)
	var ids []int64
	err = eachRow(rows, err, func(rows *sql.Rows) error {
		var id int64
		var events string
		if err := rows.Scan(&id, &events); err != nil {
			return err
		}
		if slices.Contains(strings.Split(events, ","), eventType) {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return tx.db.d.mapErr(err)
	}
	for _, id := range ids {
		if _, err := tx.exec(ctx, `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)`,
			id, eventID, eventType, string(body), micros(tx.now), micros(tx.now)); err != nil {
			return err
		}
	}
	return nil
}

const deliveryCols = `d.id, d.webhook_id, d.event_id, d.event_type, d.body, d.status, d.attempts, d.last_error, d.created_at, d.next_attempt_at`

func scanDelivery(s scanner, extra ...any) (Delivery, error) {
	var d Delivery
	var at, next int64
	dest := append([]any{&d.ID, &d.WebhookID, &d.EventID, &d.EventType, &d.Body, &d.Status, &d.Attempts, &d.LastError, &at, &next}, extra...)
	if err := s.Scan(dest...); err != nil {
		return d, err
	}
	d.CreatedAt, d.NextAttemptAt = fromMicros(at), fromMicros(next)
	return d, nil
}

// Deliveries lists the deliveries of the account's webhook, newest
// first; none for a webhook of another account.
func (db *DB) Deliveries(ctx context.Context, accountSeq, webhookID int64, limit, offset int) ([]Delivery, int, error) {
	const ofWebhook = ` FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE w.account_id = ? AND d.webhook_id = ?`
	var total int
	if err := db.oneRow(ctx, `SELECT COUNT(*)`+ofWebhook, accountSeq, webhookID).Scan(&total); err != nil {
		return nil, 0, db.d.mapErr(err)
	}
	rows, err := db.query(ctx, `SELECT `+deliveryCols+ofWebhook+` ORDER BY d.id DESC LIMIT ? OFFSET ?`, accountSeq, webhookID, limit, offset)
	out, err := collect(rows, err, func(rows *sql.Rows) (Delivery, error) { return scanDelivery(rows) })
	if err != nil {
		return nil, 0, db.d.mapErr(err)
	}
	return out, total, nil
}

// claimable is the choice of the fair claim (see ClaimDeliveries). busy
// is every delivery under a live lease; heads is the oldest due delivery
// of each webhook with none under lease (a webhook's deliveries go one at
// a time, in order: found by MIN per webhook, which is a few times cheaper
// than numbering every due row with a window); slot numbers each account's
// heads after those it already has in flight, so taking them by slot
// takes every account's first free slot before any account's second
// (round-robin), oldest first within a round, and none beyond perAccount
// in flight. Parameters: now, now, now.
const claimable = `WITH busy AS (
	SELECT d.webhook_id, w.account_id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
	WHERE d.status = 'pending' AND d.locked_until > ?
), due AS (
	SELECT d.webhook_id, MIN(d.next_attempt_at) AS next_attempt_at FROM webhook_deliveries d
	WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND d.locked_until <= ?
	GROUP BY d.webhook_id
), heads AS (
	SELECT w.account_id, due.next_attempt_at,
		(SELECT MIN(d.id) FROM webhook_deliveries d WHERE d.webhook_id = due.webhook_id AND d.status = 'pending'
			AND d.next_attempt_at = due.next_attempt_at) AS id
	FROM due JOIN webhooks w ON w.id = due.webhook_id
	WHERE w.enabled = 1 AND due.webhook_id NOT IN (SELECT webhook_id FROM busy)
), ranked AS (
	SELECT h.id, h.next_attempt_at,
		ROW_NUMBER() OVER (PARTITION BY h.account_id ORDER BY h.next_attempt_at, h.id)
			+ (SELECT COUNT(*) FROM busy b WHERE b.account_id = h.account_id) AS slot
	FROM heads h
)
`

// claimDeliveries takes the first n claimable deliveries by slot.
// Parameters: now, now, now, lease end, perAccount, n, now.
const claimDeliveries = claimable + `UPDATE webhook_deliveries SET locked_until = ?
WHERE id IN (SELECT id FROM ranked WHERE slot <= ? ORDER BY slot, next_attempt_at, id LIMIT ?)
	AND status = 'pending' AND locked_until <= ?
RETURNING id, webhook_id, event_id, event_type, body, status, attempts, last_error, created_at, next_attempt_at,
	(SELECT url FROM webhooks WHERE webhooks.id = webhook_deliveries.webhook_id),
	(SELECT secret FROM webhooks WHERE webhooks.id = webhook_deliveries.webhook_id)`

// anyClaimable: is there one? Parameters: now, now, now, perAccount.
const anyClaimable = claimable + `SELECT COUNT(*) FROM (SELECT id FROM ranked WHERE slot <= ? LIMIT 1) one`

// ClaimDeliveries claims up to n due deliveries of enabled webhooks for
// lease, fairly across accounts: one due delivery per webhook (the
// oldest; a webhook with one under lease gets none), every account's
// first before any account's second, and none for an account that
// already has perAccount under lease (in any replica). So one account's
// backlog or slow receiver holds at most perAccount of the senders, and
// another account's delivery waits for at most one free sender.
//
// The claim is one UPDATE ... RETURNING (after a read that finds whether
// there is anything to claim at all), so of two replicas that see the
// same row only one sends the attempt; on PostgreSQL the claims of all
// replicas also take turns (an advisory lock, READ COMMITTED), so each
// sees the leases the others took and the per-account cap holds across
// them. A worker that dies lets its lease run out and another takes the
// delivery over; DeliveryDone and DeliveryFailed end the lease.
//
// The worker runs on the wall clock (at), not db.Now: it runs in the
// background, and tests move db.Now while it does.
func (db *DB) ClaimDeliveries(ctx context.Context, at time.Time, n, perAccount int, lease time.Duration) ([]Delivery, error) {
	if n <= 0 || perAccount <= 0 {
		return nil, nil
	}
	ctx, cancel := db.Bound(ctx) // the whole claim, as a transaction's attempt
	defer cancel()
	now := micros(at)
	// Most polls find nothing to send: they only read, so they never
	// hold the write lock (SQLite's is the whole database's).
	var some int
	if err := db.oneRow(ctx, anyClaimable, now, now, now, perAccount).Scan(&some); err != nil {
		return nil, db.d.mapErr(err)
	} else if some == 0 {
		return nil, nil
	}
	return claimRows(ctx, db, true, claimDeliveries, []any{now, now, now, now + lease.Microseconds(), perAccount, n, now}, func(rows *sql.Rows) (Delivery, error) {
		var url, secret string
		d, err := scanDelivery(rows, &url, &secret)
		d.URL, d.Secret = url, secret
		return d, err
	})
}

// claimRows runs a claim (an UPDATE ... RETURNING of the rows it leases)
// in the dialect's claim transaction (claimTx) and returns the rows; the
// claims of all replicas take turns (the dialect's lock) when turns is
// set. An error met while reading is an error of the whole claim: the
// transaction rolls back and no lease is left behind.
func claimRows[T any](ctx context.Context, db *DB, turns bool, q string, args []any, scan func(*sql.Rows) (T, error)) ([]T, error) {
	opts, lock := db.d.claimTx()
	if !turns {
		lock = ""
	}
	tx, err := db.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, db.d.mapErr(err)
	}
	defer tx.Rollback()
	if lock != "" {
		if _, err := tx.ExecContext(ctx, lock); err != nil {
			return nil, db.d.mapErr(err)
		}
	}
	rows, err := tx.QueryContext(ctx, db.q(q), args...)
	claimed, err := collect(&rowSet{rows: rows, ctx: ctx, cancel: func() {}, mapErr: db.d.mapErr}, db.d.mapErr(err), scan)
	if err != nil {
		return nil, db.d.mapErr(err)
	}
	if err := tx.Commit(); err != nil {
		return nil, db.d.mapErr(err)
	}
	return claimed, nil
}

// DeliveryDone records a successful attempt.
func (db *DB) DeliveryDone(ctx context.Context, id int64) error {
	_, err := db.exec(ctx, `UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, last_error = '', locked_until = 0 WHERE id = ?`, id)
	return db.d.mapErr(err)
}

// DeliveryFailed records a failed attempt: retried at next, or given up
// (status failed) when next is the zero time.
func (db *DB) DeliveryFailed(ctx context.Context, id int64, msg string, next time.Time) error {
	status, at := "pending", micros(next)
	if next.IsZero() {
		status, at = "failed", micros(time.Now())
	}
	_, err := db.exec(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = ?, locked_until = 0 WHERE id = ?`,
		status, msg, at, id)
	return db.d.mapErr(err)
}

// EnqueueDelivery writes one delivery of an event to the account's
// webhook id alone, whatever it subscribes to (a test event, or an event
// sent again), and returns the delivery's ID. ErrNoRows when the account
// has no such webhook.
func (tx *Tx) EnqueueDelivery(ctx context.Context, accountSeq, webhookID int64, eventID, eventType string, body []byte) (int64, error) {
	var id int64
	err := tx.queryRow(ctx, `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, body, created_at, next_attempt_at)
		SELECT id, CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT)
		FROM webhooks WHERE id = ? AND account_id = ? RETURNING id`,
		[]any{eventID, eventType, string(body), micros(tx.now), micros(tx.now), webhookID, accountSeq}, &id)
	return id, err
}

// Delivery returns one delivery of the account's webhook webhookID.
// ErrNoRows when the account has no such webhook or the webhook no such
// delivery.
func (tx *Tx) Delivery(ctx context.Context, accountSeq, webhookID, id int64) (Delivery, error) {
	d, err := scanDelivery(tx.row(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries d
		JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = ? AND d.webhook_id = ? AND w.account_id = ?`, id, webhookID, accountSeq))
	return d, tx.db.mapNoRows(err)
}
