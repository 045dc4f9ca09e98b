// Package store keeps Roster's data in SQLite or PostgreSQL through
// database/sql. The SQL is written once with ? placeholders; a dialect
// rebinds them for PostgreSQL, opens transactions the way each database
// needs (BEGIN IMMEDIATE on SQLite, SERIALIZABLE with retries on PostgreSQL)
// and maps driver errors to the package's sentinel errors by code, never by
// message text. Invariants live in the schema (migrations/<dialect>/).
package store

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/rosterhq/roster"
)

//go:embed migrations
var migrations embed.FS

// Sentinel errors each dialect maps its driver's errors into.
var (
	// ErrUnique: a unique constraint refused the write.
	ErrUnique = errors.New("store: unique constraint violated")
	// ErrNoRows: the row does not exist (or belongs to another account).
	ErrNoRows = errors.New("store: no rows")
	// errRetry: a serialization failure that the transaction helper retries.
	errRetry = errors.New("store: serialization failure")
)

// dialect is what differs between the two databases.
type dialect interface {
	name() string
	// system is the OpenTelemetry db.system.name.
	system() string
	gooseDialect() goose.Dialect
	// migrationLock is the lock replicas take to migrate one at a time
	// (nil: none needed).
	migrationLock() (lock.SessionLocker, error)
	// rebind turns ? placeholders into the database's own.
	rebind(q string) string
	// mapErr maps a driver error to ErrUnique, errRetry,
	// ErrUnavailable (unavailable) or itself; an error it already
	// mapped, or an application error, it returns as it is.
	mapErr(err error) error
	txOptions() *sql.TxOptions
	// changeLock is a statement that serializes writers of the changes
	// table until commit ("" when the database already does): a SELECT
	// with no FROM or WHERE, to which flushChangesLocked adds a WHERE.
	changeLock() string
	// batches is whether several statements go to the server as one
	// query string (simple), so writes can be put off to the commit's
	// round trip (execLater).
	batches() bool
	// simple returns args marked for a query string of several
	// statements (where batches).
	simple(args []any) []any
	// accountTurn is the statements that take and give back an account's
	// turn to write ("" when writers take turns anyway), each with the
	// account's key as its one parameter; give answers whether the turn
	// was held (OneWriterIn).
	accountTurn() (take, give string)
	// canCommit is a query answering whether the role may run what
	// commitWith needs ("" when nothing is needed): Open checks it, since a
	// write would otherwise commit and then fail.
	canCommit() string
	// commitWith returns the query q followed by a COMMIT in one round
	// trip, with the arguments for it (flushChangesLocked).
	commitWith(q string, args []any) (string, []any)
	// notify is an expression that tells other processes, at commit, that
	// changes were recorded, announcing the revision rev (an SQL
	// expression of type text) ("" when they poll).
	notify(rev string) string
	// claimTx is how a webhook claim runs: its transaction options and a
	// statement that makes the claims of all processes take turns ("" when
	// the database already does).
	claimTx() (*sql.TxOptions, string)
	// skipLocked ends a claim's SELECT of rows to lease so that claims
	// running at once skip each other's rows instead of taking turns
	// ("" where claims are one at a time already).
	skipLocked() string
	// memberOrder is the members' column a start splits them by to read
	// them in parallel (IndexRanges): their order in the table where a
	// range of it is read without an index (SQLite's rowid).
	memberOrder() string
}

// DB is a Roster database.
type DB struct {
	db    *sql.DB
	d     dialect
	dsn   string
	stmts sync.Map         // query text -> *sql.Stmt (see row)
	Now   func() time.Time // the clock; tests may set it
	cl    *cluster         // PostgreSQL: its cluster and read pool (replicas.go); nil on SQLite
	// standbyOf is, on a read pool, the cluster it reads for: a statement
	// of it that fails as unavailable passes it over (replicas.go).
	standbyOf *cluster
	// Timeout bounds each statement and each attempt of a transaction
	// (Bound): past it the call fails with ErrUnavailable. 0: no bound.
	// Open sets DefaultTimeout; set it before the DB is used.
	Timeout time.Duration
	// FailStatement, when set (by tests only), makes statement stmt (1,
	// 2, ...) of attempt attempt of a transaction fail as a serialization
	// failure does, before it runs: Transact retries it. Tests show with
	// it that each transaction is a pure function of its input.
	FailStatement func(attempt, stmt int) bool
	// mailed wakes this process's mail worker after a commit that wrote
	// mail (MailQueued).
	mailed chan struct{}
}

// Open opens the database named by dsn: "postgres://..." or
// "postgresql://..." for PostgreSQL, anything else is a SQLite file path.
// It does not migrate; call Migrate.
func Open(dsn string) (*DB, error) {
	var (
		sdb *sql.DB
		d   dialect
		cl  *cluster
		err error
	)
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		sdb, d, cl, err = openPostgres(dsn)
	} else {
		sdb, d, err = openSQLite(dsn)
	}
	if err != nil {
		return nil, err
	}
	if err := sdb.Ping(); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", d.name(), err)
	}
	if q := d.canCommit(); q != "" {
		var ok bool
		if err := sdb.QueryRow(q).Scan(&ok); err != nil || !ok {
			sdb.Close()
			return nil, fmt.Errorf("store: the database role may not run pg_logical_emit_message(boolean, text, text), with which a write waits for its commit to be durable: GRANT EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text) TO the role (%v)", cmp.Or(err, errors.New("permission denied")))
		}
	}
	return &DB{db: sdb, d: d, dsn: dsn, Now: time.Now, cl: cl, Timeout: DefaultTimeout, mailed: make(chan struct{}, 1)}, nil
}

// Dialect names the database: "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.d.name() }

// SQL exposes the connection pool for tools and tests.
func (db *DB) SQL() *sql.DB { return db.db }

// Close closes the prepared statements and the pool.
func (db *DB) Close() error {
	db.stmts.Range(func(_, st any) bool { st.(*sql.Stmt).Close(); return true })
	if db.HasReadPool() {
		db.cl.stopProbe()
		db.cl.read.Close()
	}
	if db.cl != nil {
		db.cl.followOnce.Do(func() {}) // none opened after this
		if db.cl.follow != nil {
			db.cl.follow.Close()
		}
	}
	return db.db.Close()
}

// Migrate applies every embedded migration not yet applied. On PostgreSQL
// it holds goose's session-level advisory lock while it reads and applies
// them, so replicas started at once migrate one after the other: the first
// applies what is pending, the others wait for the lock (polling every
// second, for up to five minutes) and then find nothing to do.
func (db *DB) Migrate(ctx context.Context) error {
	p, err := db.migrations()
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// migrations is the goose provider of the dialect's embedded migrations,
// with the migration lock where the dialect has one.
func (db *DB) migrations() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+db.d.name())
	if err != nil {
		return nil, err
	}
	var opts []goose.ProviderOption
	locker, err := db.d.migrationLock()
	if err != nil {
		return nil, fmt.Errorf("store: migration lock: %w", err)
	}
	if locker != nil {
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(db.d.gooseDialect(), db.db, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}

// Migration is one migration this binary embeds, and whether the database
// has it.
type Migration struct {
	Version   int64     // 24 for 00024_passkeys.sql
	Name      string    // "passkeys"
	Applied   bool      // recorded in goose_db_version
	AppliedAt time.Time // when, if Applied (as the database recorded it)
}

// MigrationStatus lists every embedded migration, oldest first, applied or
// pending (goose's Provider.Status), and the newest version the database
// records (dbVersion), which is newer than any listed when a later Roster
// migrated the database. Reading the status creates goose's version table
// when the database has none, as goose does; it changes nothing else.
func (db *DB) MigrationStatus(ctx context.Context) (list []Migration, dbVersion int64, err error) {
	p, err := db.migrations()
	if err != nil {
		return nil, 0, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("store: migration status: %w", err)
	}
	for _, m := range st {
		list = append(list, Migration{Version: m.Source.Version, Name: migrationName(m.Source.Path),
			Applied: m.State == goose.StateApplied, AppliedAt: m.AppliedAt})
	}
	if dbVersion, err = p.GetDBVersion(ctx); err != nil {
		return nil, 0, fmt.Errorf("store: migration status: %w", err)
	}
	return list, dbVersion, nil
}

// MigrateDown rolls back, newest first, every applied migration with a
// version above to, running each one's Down section (goose's
// Provider.DownTo), and returns those it rolled back. Down sections drop
// what their Up created, data included. Roll back only with every replica
// stopped, after a backup (docs/operations.md, Rolling back).
func (db *DB) MigrateDown(ctx context.Context, to int64) ([]Migration, error) {
	if to < 0 {
		return nil, fmt.Errorf("store: migrate down: version %d is negative", to)
	}
	p, err := db.migrations()
	if err != nil {
		return nil, err
	}
	res, err := p.DownTo(ctx, to)
	var partial *goose.PartialError
	if errors.As(err, &partial) {
		res = partial.Applied // rolled back before the one that failed
	}
	var done []Migration
	for _, r := range res {
		done = append(done, Migration{Version: r.Source.Version, Name: migrationName(r.Source.Path)})
	}
	if err != nil {
		return done, fmt.Errorf("store: migrate down: %w", err)
	}
	return done, nil
}

// migrationName is a migration file's name without its version and
// extension: "passkeys" for 00024_passkeys.sql.
func migrationName(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	if _, rest, ok := strings.Cut(base, "_"); ok {
		return rest
	}
	return base
}

// Tx is a transaction with one timestamp for everything it writes.
type Tx struct {
	tx  *sql.Tx
	db  *DB
	now time.Time
	rev int64 // the newest change recorded in this transaction, once written (flushChanges)
	// changes are the changes recorded by Changed and not yet written to
	// the change log: written just before the commit, or by Revision
	// (flushChanges); flushErr is the error of a write by Revision, which
	// fails the transaction.
	changes  []Change
	flushErr error
	notified bool            // the change listeners' NOTIFY is in the transaction
	ctx      context.Context // the attempt's, for Revision's write
	// deadline ends the attempt (db.Bound of Transact's context; zero:
	// none): every statement runs under it, because the transaction's
	// own context ending does not stop a statement already waiting on a
	// stalled connection.
	deadline time.Time
	attempt  int // of Transact, from 1
	stmts    int // statements run so far (FailStatement)
	// mailed: the transaction wrote mail to the outbox (QueueMail).
	mailed bool
	// later holds the statements execLater put off to the commit's round
	// trip (where the dialect batches), in order.
	later []laterStmt
}

// laterStmt is a statement (with ? placeholders) and its arguments.
type laterStmt struct {
	q    string
	args []any
}

// execLater runs a write whose outcome nothing in the transaction reads
// (an audit event, a mail to the outbox) or, where the dialect batches
// statements, puts it off to the commit, whose round trip carries it:
// each such write was a round trip of its own, and a role change made
// two (issue 26: at 200 writes a second, PostgreSQL's time went to round
// trips). Its error, if any, fails the commit, and the transaction with
// it. Nothing in the transaction may read what it writes.
func (tx *Tx) execLater(ctx context.Context, q string, args ...any) error {
	if !tx.db.d.batches() {
		_, err := tx.exec(ctx, q, args...)
		return err
	}
	if err := tx.fault(); err != nil { // counted where it was asked for
		return err
	}
	tx.later = append(tx.later, laterStmt{q, args})
	return nil
}

// execPutOff runs the writes put off (execLater), if any, in one round
// trip (counted once already, by execLater).
func (tx *Tx) execPutOff(ctx context.Context) error {
	q, args := tx.takeLater()
	if q == "" {
		return nil
	}
	ctx, cancel := tx.bound(ctx)
	defer cancel()
	_, err := tx.tx.ExecContext(ctx, tx.db.q(q), tx.db.d.simple(args)...)
	return tx.db.d.mapErr(err)
}

// takeLater returns the statements put off (see execLater) as one query
// string and their arguments; none: "" and nil.
func (tx *Tx) takeLater() (string, []any) {
	qs := make([]string, len(tx.later))
	var args []any
	for i, l := range tx.later {
		qs[i] = l.q
		args = append(args, l.args...)
	}
	tx.later = nil
	return strings.Join(qs, "; "), args
}

// fault is the injected failure of the next statement (FailStatement).
func (tx *Tx) fault() error {
	tx.stmts++
	if f := tx.db.FailStatement; f != nil && f(tx.attempt, tx.stmts) {
		return fmt.Errorf("%w: injected (attempt %d, statement %d)", errRetry, tx.attempt, tx.stmts)
	}
	return nil
}

// bound returns ctx bounded by the attempt's deadline.
func (tx *Tx) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if tx.deadline.IsZero() {
		return ctx, func() {}
	}
	if d, ok := ctx.Deadline(); ok && !d.After(tx.deadline) {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, tx.deadline)
}

// Revision returns the newest change recorded by Changed in the
// transaction, 0 when none. The changes are written to the log just
// before the commit (flushChanges), so the revision is known once the
// transaction committed; asked before, Revision writes the changes
// recorded so far at once, and the transaction holds the change log's
// lock from then to its commit (PostgreSQL): writers call it after the
// commit (core.Write), tests may call it within.
func (tx *Tx) Revision() int64 {
	if len(tx.changes) > 0 && tx.flushErr == nil {
		tx.flushErr = tx.flushChanges(tx.ctx)
	}
	return tx.rev
}

// Now is the transaction's timestamp.
func (tx *Tx) Now() time.Time { return tx.now }

func (tx *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if err := tx.fault(); err != nil {
		return nil, err
	}
	ctx, cancel := tx.bound(ctx)
	defer cancel()
	r, err := tx.tx.ExecContext(ctx, tx.db.q(q), args...)
	return r, tx.db.d.mapErr(err)
}

func (tx *Tx) queryRow(ctx context.Context, q string, args []any, dest ...any) error {
	err := tx.row(ctx, q, args...).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNoRows
	}
	return err
}

// row runs a one-row query (with ? placeholders) in the transaction.
func (tx *Tx) row(ctx context.Context, q string, args ...any) row {
	if err := tx.fault(); err != nil {
		return row{err: err}
	}
	ctx, cancel := tx.bound(ctx)
	return row{r: tx.tx.QueryRowContext(ctx, tx.db.q(q), args...), ctx: ctx, cancel: cancel, mapErr: tx.db.d.mapErr}
}

// q returns the query rebound for the dialect.
func (db *DB) q(q string) string {
	if db.d.name() == "sqlite" {
		return q
	}
	return db.d.rebind(q)
}

// Transact runs fn in a transaction, committing when it returns nil and
// rolling back on an error or a panic. Serialization failures, deadlocks
// and a busy SQLite are retried with the whole of fn, with jittered
// exponential back-off for about ten seconds; then ErrBusy, an
// EUNAVAILABLE with Retry-After. fn must be a pure function of its input
// and of what it reads in tx: no effects outside tx, and no assignment to
// what it was given (a retry must start from the same values; assigning
// results to variables of the caller is fine, each attempt sets them
// again). Each attempt runs under the database timeout (Bound); a failed
// or stalled database is ErrUnavailable.
func (db *DB) Transact(ctx context.Context, fn func(tx *Tx) error) (err error) {
	ctx, span := db.startTx(ctx)
	attempts := 0
	defer func() { endTx(span, attempts, err) }()
	wait := 2 * time.Millisecond
	deadline := time.Now().Add(retryBudget)
	for {
		attempts++
		err = db.transactOnce(ctx, attempts, fn)
		if !errors.Is(err, errRetry) {
			return err
		}
		if time.Now().Add(wait).After(deadline) {
			return fmt.Errorf("%w (%v)", ErrBusy, err)
		}
		// Full jitter: concurrent writers that failed together do not
		// come back together.
		t := time.NewTimer(wait/2 + rand.N(wait/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return unavailable(ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, 200*time.Millisecond)
	}
}

// retryBudget is how long Transact retries a transaction that conflicts.
const retryBudget = 10 * time.Second

// ErrBusy: a transaction kept conflicting with others for the whole retry
// budget. It is EUNAVAILABLE with Retry-After: nothing was written.
var ErrBusy = roster.Retry(roster.EUNAVAILABLE, time.Second, "The database is busy with other changes right now: try again in a second")

// accountTurnKey carries the account of OneWriterIn.
type accountTurnKey struct{}

// OneWriterIn marks ctx's transactions as writes to the account's
// members: on PostgreSQL an attempt that is retried waits for the
// account's turn (a lock taken before it begins) and goes alone. Two
// SERIALIZABLE transactions that change different members of one account
// at once fail one another, because each reads and writes the same pages
// of the members' indexes and PostgreSQL's predicate locks on an index
// are per page (tried: 20 of 20 overlapping pairs failed); retried at
// once, they failed again: at 200 role changes a second in one account
// each was tried 4.6 times and the answers took seconds (issue 26). Every
// attempt in turn was tried too: no retries, but one account's writes
// then went one at a time, round trips and all, and 170 a second queued
// for half a second. First attempts run at once; a retry, after a
// conflict, waits for the turn, so retries do not fail one another.
// SQLite's writers take turns already (BEGIN IMMEDIATE): nothing changes
// there.
func OneWriterIn(ctx context.Context, accountSeq int64) context.Context {
	return context.WithValue(ctx, accountTurnKey{}, accountSeq)
}

// beginTx begins a transaction for an attempt of Transact: a retry (attempt
// > 1) in the turn of the account OneWriterIn named, where the dialect has
// turns (its done ends the turn; call it once the transaction ended), any
// other on any connection of the pool.
func (db *DB) beginTx(ctx context.Context, attempt int) (stx *sql.Tx, done func(), err error) {
	seq, ok := ctx.Value(accountTurnKey{}).(int64)
	take, give := db.d.accountTurn()
	if !ok || take == "" || attempt == 1 {
		stx, err = db.db.BeginTx(ctx, db.d.txOptions())
		return stx, func() {}, err
	}
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	key := int32(seq) // the lock's second key: accounts 2^32 apart share a turn, no harm
	// The turn is the connection's (a session lock), so it is given back
	// on this connection, or the connection is closed with it: a pooled
	// connection must never keep one.
	drop := func() {
		conn.Raw(func(any) error { return driver.ErrBadConn })
		conn.Close()
	}
	if _, err := conn.ExecContext(ctx, db.q(take), key); err != nil {
		drop()
		return nil, nil, err
	}
	done = func() {
		gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		var given bool
		if err := conn.QueryRowContext(gctx, db.q(give), key).Scan(&given); err != nil || !given {
			drop()
			return
		}
		conn.Close()
	}
	stx, err = conn.BeginTx(ctx, db.d.txOptions())
	if err != nil {
		done()
		return nil, nil, err
	}
	return stx, done, nil
}

func (db *DB) transactOnce(ctx context.Context, attempt int, fn func(tx *Tx) error) (err error) {
	ctx, cancel := db.Bound(ctx)
	defer cancel()
	stx, endTurn, err := db.beginTx(ctx, attempt)
	if err != nil {
		return fmt.Errorf("store: begin: %w", db.d.mapErr(err))
	}
	defer endTurn() // after the rollback below (deferred calls run last first)
	tx := &Tx{tx: stx, db: db, now: db.Now().UTC().Truncate(time.Microsecond)}
	tx.deadline, _ = ctx.Deadline()
	tx.attempt = attempt
	tx.ctx = ctx
	defer func() {
		if p := recover(); p != nil {
			stx.Rollback()
			panic(p)
		}
		if err != nil {
			stx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		if ctx.Err() != nil && errors.Is(err, sql.ErrTxDone) {
			// The attempt's deadline ended the transaction between two
			// statements: the database timeout, not a bug.
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		// fn's errors are mostly mapped already; this maps any that a
		// path returned raw (mapErr leaves the others as they are).
		return db.d.mapErr(err)
	}
	// The key's mark first: the change log's lock is held from the
	// flush to the commit, and nothing else should run under it.
	if err = db.markIdempotent(ctx, tx); err != nil { // issue 26: store/idempotency.go
		return err
	}
	if tx.flushErr != nil {
		return db.d.mapErr(tx.flushErr)
	}
	if lock := db.d.changeLock(); lock != "" && len(tx.changes) > 0 {
		// The change log's last statement carries the COMMIT
		// (flushChangesLocked): committed when it answers.
		if err = tx.flushChangesLocked(ctx, lock, true); err != nil {
			return fmt.Errorf("store: commit: %w", db.d.mapErr(err))
		}
		// database/sql's COMMIT ends the transaction the query began after
		// the server's COMMIT: the durable one's, which waits for the
		// flush (commitWith). Failing, it leaves the write committed but
		// not known to be durable: unavailable, to be tried again (an
		// idempotency key answers it once).
		if err = stx.Commit(); err != nil {
			return fmt.Errorf("store: commit: not confirmed durable: %w", notConfirmed(err))
		}
	} else {
		if err = tx.flushChanges(ctx); err != nil {
			return db.d.mapErr(err)
		}
		if err = tx.execPutOff(ctx); err != nil {
			return fmt.Errorf("store: commit: %w", err)
		}
		if err = stx.Commit(); err != nil {
			return fmt.Errorf("store: commit: %w", db.d.mapErr(err))
		}
	}
	if tx.mailed {
		select {
		case db.mailed <- struct{}{}:
		default: // a wake-up is waiting already
		}
	}
	return nil
}

// rebindDollar turns each ? outside string literals into $1, $2, ...
func rebindDollar(q string) string {
	var b strings.Builder
	n, inStr := 0, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c == '\'' {
			inStr = !inStr
		}
		if c == '?' && !inStr {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

func (db *DB) mapNoRows(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNoRows
	}
	return db.d.mapErr(err)
}

// row is the one row of a query run by db.row, db.oneRow or tx.row, under
// the database timeout: Scan reads it, ends its deadline and maps its
// error (sql.ErrNoRows stays as it is, for the callers that test it).
// Scan it exactly once.
type row struct {
	r      *sql.Row
	ctx    context.Context // the query's: ended, it makes "no rows" unsure
	cancel context.CancelFunc
	mapErr func(error) error
	err    error // failed before it ran (FailStatement)
}

// Scan copies the row's columns into dest, as sql.Row.Scan.
func (r row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	err := r.r.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) && r.ctx.Err() != nil {
		// database/sql answers a query its context ended as one that
		// found no row: the row's absence is not known, so not "no rows".
		err = fmt.Errorf("%w (%w)", r.ctx.Err(), err)
	}
	r.cancel()
	if err == nil || errors.Is(err, sql.ErrNoRows) && r.ctx.Err() == nil {
		return err
	}
	return r.mapErr(err)
}

// row runs a one-row query (with ? placeholders) through a statement
// prepared once per DB and kept: the hot reads (sessions, accounts, users,
// throttles) are parsed once, not on every request. Only for queries of
// fixed text: one built per call goes through oneRow.
func (db *DB) row(ctx context.Context, q string, args ...any) row {
	ctx, cancel := db.Bound(ctx)
	out := row{ctx: ctx, cancel: cancel, mapErr: db.mapOut}
	if st := db.stmt(ctx, q); st != nil {
		out.r = st.QueryRowContext(ctx, args...)
		return out
	}
	out.r = db.db.QueryRowContext(ctx, db.q(q), args...)
	return out
}

// stmt is q (of fixed text) prepared once per DB and kept, or nil when it
// could not be prepared (the caller runs it unprepared).
func (db *DB) stmt(ctx context.Context, q string) *sql.Stmt {
	if st, ok := db.stmts.Load(q); ok {
		return st.(*sql.Stmt)
	}
	st, err := db.db.PrepareContext(ctx, db.q(q))
	if err != nil {
		return nil
	}
	if old, loaded := db.stmts.LoadOrStore(q, st); loaded {
		st.Close()
		st = old.(*sql.Stmt)
	}
	return st
}

// oneRow runs a one-row query (with ? placeholders) on the pool without
// preparing it: for queries built per call.
func (db *DB) oneRow(ctx context.Context, q string, args ...any) row {
	ctx, cancel := db.Bound(ctx)
	return row{r: db.db.QueryRowContext(ctx, db.q(q), args...), ctx: ctx, cancel: cancel, mapErr: db.mapOut}
}

// exec runs a statement (with ? placeholders) on the pool, outside any
// transaction, under the database timeout.
func (db *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	ctx, cancel := db.Bound(ctx)
	defer cancel()
	r, err := db.db.ExecContext(ctx, db.q(q), args...)
	return r, db.mapOut(err)
}
