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

// batches: the simple query protocol takes several statements in one
// query string (pgx puts the arguments in as quoted literals).
func (postgresDialect) batches() bool { return true }

func (postgresDialect) simple(args []any) []any {
	return append([]any{pgx.QueryExecModeSimpleProtocol}, args...)
}

// accountTurn: a session advisory lock of two keys (7405312 and the
// account's), apart from the change log's one-key lock.
func (postgresDialect) accountTurn() (take, give string) {
	return "SELECT pg_advisory_lock(7405312, CAST(? AS INTEGER))", "SELECT pg_advisory_unlock(7405312, CAST(? AS INTEGER))"
}

// canCommit: commitWith's durable statement needs EXECUTE on
// pg_logical_emit_message (PUBLIC has it unless revoked).
func (postgresDialect) canCommit() string {
	return `SELECT has_function_privilege('pg_catalog.pg_logical_emit_message(boolean, text, text)', 'EXECUTE')`
}

// commitWith: the statement and a COMMIT in one query string, which the
// simple query protocol allows (pgx puts the arguments in as quoted
// literals there): one round trip, the statement's rows answered, an
// error of any statement in the rows' error.
//
// The COMMIT does not wait for its WAL to reach the disk (or a
// synchronous standby): synchronous_commit is off for this transaction
// only, so the change log's lock, released when the COMMIT ends, is held
// for the server's work alone. Held through the flush, the commits of
// every replica's writes flushed one after another under it, never
// together: at 200 writes a second on a loaded 2-core machine writes
// waited 20-65 ms a write for the lock and the writers fell behind the
// load. The write is still durable before it is answered: the next
// statement, in a transaction of its own, takes a transaction ID, and
// its commit, under the session's synchronous_commit (on by default),
// waits for the WAL up to its own commit record, which is after this
// one, to be flushed and, with a synchronous standby, to reach it (the
// transaction writes a WAL record of its own, a logical-decoding message
// that nothing reads: PostgreSQL does not wait at the commit of one that
// wrote none, a bare transaction ID included). That transaction is begun
// in the same query and committed by database/sql's own COMMIT, the next
// round trip, which thus waits for the flush: sent after the server's
// COMMIT with nothing begun, it was answered with a warning, one line in
// the server's log for every write (issue 26). Many
// writers' flushes are one (group commit). Others may see the change a
// moment before it is durable, as a synchronous standby's primary shows
// a commit it may lose in a failover: replicas that applied a change lost
// in a crash reload their index from the server that restarted or took
// over (store.DB.ServerSwitches), and its writer was never answered.
func (postgresDialect) commitWith(q string, args []any) (string, []any) {
	const durable = `SELECT pg_logical_emit_message(true, 'roster', 'durable')`
	return q + "; SET LOCAL synchronous_commit = off; COMMIT; BEGIN; " + durable,
		append([]any{pgx.QueryExecModeSimpleProtocol}, args...)
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
// repeated ones in one transaction are folded into one; the payload is
// the revision (see Listen).
func (postgresDialect) notify(rev string) string {
	return "pg_notify('" + notifyChannel + "', " + rev + ")"
}

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
