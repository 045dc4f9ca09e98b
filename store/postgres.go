package store

import (
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

type postgresDialect struct{}

// openPostgres opens the pool on dsn, which may name several hosts
// (replicas.go).
func openPostgres(dsn string) (*sql.DB, dialect, *cluster, error) {
	cfg, err := parsePostgres(dsn)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("store: open postgres: %w", err)
	}
	cl := &cluster{cfg: cfg, switches: new(atomic.Int64)}
	cl.watch.switches = cl.switches
	return openPostgresPool(cfg, &cl.watch).db, postgresDialect{}, cl, nil
}

func (postgresDialect) memberOrder() string         { return "account_id" }
func (postgresDialect) name() string                { return "postgres" }
func (postgresDialect) system() string              { return "postgresql" }
func (postgresDialect) gooseDialect() goose.Dialect { return goose.DialectPostgres }
func (postgresDialect) rebind(q string) string      { return rebindDollar(q) }

// migrationLock: goose's session-level advisory lock (pg_try_advisory_lock
// on goose's own lock ID), tried every second for five minutes, long
// enough for any migration Roster ships to finish in another replica. The
// lock is the session's, so a replica that dies while migrating releases
// it with its connection.
func (postgresDialect) migrationLock() (lock.SessionLocker, error) {
	return lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
}

// txOptions: SERIALIZABLE, so the rules read in a transaction still hold at
// commit; the transaction helper retries 40001.
func (postgresDialect) txOptions() *sql.TxOptions {
	return &sql.TxOptions{Isolation: sql.LevelSerializable}
}

// changeLock: a transaction-scoped advisory lock, so revisions (identity
// values) become visible in order.
func (postgresDialect) changeLock() string { return "SELECT pg_advisory_xact_lock(7405310)" }

// accountTurn: a session advisory lock of two keys (7405312 and the
// account's), apart from the change log's one-key lock.
func (postgresDialect) accountTurn() (take, give string) {
	return "SELECT pg_advisory_lock(7405312, CAST(? AS INTEGER))", "SELECT pg_advisory_unlock(7405312, CAST(? AS INTEGER))"
}

// commitWith: the statement and a COMMIT in one query string, which the
// simple query protocol allows (pgx puts the arguments in as quoted
// literals there): one round trip, the statement's rows answered, an
// error of either statement in the rows' error.
func (postgresDialect) commitWith(q string, args []any) (string, []any) {
	return q + "; COMMIT", append([]any{pgx.QueryExecModeSimpleProtocol}, args...)
}

// claimTx: READ COMMITTED behind a transaction-scoped advisory lock, so
// the claim's statement starts after the previous claim committed and
// counts the leases it took (under SERIALIZABLE, concurrent claims would
// fail each other instead). The UPDATE rechecks each row's lease anyway.
func (postgresDialect) claimTx() (*sql.TxOptions, string) {
	return &sql.TxOptions{Isolation: sql.LevelReadCommitted}, "SELECT pg_advisory_xact_lock(7405311)"
}

// skipLocked: a row another claim has leased, not yet committed, is
// skipped; after its commit the lease is rechecked on the new row.
func (postgresDialect) skipLocked() string { return " FOR UPDATE SKIP LOCKED" }

// notify: NOTIFY in the transaction is delivered when it commits, and
// repeated ones in one transaction are folded into one.
func (postgresDialect) notify() string { return "SELECT pg_notify('" + notifyChannel + "', '')" }

func (postgresDialect) mapErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %v", ErrUnique, err)
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return fmt.Errorf("%w: %v", errRetry, err)
		}
	}
	return unavailable(err)
}
