package store

import (
	"context"
	"database/sql"
)

// The one way the store reads a query of many rows, after pkgsite's
// RunQuery and CollectStructs: run it with query, then read it with
// eachRow or collect, which are the only code that calls rows.Next. They
// always close the rows (before they return, so a transaction can run its
// next statement on the same connection) and always check rows.Err, which
// a hand-written loop can forget.
//
// query maps the query's own error by the dialect; eachRow and collect
// return the error of a row (fn's or scan's) and rows.Err as they are, and
// the caller maps them as it did before this idiom: some methods map them
// (db.d.mapErr, which leaves an error already mapped as it is), some
// return them raw.

// query runs q (with ? placeholders) on the pool; its error is mapped by
// the dialect. Read the rows with eachRow or collect.
func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	rows, err := db.db.QueryContext(ctx, db.q(q), args...)
	return rows, db.d.mapErr(err)
}

// query runs q (with ? placeholders) in the transaction; its error is
// mapped by the dialect. Read the rows with eachRow or collect.
func (tx *Tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	rows, err := tx.tx.QueryContext(ctx, tx.db.q(q), args...)
	return rows, tx.db.d.mapErr(err)
}

// eachRow calls fn for every row of rows, in order, and closes rows. err
// is the error of the query that returned rows: when it is not nil,
// eachRow returns it and calls nothing. It returns fn's first error
// (reading stops there), else rows.Err().
func eachRow(rows *sql.Rows, err error, fn func(*sql.Rows) error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// collect returns scan's value of every row of rows, in order (nil when
// there are none, as the hand loops it replaces returned), and closes
// rows; on an error (the query's, scan's or rows.Err, as eachRow) it
// returns nil and the error.
func collect[T any](rows *sql.Rows, err error, scan func(*sql.Rows) (T, error)) ([]T, error) {
	var out []T
	err = eachRow(rows, err, func(rows *sql.Rows) error {
		v, err := scan(rows)
		if err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanInt64 reads a row of one integer column.
func scanInt64(rows *sql.Rows) (int64, error) {
	var v int64
	err := rows.Scan(&v)
	return v, err
}
