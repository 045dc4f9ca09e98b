package store

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// A PostgreSQL cluster: ROSTER_DATABASE may name several hosts
// (postgres://h1:5432,h2:5432/roster?target_session_attrs=read-write),
// which pgx tries in order, keeping the first that accepts writes; after
// a failover, connections to the dead primary fail, the pool discards
// them, and new ones find the promoted standby. A read pool
// (ROSTER_DATABASE_READ, OpenRead) may name standbys: the check index's
// load, the change-log follower and the read-only pages read there,
// everything else (every transaction) on the primary.
//
// Each new connection records which server it reached (its postmaster's
// start time, address and port): when a pool's connections move to
// another server (a failover, a switch between standbys), ServerSwitches
// grows, and the check index reloads from the primary (service/index), so
// it equals what the new server holds even if the old one had shown a
// commit that did not survive.

// cluster is what a PostgreSQL DB keeps of its cluster.
type cluster struct {
	cfg      *pgx.ConnConfig // ROSTER_DATABASE parsed, for the change listener
	switches *atomic.Int64   // shared with the read pool's DB
	watch    serverWatch

	read     *DB          // the read pool; nil: none
	replayed atomic.Int64 // the newest revision the read pool was seen to hold

	// readDown: a statement of the read pool failed as unavailable (the
	// standby is down, refuses, or hangs past a deadline); its reads go to
	// the primary until a probe answers (passOver). downWhy is the last
	// failure, under downMu; stop, closed by Close, ends the probe.
	readDown atomic.Bool
	downMu   sync.Mutex
	downWhy  error
	stop     chan struct{}
	stopOnce sync.Once

	// announced is the newest revision the change notifications named
	// since the follower last asked (TakeAnnounced); -1: one named none.
	announced atomic.Int64

	// follow is the change-log follower's own small pool on the primary
	// (ForFollower), opened at its first use.
	followOnce sync.Once
	follow     *DB
}

// followConns is how many connections the follower's pool opens: one
// catch-up runs at a time; the second serves a reload's parallel reads
// and a connection being replaced.
const followConns = 2

// serverWatch remembers the server a pool's last new connection reached.
type serverWatch struct {
	mu       sync.Mutex
	last     string
	switches *atomic.Int64
	onSwitch func() // nil: none
}

// seen records that a connection reached server id.
func (w *serverWatch) seen(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last != "" && w.last != id {
		w.switches.Add(1)
		if w.onSwitch != nil {
			w.onSwitch()
		}
	}
	w.last = id
}

// defaultConnectTimeout bounds each host's connection attempt when the
// URL sets no connect_timeout, so a host that died silently (no refusal,
// no reset) is given up in seconds and the next one tried.
const defaultConnectTimeout = 3 * time.Second

// connMaxLifetime: a pool's connections are replaced this often, so after
// a failover or a standby's return they spread again, and connections
// that survived on a server that is no longer the right one end.
const connMaxLifetime = 5 * time.Minute

// parsePostgres parses dsn as pgx does (several hosts, target_session_attrs,
// connect_timeout) and sets Roster's defaults.
func parsePostgres(dsn string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = defaultConnectTimeout
		d := &net.Dialer{Timeout: defaultConnectTimeout, KeepAlive: 15 * time.Second}
		cfg.DialFunc = d.DialContext
	}
	return cfg, nil
}

// serverIdentity is what tells one server from another: the same address
// may lead to another server after a failover (a virtual IP, a service
// name), so the postmaster's start time goes in too.
const serverIdentity = `SELECT pg_postmaster_start_time()::text || ' ' || COALESCE(host(inet_server_addr()), 'local') || ':' || COALESCE(inet_server_port(), 0)::text`

// maxPostgresConns is the most connections a pool opens (docs/operations.md:
// connections for several replicas).
const maxPostgresConns = 20

// openPostgresPool opens a pool on cfg whose new connections report the
// server they reached to w.
func openPostgresPool(cfg *pgx.ConnConfig, w *serverWatch) *DB {
	connector := stdlib.GetConnector(*cfg, stdlib.OptionAfterConnect(func(ctx context.Context, conn *pgx.Conn) error {
		var id string
		if err := conn.QueryRow(ctx, serverIdentity).Scan(&id); err != nil {
			return err
		}
		w.seen(id)
		return nil
	}))
	sdb := openTracedConnector(connector, semconv.DBSystemNamePostgreSQL)
	sdb.SetMaxOpenConns(maxPostgresConns)
	// As many kept idle as may be open: database/sql keeps 2 by default,
	// so every burst beyond 2 closed its connections on return and opened
	// new ones (a server process forked, a login, the identity query):
	// at 100 writes a second to 8 replicas the reconnects starved the
	// change-log followers past the staleness bound (issue 26).
	sdb.SetMaxIdleConns(maxPostgresConns)
	sdb.SetConnMaxLifetime(connMaxLifetime)
	sdb.SetConnMaxIdleTime(time.Minute)
	return &DB{db: sdb, d: postgresDialect{}, Now: time.Now}
}

// OpenRead adds a read pool on dsn (ROSTER_DATABASE_READ: one standby or
// several, postgres:// as for Open; without target_session_attrs pgx
// keeps the first host that answers). PostgreSQL only; call it before
// the DB is used.
func (db *DB) OpenRead(dsn string) error {
	if db.cl == nil {
		return fmt.Errorf("store: a read database needs PostgreSQL")
	}
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return fmt.Errorf("store: the read database must be a postgres:// URL")
	}
	cfg, err := parsePostgres(dsn)
	if err != nil {
		return fmt.Errorf("store: open the read database: %w", err)
	}
	// Another standby may have replayed less: what was seen of the last
	// one no longer holds.
	r := openPostgresPool(cfg, &serverWatch{switches: db.cl.switches, onSwitch: func() { db.cl.replayed.Store(0) }})
	r.dsn = dsn
	r.cl = &cluster{cfg: cfg, switches: db.cl.switches}
	if err := r.db.Ping(); err != nil {
		r.db.Close()
		return fmt.Errorf("store: connect to the read database: %w", err)
	}
	r.Timeout = db.Timeout // the same bound on every statement (ROSTER_DB_TIMEOUT)
	r.standbyOf = db.cl
	db.cl.stop = make(chan struct{})
	db.cl.read = r
	return nil
}

// HasReadPool reports whether reads may go to a read pool (OpenRead).
func (db *DB) HasReadPool() bool { return db.cl != nil && db.cl.read != nil }

// ServerSwitches counts the times a pool's new connection reached another
// server than the one before (a failover, a switch between standbys).
func (db *DB) ServerSwitches() int64 {
	if db.cl == nil {
		return 0
	}
	return db.cl.switches.Load()
}

type followerKey struct{}

// ForFollower returns a context whose reads keep the check index: the
// change-log follower's catch-ups, and a writer's or a request's that
// confirm the index. On PostgreSQL, those that read the primary (no read
// pool, or WithPrimary) go to a pool of their own, followConns
// connections to the same primary, so a replica confirms its index
// current while every connection of its main pool is taken by writes
// waiting their turn: sharing that pool, 8 replicas at 100 writes a
// second waited seconds for a connection in their catch-ups and turned
// stale (issue 26). Those that read a standby go to the read pool, as
// before. MainPool undoes it.
func ForFollower(ctx context.Context) context.Context {
	return context.WithValue(ctx, followerKey{}, true)
}

// MainPool returns a context whose reads use the main pool (or the read
// pool) even under ForFollower: a reload's parallel readers.
func MainPool(ctx context.Context) context.Context {
	return context.WithValue(ctx, followerKey{}, false)
}

type primaryKey struct{}

// WithPrimary returns a context whose reads go to the primary even when
// there is a read pool: the writer's catch-up after its own write, and a
// reload after a server switch.
func WithPrimary(ctx context.Context) context.Context {
	return context.WithValue(ctx, primaryKey{}, true)
}

// ReadsPrimary reports whether ctx's reads go to the primary whatever
// the read pool (WithPrimary).
func ReadsPrimary(ctx context.Context) bool {
	p, _ := ctx.Value(primaryKey{}).(bool)
	return p
}

type atLeastKey struct{}

// ReadAtLeast returns a context whose reads of the read pool's methods
// reflect revision rev: from the read pool when it has replayed it, else
// from the primary (read-after-write behind X-Roster-Revision).
func ReadAtLeast(ctx context.Context, rev int64) context.Context {
	if rev <= 0 {
		return ctx
	}
	if old, ok := ctx.Value(atLeastKey{}).(int64); ok && old >= rev {
		return ctx
	}
	return context.WithValue(ctx, atLeastKey{}, rev)
}

// reader is the DB a follower's or a read-only page's read uses: the read
// pool, unless there is none, it is passed over (down), ctx asks for the
// primary, or ctx needs a revision the read pool has not replayed yet.
func (db *DB) reader(ctx context.Context) *DB {
	if db.cl == nil {
		return db
	}
	primary := db
	if f, _ := ctx.Value(followerKey{}).(bool); f {
		primary = db.follower()
	}
	if p, _ := ctx.Value(primaryKey{}).(bool); p || db.cl.read == nil || db.cl.readDown.Load() {
		return primary
	}
	if rev, _ := ctx.Value(atLeastKey{}).(int64); rev > 0 && !db.readHas(ctx, rev) {
		return primary
	}
	return db.cl.read
}

// A read pool that fails is passed over: when a statement of it fails as
// unavailable (refused, reset, or past its deadline, as on a standby that
// hangs), every read goes to the primary, as without a read pool, until a
// probe of the read pool (every probeEvery, within probeTimeout) answers.
// The read that failed answers ErrUnavailable (503 + Retry-After); the
// next ones do not wait for the standby. Without it, every read-only page
// answered 503 while the standby was down, and each one waited out the
// database timeout while it hung.
const (
	probeEvery   = 500 * time.Millisecond
	probeTimeout = time.Second
)

// passOver marks the read pool down after err, and starts its probe.
func (c *cluster) passOver(err error) {
	c.downMu.Lock()
	c.downWhy = err
	c.downMu.Unlock()
	if c.readDown.CompareAndSwap(false, true) {
		go c.probe()
	}
}

// probe asks the read pool for the newest change every probeEvery until
// it answers, then reads go to it again.
func (c *cluster) probe() {
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		var rev int64
		// Not through oneRow: its failure would pass the pool over again.
		err := c.read.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM changes`).Scan(&rev)
		cancel()
		if err == nil {
			c.readDown.Store(false)
			return
		}
		c.downMu.Lock()
		c.downWhy = unavailable(err)
		c.downMu.Unlock()
	}
}

// stopProbe ends the probe, if one runs (Close).
func (c *cluster) stopProbe() {
	c.stopOnce.Do(func() { close(c.stop) })
}

// ReadPoolDown returns why reads pass the read pool over (its last
// failure), or nil when it is read (or there is none).
func (db *DB) ReadPoolDown() error {
	if db.cl == nil || !db.cl.readDown.Load() {
		return nil
	}
	db.cl.downMu.Lock()
	defer db.cl.downMu.Unlock()
	return db.cl.downWhy
}

// follower is the follower's pool (ForFollower), opened at the first
// call, with the main pool's statement bound: its connections report the
// server they reach as the main pool's do, so a failover it sees first
// counts too.
//
// Its connections keep one plan for each statement (plan_cache_mode
// force_generic_plan): the follower's statements are lookups by key, and
// PostgreSQL planned the catch-up's read of memberships afresh at every
// call, its custom plan estimated cheaper than the generic one for an
// array of unknown length (0.7 ms of planning for 0.07 ms of work, at
// every catch-up of 8 replicas; issue 26). A reload reads through the
// main pool (MainPool), as before.
func (db *DB) follower() *DB {
	db.cl.followOnce.Do(func() {
		cfg := db.cl.cfg.Copy()
		if cfg.RuntimeParams == nil {
			cfg.RuntimeParams = map[string]string{}
		}
		cfg.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
		f := openPostgresPool(cfg, &db.cl.watch)
		f.db.SetMaxOpenConns(followConns)
		f.db.SetMaxIdleConns(followConns)
		f.dsn, f.Timeout = db.dsn, db.Timeout
		db.cl.follow = f
	})
	return db.cl.follow
}

// readHas reports whether the read pool has replayed rev: known from what
// it returned before, else asked (one index lookup).
func (db *DB) readHas(ctx context.Context, rev int64) bool {
	if db.cl.replayed.Load() >= rev {
		return true
	}
	latest, err := db.cl.read.LatestRevision(ctx)
	if err != nil {
		return false
	}
	db.sawReplayed(db.cl.read, latest)
	return latest >= rev
}

// sawReplayed records that r, when it is the read pool, holds rev.
func (db *DB) sawReplayed(r *DB, rev int64) {
	if db.cl == nil || r != db.cl.read {
		return
	}
	for {
		old := db.cl.replayed.Load()
		if rev <= old || db.cl.replayed.CompareAndSwap(old, rev) {
			return
		}
	}
}

// ReplayedRevision returns the newest change the read pool holds (the
// primary's when there is no read pool).
func (db *DB) ReplayedRevision(ctx context.Context) (int64, error) {
	return db.reader(ctx).LatestRevision(ctx)
}

// AwaitReadReplay waits until the read pool has replayed everything the
// primary had written when it was called (its WAL position), polling every
// 20 ms, for at most timeout; true when it has, or when there is no read
// pool. A replica started right after a migration calls it before its
// first load: a standby that has not replayed the migration yet would
// answer "no such column".
func (db *DB) AwaitReadReplay(ctx context.Context, timeout time.Duration) (bool, error) {
	if !db.HasReadPool() {
		return true, nil
	}
	var lsn string
	if err := db.oneRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&lsn); err != nil {
		return false, db.d.mapErr(err)
	}
	deadline := time.Now().Add(timeout)
	for {
		var done bool
		err := db.cl.read.oneRow(ctx, `SELECT COALESCE(pg_last_wal_replay_lsn() >= ?::pg_lsn, true)`, lsn).Scan(&done)
		if err == nil && done {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
