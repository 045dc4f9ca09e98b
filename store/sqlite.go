package store

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strings"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

type sqliteDialect struct{}

// roster_lower is strings.ToLower for SQLite, whose own LOWER folds only
// ASCII: the team list searches and sorts names in any script by it (see
// foldSQL). It is no part of the schema, so a file opened by another
// program reads the same.
func init() {
	sqlite.MustRegisterDeterministicScalarFunction("roster_lower", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case string:
			return strings.ToLower(v), nil
		case []byte:
			return strings.ToLower(string(v)), nil
		default:
			return v, nil
		}
	})
}

// openSQLite opens a SQLite file in WAL mode with foreign keys on, a busy
// timeout, and BEGIN IMMEDIATE for every transaction, so two writers queue
// instead of failing halfway with SQLITE_BUSY on lock upgrade.
func openSQLite(path string) (*sql.DB, dialect, error) {
	// The file holds password hashes and tokens' hashes: readable by its
	// owner only. SQLite gives its -wal and -shm files the same mode.
	if path != "" && !strings.HasPrefix(path, ":memory:") {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			f.Close()
		} else if !errors.Is(err, fs.ErrExist) {
			return nil, nil, fmt.Errorf("store: create sqlite %s: %w", path, err)
		}
	}
	v := url.Values{}
	v.Add("_pragma", "foreign_keys(1)")
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "busy_timeout(10000)")
	v.Add("_pragma", "synchronous(NORMAL)")
	v.Set("_txlock", "immediate")
	db, err := openTraced("sqlite", "file:"+path+"?"+v.Encode(), semconv.DBSystemNameSQLite)
	if err != nil {
		return nil, nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	// Keep as many idle connections as open ones: opening a SQLite
	// connection (and its pragmas) costs more than most queries, and a
	// small idle pool reopens them constantly under concurrency.
	n := max(4, 2*runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(0)
	return db, sqliteDialect{}, nil
}

func (sqliteDialect) memberOrder() string         { return "rowid" }
func (sqliteDialect) name() string                { return "sqlite" }
func (sqliteDialect) system() string              { return "sqlite" }
func (sqliteDialect) gooseDialect() goose.Dialect { return goose.DialectSQLite3 }
func (sqliteDialect) rebind(q string) string      { return q }
func (sqliteDialect) txOptions() *sql.TxOptions   { return nil }

// migrationLock: none. A SQLite file is served by one process; goose has
// no SQLite locker.
func (sqliteDialect) migrationLock() (lock.SessionLocker, error) { return nil, nil }

// changeLock: BEGIN IMMEDIATE already makes SQLite's writers one at a time.
func (sqliteDialect) changeLock() string { return "" }

// batches: a statement costs SQLite no round trip; writes are not put
// off.
func (sqliteDialect) batches() bool { return false }

func (sqliteDialect) simple(args []any) []any { return args }

// claimTx: BEGIN IMMEDIATE makes claims one at a time already.
func (sqliteDialect) claimTx() (*sql.TxOptions, string) { return nil, "" }

// skipLocked: SQLite has no row locks (one writer at a time).
func (sqliteDialect) skipLocked() string { return "" }

// notify: SQLite has no notifications; followers poll the changes table.
func (sqliteDialect) notify(string) string { return "" }

// accountTurn: none; BEGIN IMMEDIATE makes every writer wait its turn.
func (sqliteDialect) accountTurn() (take, give string) { return "", "" }

// canCommit: nothing to check.
func (sqliteDialect) canCommit() string { return "" }

// commitWith: not used (SQLite has no change lock to hold briefly).
func (sqliteDialect) commitWith(q string, args []any) (string, []any) { return q, args }

func (sqliteDialect) mapErr(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", ErrUnique, err)
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%w: %v", errRetry, err)
		}
	}
	return unavailable(err)
}
