package store

import (
	"context"
	"database/sql"

	"github.com/rosterhq/roster"
)

// AddLogs stores records for the account.
func (tx *Tx) AddLogs(ctx context.Context, acct int64, recs []roster.LogRecord) error {
	for _, r := range recs {
		if _, err := tx.exec(ctx, `INSERT INTO call_logs (account_id, kind, from_number, to_number, direction, status, duration_seconds, started_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, acct, r.Kind, r.FromNumber, r.ToNumber, r.Direction, r.Status, r.DurationSeconds, micros(r.StartedAt)); err != nil {
			return err
		}
	}
	return nil
}

// Logs lists the account's records, newest first.
func (db *DB) Logs(ctx context.Context, acct int64, f roster.LogFilter, p roster.Page) ([]roster.LogRecord, int, error) {
	where, args := `account_id = ?`, []any{acct}
	if f.Kind != "" {
		where += ` AND kind = ?`
		args = append(args, f.Kind)
	}
	if f.Number != "" {
		where += ` AND (from_number = ? OR to_number = ?)`
		args = append(args, f.Number, f.Number)
	}
	if !f.From.IsZero() {
		where += ` AND started_at >= ?`
		args = append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		where += ` AND started_at < ?`
		args = append(args, micros(f.To))
	}
	var total int
	if err := db.row(ctx, `SELECT COUNT(*) FROM call_logs WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, db.d.mapErr(err)
	}
	rows, err := db.query(ctx, `SELECT id, kind, from_number, to_number, direction, status, duration_seconds, started_at
		FROM call_logs WHERE `+where+` ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?`, append(args, p.Limit, p.Offset)...)
	out, err := collect(rows, err, func(rows *sql.Rows) (roster.LogRecord, error) {
		var r roster.LogRecord
		var started int64
		if err := rows.Scan(&r.ID, &r.Kind, &r.FromNumber, &r.ToNumber, &r.Direction, &r.Status, &r.DurationSeconds, &started); err != nil {
			return r, err
		}
		r.StartedAt = fromMicros(started)
		return r, nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}
