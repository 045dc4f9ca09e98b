package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/rosterhq/roster/server/servertest"
	"github.com/rosterhq/roster/store"
	"github.com/rosterhq/roster/store/storetest"
)

// postgresBase returns the PostgreSQL server the tests make databases on,
// or skips (fails under ROSTER_REQUIRE_POSTGRES=1) when none answers.
func postgresBase(t *testing.T) string {
	t.Helper()
	base, ok := storetest.PostgresBase(t)
	if !ok {
		t.Skip("PostgreSQL unreachable")
	}
	return base
}

// TestMigrate_ReplicasStartedAtOnceOnPostgres: several replicas (each its
// own pool, as separate processes have) migrating one PostgreSQL database
// at the same moment all succeed, and every migration is applied exactly
// once: on an empty database, and on one an older Roster migrated (the
// rolling upgrade: goose's version table is there, later migrations are
// pending). Without goose's session lock the replicas run the same
// migration at once and all but one fail with a duplicate key or "already
// exists" (the rolling upgrade fails that way every time).
func TestMigrate_ReplicasStartedAtOnceOnPostgres(t *testing.T) {
	base := postgresBase(t)
	files, err := filepath.Glob(filepath.Join("migrations", "postgres", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations found: %v", err)
	}
	const rounds, replicas = 2, 4
	for round := range rounds {
		dsn := servertest.NewPostgresDatabase(t, base)
		older := round%2 == 1
		if older {
			migrateTo(t, dsn, 1)
		}
		dbs := make([]*store.DB, replicas)
		for i := range dbs {
			db, err := store.Open(dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			dbs[i] = db
		}
		// Every replica is connected before any starts: they start together.
		var start, done sync.WaitGroup
		start.Add(1)
		errs := make([]error, replicas)
		for i, db := range dbs {
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait()
				errs[i] = db.Migrate(context.Background())
			}()
		}
		start.Done()
		done.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d (older schema: %v), replica %d of %d: %v", round+1, older, i+1, replicas, err)
			}
		}
		// Applied once each: one row per version in goose's table, the
		// newest version is the last file's, and the schema is there.
		var rows, versions, newest int
		err := dbs[0].SQL().QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version_id), MAX(version_id)
			FROM goose_db_version WHERE version_id > 0`).Scan(&rows, &versions, &newest)
		if err != nil {
			t.Fatalf("round %d: read goose_db_version: %v", round+1, err)
		}
		if rows != len(files) || versions != len(files) || newest != lastVersion(t, files) {
			t.Errorf("round %d: goose_db_version has %d rows, %d versions, newest %d; want %d, %d, %d",
				round+1, rows, versions, newest, len(files), len(files), lastVersion(t, files))
		}
		if n := count(t, dbs[0], "accounts"); n != 0 {
			t.Errorf("round %d: accounts has %d rows in a fresh database", round+1, n)
		}
	}
}

// migrateTo migrates dsn up to version alone, as an older Roster would
// have left it.
func migrateTo(t *testing.T, dsn string, version int64) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS(filepath.Join("migrations", "postgres")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(context.Background(), version); err != nil {
		t.Fatalf("migrate to %d: %v", version, err)
	}
}

func lastVersion(t *testing.T, files []string) int {
	t.Helper()
	last := 0
	for _, f := range files {
		var v int
		name := filepath.Base(f)
		for _, c := range name {
			if c < '0' || c > '9' {
				break
			}
			v = v*10 + int(c-'0')
		}
		last = max(last, v)
	}
	return last
}
