package store

import (
	"context"
	"database/sql"

	"github.com/rosterhq/roster"
)

const appCols = `id, name, answer_url, answer_method, hangup_url, message_url, created_at`

func scanApp(sc interface{ Scan(...any) error }) (roster.Application, error) {
	var a roster.Application
	var created int64
	err := sc.Scan(&a.ID, &a.Name, &a.AnswerURL, &a.AnswerMethod, &a.HangupURL, &a.MessageURL, &created)
	a.CreatedAt = fromMicros(created)
	return a, err
}

// CreateApplication inserts an application and returns its ID.
func (tx *Tx) CreateApplication(ctx context.Context, acct int64, a roster.Application) (int64, error) {
	var id int64
	err := tx.queryRow(ctx, `INSERT INTO applications (account_id, name, answer_url, answer_method, hangup_url, message_url, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		[]any{acct, a.Name, a.AnswerURL, a.AnswerMethod, a.HangupURL, a.MessageURL, micros(tx.now)}, &id)
	return id, err
}

// Application returns one of the account's applications, or ErrNoRows.
func (tx *Tx) Application(ctx context.Context, acct, id int64) (roster.Application, error) {
	a, err := scanApp(tx.row(ctx, `SELECT `+appCols+` FROM applications WHERE account_id = ? AND id = ?`, acct, id))
	return a, tx.db.mapNoRows(err)
}

// UpdateApplication saves an application, or ErrNoRows.
func (tx *Tx) UpdateApplication(ctx context.Context, acct int64, a roster.Application) error {
	r, err := tx.exec(ctx, `UPDATE applications SET name = ?, answer_url = ?, answer_method = ?, hangup_url = ?, message_url = ?
		WHERE account_id = ? AND id = ?`, a.Name, a.AnswerURL, a.AnswerMethod, a.HangupURL, a.MessageURL, acct, a.ID)
	if err != nil {
		return err
	}
	return oneRow(r)
}

// DeleteApplication deletes an application; its numbers are unlinked by
// the schema (ON DELETE SET NULL). ErrNoRows when there is none.
func (tx *Tx) DeleteApplication(ctx context.Context, acct, id int64) error {
	r, err := tx.exec(ctx, `DELETE FROM applications WHERE account_id = ? AND id = ?`, acct, id)
	if err != nil {
		return err
	}
	return oneRow(r)
}

// Applications lists the account's applications.
func (db *DB) Applications(ctx context.Context, acct int64, p roster.Page) ([]roster.Application, int, error) {
	var total int
	if err := db.row(ctx, `SELECT COUNT(*) FROM applications WHERE account_id = ?`, acct).Scan(&total); err != nil {
		return nil, 0, db.d.mapErr(err)
	}
	rows, err := db.query(ctx, `SELECT `+appCols+` FROM applications WHERE account_id = ? ORDER BY id LIMIT ? OFFSET ?`, acct, p.Limit, p.Offset)
	out, err := collect(rows, err, func(rows *sql.Rows) (roster.Application, error) { return scanApp(rows) })
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}
