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
// Every query runs under the database timeout (Bound), which ends when
// its rows are closed, and every error of reading it (the query's, a
// row's, rows.Err) is mapped by the dialect, so a connection lost halfway
// through a list is ErrUnavailable like one lost before it.

// rowSet is the rows of a query with what reading them must end: the
// query's deadline and the mapping of its errors. eachRow and collect
// read it.
type rowSet struct {
	rows   *sql.Rows
	ctx    context.Context // the query's: ended, the rows may be cut short
	cancel context.CancelFunc
	mapErr func(error) error
}

// query runs q (with ? placeholders) on the pool under the database
// timeout; its error is mapped by the dialect. Read the rows with eachRow
// or collect.
func (db *DB) query(ctx context.Context, q string, args ...any) (*rowSet, error) {
	ctx, cancel := db.Bound(ctx)
	rows, err := db.db.QueryContext(ctx, db.q(q), args...)
	if err != nil {
		cancel()
		return nil, db.mapOut(err)
	}
	return &rowSet{rows: rows, ctx: ctx, cancel: cancel, mapErr: db.mapOut}, nil
}

// queryFixed is query through a statement prepared once per DB and kept
// (as row's): for a read of fixed text run many times a second, the
// follower's catch-up above all (modernc's SQLite parses a statement on
// every call otherwise: most of an idle catch-up's cost; pgx keeps its
// own per connection).
func (db *DB) queryFixed(ctx context.Context, q string, args ...any) (*rowSet, error) {
	ctx, cancel := db.Bound(ctx)
	var rows *sql.Rows
	var err error
	if st := db.stmt(ctx, q); st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = db.db.QueryContext(ctx, db.q(q), args...)
	}
	if err != nil {
		cancel()
		return nil, db.mapOut(err)
	}
	return &rowSet{rows: rows, ctx: ctx, cancel: cancel, mapErr: db.mapOut}, nil
}

// queryBulk is query without the database timeout, for the reads of a
// whole table that load the check index at start and on a reload (ten
// million memberships take longer than any statement's timeout); they are
// retried by their callers.
func (db *DB) queryBulk(ctx context.Context, q string, args ...any) (*rowSet, error) {
	rows, err := db.db.QueryContext(ctx, db.q(q), args...)
	if err != nil {
		return nil, db.mapOut(err)
	}
	return &rowSet{rows: rows, ctx: ctx, cancel: func() {}, mapErr: db.mapOut}, nil
}

// query runs q (with ? placeholders) in the transaction, under its
// attempt's deadline; its error is mapped by the dialect. Read the rows
// with eachRow or collect.
func (tx *Tx) query(ctx context.Context, q string, args ...any) (*rowSet, error) {
	if err := tx.fault(); err != nil {
		return nil, err
	}
	ctx, cancel := tx.bound(ctx)
	rows, err := tx.tx.QueryContext(ctx, tx.db.q(q), args...)
	if err != nil {
		cancel()
		return nil, tx.db.d.mapErr(err)
	}
	return &rowSet{rows: rows, ctx: ctx, cancel: cancel, mapErr: tx.db.d.mapErr}, nil
}

// eachRow calls fn for every row of rs, in order, closes rs and ends its
// deadline. err is the error of the query that returned rs: when it is
// not nil, eachRow returns it and calls nothing. It returns fn's first
// error (reading stops there), else rows.Err(), mapped by the dialect.
func eachRow(rs *rowSet, err error, fn func(*sql.Rows) error) error {
	if err != nil {
		return err
	}
	defer rs.cancel()
	defer rs.rows.Close()
	for rs.rows.Next() {
		if err := fn(rs.rows); err != nil {
			return rs.mapErr(err)
		}
	}
	err = rs.rows.Err()
	if err == nil && rs.ctx != nil && rs.ctx.Err() != nil {
		// database/sql ends the rows of a query whose context ended as if
		// there were no more: the list may be cut short.
		err = rs.ctx.Err()
	}
	return rs.mapErr(err)
}

// collect returns scan's value of every row of rs, in order (nil when
// there are none, as the hand loops it replaces returned), and closes rs;
// on an error (the query's, scan's or rows.Err, as eachRow) it returns nil
// and the error.
func collect[T any](rs *rowSet, err error, scan func(*sql.Rows) (T, error)) ([]T, error) {
	var out []T
	err = eachRow(rs, err, func(rows *sql.Rows) error {
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
