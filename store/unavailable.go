package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/rosterhq/roster"
)

// When the database fails. A request whose database is gone, stalled,
// full, shutting down or failing over is answered 503 unavailable with
// Retry-After, never 500 (a bug) and never 404 (an absence): each
// dialect's mapErr ends with unavailable, so every statement's error,
// however it reached the store's code, is classified here, by type and
// code, never by message text.
//
// The error returned keeps its cause (errors.Is and errors.As reach the
// driver's error, for the log), while what a client reads is only
// ErrUnavailable's message: a driver's text may name hosts and users.

// ErrUnavailable: the database could not be used for the request (it
// refused or lost the connection, did not answer within the database
// timeout, is out of disk or memory, is shutting down or is a standby
// after a failover). Nothing was written, or what was is committed as a
// whole: the request may be tried again.
var ErrUnavailable = roster.Retry(roster.EUNAVAILABLE, time.Second, "The database is unavailable right now: try again in a moment")

// ErrCanceled: the caller's context was canceled (the client went away)
// before the database answered. It is EUNAVAILABLE, not internal, so no
// edge logs it as a bug; the HTTP edges log such a request with status 499
// (edge.StatusOf), which no client sees.
var ErrCanceled = roster.Retry(roster.EUNAVAILABLE, time.Second, "The request was canceled before the database answered")

// DefaultTimeout is the database timeout of a DB that sets none
// (ROSTER_DB_TIMEOUT's default).
const DefaultTimeout = 5 * time.Second

// Bound returns ctx bounded by the database timeout (db.Timeout), unless
// ctx already ends sooner or the timeout is 0 (none). Every statement the
// store runs, and every attempt of a transaction, runs under it, so a
// stalled database answers ErrUnavailable within the timeout instead of
// holding the request. Call cancel once the call is done (its rows read).
func (db *DB) Bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if db.Timeout <= 0 {
		return ctx, func() {}
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= db.Timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, db.Timeout)
}

// dbFailure is a classified failure: Unwrap gives both the roster error
// (what a client is told) and the driver's cause (what the log shows).
type dbFailure struct {
	kind  *roster.Error // ErrUnavailable or ErrCanceled
	cause error
}

func (e *dbFailure) Error() string {
	if e.kind == ErrCanceled {
		return "store: canceled: " + e.cause.Error()
	}
	return "store: database unavailable: " + e.cause.Error()
}

func (e *dbFailure) Unwrap() []error { return []error{e.kind, e.cause} }

// unavailable returns err as ErrUnavailable (or ErrCanceled) when it is a
// failure of the database or of the connection to it, else err as it is
// (nil, an error already classified, ErrBusy, a constraint, a bug).
func unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrCanceled) || errors.Is(err, ErrBusy) {
		return err
	}
	var app *roster.Error
	if errors.As(err, &app) {
		return err // an application error from a transaction's function
	}
	switch {
	case errors.Is(err, context.Canceled):
		return &dbFailure{kind: ErrCanceled, cause: err}
	case connectionFailed(err) || serverUnavailable(err) || sqliteUnavailable(err):
		return &dbFailure{kind: ErrUnavailable, cause: err}
	}
	return err
}

// notConfirmed classifies a failure to confirm a write that committed
// (the durable commit's, store.go): whatever it was, the write may be
// tried again, so it is unavailable, or canceled.
func notConfirmed(err error) error {
	if err = unavailable(err); errors.Is(err, ErrUnavailable) || errors.Is(err, ErrCanceled) {
		return err
	}
	return &dbFailure{kind: ErrUnavailable, cause: err}
}

// connectionFailed: the connection could not be made, was lost or timed
// out, whichever the driver.
func connectionFailed(err error) bool {
	var netErr net.Error
	var connectErr *pgconn.ConnectError
	switch {
	case errors.Is(err, context.DeadlineExceeded), // the database timeout (Bound) or the caller's
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF),
		errors.Is(err, net.ErrClosed),
		errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ETIMEDOUT),
		errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH),
		errors.As(err, &netErr),
		errors.As(err, &connectErr),
		pgconn.Timeout(err),
		pgconn.SafeToRetry(err): // failed before anything reached the server
		return true
	}
	return false
}

// serverUnavailable: PostgreSQL answered that it cannot serve now.
func serverUnavailable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch {
	case strings.HasPrefix(pe.Code, "08"), // connection_exception
		strings.HasPrefix(pe.Code, "53"), // insufficient_resources: disk_full, out_of_memory, too_many_connections
		strings.HasPrefix(pe.Code, "58"), // system_error: io_error
		pe.Code == "57P01",               // admin_shutdown
		pe.Code == "57P02",               // crash_shutdown
		pe.Code == "57P03",               // cannot_connect_now: starting up, shutting down, recovering
		pe.Code == "57014",               // query_canceled: statement_timeout, or the cancel of a deadline
		pe.Code == "25006",               // read_only_sql_transaction: a write reached a standby (a failover)
		pe.Code == "40003":               // statement_completion_unknown
		return true
	}
	return false
}

// sqliteUnavailable: SQLite cannot write or read the file now (the disk is
// full, the file cannot be read or written, memory ran out), or a
// statement was interrupted because its context ended. A corrupt file is
// not in this list: it is an internal error an operator must see.
func sqliteUnavailable(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff { // the primary code of an extended one
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOMEM,
		sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_INTERRUPT:
		return true
	}
	return false
}

// mapOut maps the error of a statement run outside a transaction: as the
// dialect maps it, and a conflict that a transaction would have retried
// (errRetry) is ErrBusy, since no one retries it here. On a read pool, an
// unavailable statement passes the read pool over (cluster.passOver).
func (db *DB) mapOut(err error) error {
	err = db.d.mapErr(err)
	if db.standbyOf != nil && errors.Is(err, ErrUnavailable) {
		db.standbyOf.passOver(err) // a read pool's: read the primary until it answers
	}
	if errors.Is(err, errRetry) {
		return fmt.Errorf("%w (%v)", ErrBusy, err)
	}
	return err
}
