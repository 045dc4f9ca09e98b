// Package loadtest measures Roster against references in the same run: a
// `go test -bench` suite whose every benchmark runs one bounded
// measurement (fixed time windows or fixed request counts, whatever b.N
// is) and reports its figures and ratios with b.ReportMetric.
//
//	go test -run XXX -bench . -benchtime 1x ./loadtest
//
// Everything runs on the machine at hand (servers, clients and the
// references share its cores), so the figures are for that machine; each
// benchmark logs runtime.NumCPU. Each also reports other_cpu: the share of
// the machine's CPU time that other processes used during its measurement
// (from /proc/stat less this process's own and its children's). On a
// shared machine a figure taken beside someone's build or benchmark is not
// Roster's alone: read it with that share, and compare with the reference
// measured in the same run.
//
// BenchmarkColdStart caches its generated databases (SQLite in
// os.TempDir(), PostgreSQL as roster_coldstart_<members>); -loadtest.regen,
// given after the package, makes them again (and logs how long that took);
// -loadtest.members sets the scale (loadtest/scale.sh: issue 26's figures):
//
//	go test -run XXX -bench ColdStart/ -benchtime 1x ./loadtest -loadtest.regen
//
// This file holds the one piece of shared non-test code: Generate and
// GeneratePostgres, which write a large database for the cold-start
// benchmark.
package loadtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/rosterhq/roster/store"
)

// Generated data: what Generate writes, so that callers can name real
// memberships and their expected answers.
const (
	// GenPassword is every generated user's password_hash (no one logs in).
	GenPassword = "loadtest-not-a-password-hash"
	// GenBaseMicros is the generated rows' created_at / joined_at origin
	// (2025-01-01T00:00:00Z in unix microseconds).
	GenBaseMicros = int64(1735689600) * 1e6
)

// GenEmail is the address of generated user id (1-based).
func GenEmail(userID int64) string { return fmt.Sprintf("user%08d@loadtest-corp.com", userID) }

// GenRole is the role (1 owner .. 5 support) of the member at position
// i (0-based) of its account: the first is the owner, the others cycle
// through admin, developer, finance analyst and support.
func GenRole(i int) int {
	if i == 0 {
		return 1
	}
	return 2 + (i-1)%4
}

// GenUserID is the user ID of the member at position i of account seq
// (1-based): users are numbered account by account.
func GenUserID(seq int64, perAccount, i int) int64 {
	return (seq-1)*int64(perAccount) + int64(i) + 1
}

const authIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// genBatch is how many rows one multi-row INSERT carries.
const genBatch = 200

// genChunk is how many users (and members) one generating statement makes.
const genChunk = 1_000_000

// Generate creates a migrated SQLite database at path (which must not
// exist) holding accounts accounts on the committed plan (1000 USD a month,
// 12 months), each with perAccount members (the first the owner, then roles
// 2..5 in turn), every member a distinct verified user with a unique
// e-mail address: accounts*perAccount memberships. Accounts get IDs
// 1..accounts and Auth IDs "MA" + 18 characters of [A-Z0-9] drawn from a
// fixed seed (the same every run, all distinct); users get IDs
// 1..accounts*perAccount, account by account (GenUserID).
//
// Everything is written in one transaction through prepared multi-row
// INSERT statements on one connection. On failure the file is removed.
func Generate(path string, accounts, perAccount int) (err error) {
	if accounts < 1 || perAccount < 1 {
		return fmt.Errorf("loadtest: generate %d accounts x %d members: both must be at least 1", accounts, perAccount)
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("loadtest: generate: %s already exists", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	defer func() {
		if err != nil {
			for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
				os.Remove(path + suffix)
			}
		}
	}()
	ctx := context.Background()
	db, err := store.Open(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// A throwaway file: no fsync until the end, and a cache big enough
	// for the indexes being appended to.
	for _, p := range []string{"PRAGMA synchronous = OFF", "PRAGMA cache_size = -262144", "PRAGMA temp_store = MEMORY"} {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			return fmt.Errorf("loadtest: %s: %w", p, err)
		}
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	// Accounts.
	authID := genAuthIDs(accounts, perAccount)
	accIns := newBatchInsert(tx, `INSERT INTO accounts (id, auth_id, name, plan, monthly_commitment_usd, contract_months, created_at) VALUES `,
		`(?, ?, ?, 'committed', 1000, 12, ?)`, 4)
	for seq := int64(1); seq <= int64(accounts); seq++ {
		if err := accIns.add(ctx, seq, authID(), fmt.Sprintf("Load Test %d", seq), GenBaseMicros+seq); err != nil {
			return fmt.Errorf("loadtest: insert account %d: %w", seq, err)
		}
	}
	if err := accIns.flush(ctx); err != nil {
		return fmt.Errorf("loadtest: insert accounts: %w", err)
	}

	// Users, then members, in key order so every index is appended to,
	// made by the database itself (a recursive count, a million rows a
	// statement): ten million rows take minutes through placeholders.
	n := int64(accounts) * int64(perAccount)
	for from := int64(1); from <= n; from += genChunk {
		to := min(n, from+genChunk-1)
		if _, err := tx.ExecContext(ctx, `WITH RECURSIVE s(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM s WHERE i < ?)
			INSERT INTO users (id, email, name, password_hash, verified_at, created_at)
			SELECT i, printf('user%08d@loadtest-corp.com', i), 'User ' || i, ?, ? + i, ? + i FROM s`,
			from, to, GenPassword, GenBaseMicros, GenBaseMicros); err != nil {
			return fmt.Errorf("loadtest: insert users %d..%d: %w", from, to, err)
		}
		if _, err := tx.ExecContext(ctx, `WITH RECURSIVE s(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM s WHERE i < ?)
			INSERT INTO members (account_id, user_id, role, joined_at, name_key, search_key)
			SELECT (i - 1) / ? + 1, i, CASE WHEN (i - 1) % ? = 0 THEN 1 ELSE 2 + ((i - 1) % ? - 1) % 4 END, ? + i,
				'user ' || i, 'user ' || i || char(31) || printf('user%08d@loadtest-corp.com', i) FROM s`,
			from, to, perAccount, perAccount, perAccount, GenBaseMicros); err != nil {
			return fmt.Errorf("loadtest: insert members %d..%d: %w", from, to, err)
		}
	}
	accIns.close()
	if err := tx.Commit(); err != nil {
		return err
	}
	// Leave one self-contained file: the WAL folded into it and emptied.
	if _, err := conn.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("loadtest: checkpoint: %w", err)
	}
	return nil
}

// genAuthIDs returns a function that returns the Auth IDs of the
// generated accounts in turn: "MA" + 18 characters of [A-Z0-9] drawn from
// a seed fixed by the data's shape, all distinct.
func genAuthIDs(accounts, perAccount int) func() string {
	rng := rand.New(rand.NewPCG(20250101, uint64(accounts)*1_000_003+uint64(perAccount)))
	seen := make(map[string]struct{}, accounts)
	return func() string {
		var b [20]byte
		b[0], b[1] = 'M', 'A'
		for {
			for i := 2; i < len(b); i++ {
				b[i] = authIDAlphabet[rng.IntN(len(authIDAlphabet))]
			}
			if _, dup := seen[string(b[:])]; !dup {
				s := string(b[:])
				seen[s] = struct{}{}
				return s
			}
		}
	}
}

// batchInsert sends rows genBatch at a time through one prepared
// multi-row INSERT (and the remainder through a statement prepared for it).
type batchInsert struct {
	tx     *sql.Tx
	head   string // "INSERT INTO t (...) VALUES "
	tuple  string // "(?, ?, ...)"
	width  int    // values per row
	full   *sql.Stmt
	others []*sql.Stmt
	args   []any
}

func newBatchInsert(tx *sql.Tx, head, tuple string, width int) *batchInsert {
	return &batchInsert{tx: tx, head: head, tuple: tuple, width: width, args: make([]any, 0, genBatch*width)}
}

func (b *batchInsert) prepare(ctx context.Context, rows int) (*sql.Stmt, error) {
	q := b.head + strings.TrimSuffix(strings.Repeat(b.tuple+",", rows), ",")
	st, err := b.tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if rows != genBatch {
		b.others = append(b.others, st)
	}
	return st, nil
}

func (b *batchInsert) add(ctx context.Context, row ...any) error {
	b.args = append(b.args, row...)
	if len(b.args) < genBatch*b.width {
		return nil
	}
	if b.full == nil {
		st, err := b.prepare(ctx, genBatch)
		if err != nil {
			return err
		}
		b.full = st
	}
	_, err := b.full.ExecContext(ctx, b.args...)
	b.args = b.args[:0]
	return err
}

func (b *batchInsert) flush(ctx context.Context) error {
	if len(b.args) == 0 {
		return nil
	}
	st, err := b.prepare(ctx, len(b.args)/b.width)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, b.args...)
	b.args = b.args[:0]
	return err
}

func (b *batchInsert) close() {
	if b.full != nil {
		b.full.Close()
	}
	for _, st := range b.others {
		st.Close()
	}
}

// GenCounts returns how many accounts and members the SQLite database at
// path holds, for deciding whether a cached generated file is complete. It
// opens the file as Roster does (store.Open) without migrating or
// writing.
func GenCounts(path string) (accounts, members int64, err error) {
	if _, err := os.Stat(path); err != nil {
		return 0, 0, err
	}
	db, err := store.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts`).Scan(&accounts); err != nil {
		return 0, 0, err
	}
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM members`).Scan(&members); err != nil {
		return 0, 0, err
	}
	return accounts, members, nil
}

// GeneratePostgres writes the data of Generate into the migrated, empty
// PostgreSQL database at dsn (a postgres:// URL): the same accounts (with
// the same Auth IDs), users and members, with the same IDs. The accounts
// go in as arrays, 100,000 a statement; users and members are made by
// the server (generate_series), a million a statement; then the identity
// sequences are moved past them and the tables analyzed. Everything is one
// transaction, so a failure leaves the database empty.
func GeneratePostgres(dsn string, accounts, perAccount int) (err error) {
	if accounts < 1 || perAccount < 1 {
		return fmt.Errorf("loadtest: generate %d accounts x %d members: both must be at least 1", accounts, perAccount)
	}
	ctx := context.Background()
	db, err := store.Open(dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if db.Dialect() != "postgres" {
		return fmt.Errorf("loadtest: GeneratePostgres: %s is not a PostgreSQL URL", dsn)
	}
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var existing int64
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM accounts) + (SELECT COUNT(*) FROM users)`).Scan(&existing); err != nil {
		return err
	}
	if existing != 0 {
		return fmt.Errorf("loadtest: GeneratePostgres: the database already holds %d accounts and users", existing)
	}
	if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
		return err
	}
	authID := genAuthIDs(accounts, perAccount)
	const accChunk = 100_000
	for from := 1; from <= accounts; from += accChunk {
		to := min(accounts, from+accChunk-1)
		ids := make([]string, 0, to-from+1)
		for range to - from + 1 {
			ids = append(ids, authID())
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, auth_id, name, plan, monthly_commitment_usd, contract_months, created_at)
			OVERRIDING SYSTEM VALUE
			SELECT $1::bigint + t.n - 1, t.auth_id, 'Load Test ' || ($1::bigint + t.n - 1), 'committed', 1000, 12, $2::bigint + $1::bigint + t.n - 1
			FROM unnest($3::text[]) WITH ORDINALITY AS t(auth_id, n)`, from, GenBaseMicros, ids); err != nil {
			return fmt.Errorf("loadtest: insert accounts %d..%d: %w", from, to, err)
		}
	}
	n := int64(accounts) * int64(perAccount)
	for from := int64(1); from <= n; from += genChunk {
		to := min(n, from+genChunk-1)
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash, verified_at, created_at)
			OVERRIDING SYSTEM VALUE
			SELECT i, 'user' || lpad(i::text, 8, '0') || '@loadtest-corp.com', 'User ' || i, $1, $2::bigint + i, $2::bigint + i
			FROM generate_series($3::bigint, $4::bigint) AS i`, GenPassword, GenBaseMicros, from, to); err != nil {
			return fmt.Errorf("loadtest: insert users %d..%d: %w", from, to, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO members (account_id, user_id, role, joined_at, name_key, search_key)
			SELECT (i - 1) / $1 + 1, i, CASE WHEN (i - 1) % $1 = 0 THEN 1 ELSE 2 + ((i - 1) % $1 - 1) % 4 END, $2::bigint + i,
				'user ' || i, 'user ' || i || chr(31) || 'user' || lpad(i::text, 8, '0') || '@loadtest-corp.com'
			FROM generate_series($3::bigint, $4::bigint) AS i`, int64(perAccount), GenBaseMicros, from, to); err != nil {
			return fmt.Errorf("loadtest: insert members %d..%d: %w", from, to, err)
		}
	}
	for _, t := range []string{"accounts", "users"} {
		if _, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('`+t+`', 'id'), (SELECT MAX(id) FROM `+t+`))`); err != nil {
			return fmt.Errorf("loadtest: move the %s sequence: %w", t, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = db.SQL().ExecContext(ctx, `ANALYZE`)
	return err
}
