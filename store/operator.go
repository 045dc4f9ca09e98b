package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/rosterhq/roster"
)

// Reads for the operator's command line (roster account list, roster audit
// export). They write nothing.

// AccountSummary is an account and how many members it has.
type AccountSummary struct {
	roster.Account
	Members int
}

// ListAccounts lists up to limit accounts in the order they were made,
// after the account with the Auth ID after ("" : from the first). ErrNoRows
// when after names no account. It also returns how many accounts there are.
func (db *DB) ListAccounts(ctx context.Context, after string, limit int) ([]AccountSummary, int, error) {
	var from int64
	if after != "" {
		a, err := db.Account(ctx, after)
		if err != nil {
			return nil, 0, err
		}
		from = a.Seq
	}
	var total int
	if err := db.oneRow(ctx, `SELECT COUNT(*) FROM accounts`).Scan(&total); err != nil {
		return nil, 0, db.d.mapErr(err)
	}
	rows, err := db.query(ctx, `SELECT `+accountCols+`, (SELECT COUNT(*) FROM members m WHERE m.account_id = accounts.id)
		FROM accounts WHERE id > ? ORDER BY id LIMIT ?`, from, limit)
	out, err := collect(rows, err, func(rows *sql.Rows) (AccountSummary, error) {
		var s AccountSummary
		err := scanAccount(withExtra{rows, []any{&s.Members}}, &s.Account)
		return s, err
	})
	if err != nil {
		return nil, 0, db.d.mapErr(err)
	}
	return out, total, nil
}

// AuditEventsAfter returns up to limit of the account's audit events with
// an ID above afterID and a time at or after since, oldest first: an
// export reads them all a page at a time from the index on (account, id).
func (db *DB) AuditEventsAfter(ctx context.Context, a roster.Account, since time.Time, afterID int64, limit int) ([]roster.AuditEvent, error) {
	var sinceMicros int64
	if !since.IsZero() {
		sinceMicros = micros(since)
	}
	rows, err := db.query(ctx, auditSelect+` WHERE e.account_id = ? AND e.id > ? AND e.at >= ? ORDER BY e.id LIMIT ?`,
		a.Seq, afterID, sinceMicros, limit)
	out, err := collect(rows, err, func(rows *sql.Rows) (roster.AuditEvent, error) {
		e := roster.AuditEvent{AccountID: a.ID}
		err := scanAuditEvent(rows, &e)
		return e, err
	})
	return out, db.d.mapErr(err)
}
