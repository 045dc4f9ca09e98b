package main

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/rosterhq/roster/server/servertest"
)

// postgresBase returns the PostgreSQL server to make test databases on, or
// skips (fails under ROSTER_REQUIRE_POSTGRES=1) when none answers.
func postgresBase(t *testing.T) string {
	t.Helper()
	base := os.Getenv("ROSTER_TEST_DATABASE")
	if !strings.HasPrefix(base, "postgres") {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	db, err := sql.Open("pgx", base)
	if err == nil {
		err = db.Ping()
		db.Close()
	}
	if err != nil {
		if os.Getenv("ROSTER_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PostgreSQL required but unreachable: %v", err)
		}
		t.Skipf("needs PostgreSQL; none reachable (%v)", err)
	}
	return base
}

// TestServe_ThreeReplicasStartedAtOnce: three `roster serve` processes
// started at the same moment on one PostgreSQL database all come up and
// are ready, and each migration is recorded once: on an empty database,
// and on one an older Roster migrated (the rolling upgrade, where the
// replicas find the same migrations pending at once). Without the
// migration lock all but one replica die with a duplicate key or "already
// exists" in the second case, and often in the first.
func TestServe_ThreeReplicasStartedAtOnce(t *testing.T) {
	base := postgresBase(t)
	rosterBinary(t) // built before the clock starts
	files, err := filepath.Glob(filepath.Join("..", "..", "store", "migrations", "postgres", "*.sql"))
	if err != nil || len(files) < 2 {
		t.Fatalf("migrations: %v %v", files, err)
	}
	for _, older := range []bool{false, true} {
		name := "empty database"
		if older {
			name = "older schema"
		}
		t.Run(name, func(t *testing.T) {
			dsn := servertest.NewPostgresDatabase(t, base)
			if older {
				db, err := sql.Open("pgx", dsn)
				if err != nil {
					t.Fatal(err)
				}
				p, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS(filepath.Dir(files[0])))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := p.UpTo(context.Background(), 1); err != nil {
					t.Fatal(err)
				}
				db.Close()
			}
			var ps []*served
			for range 3 {
				ps = append(ps, launchServe(t, "ROSTER_DATABASE="+dsn))
			}
			for i, p := range ps {
				if err := p.waitServing(60 * time.Second); err != nil {
					t.Errorf("replica %d of 3: %v", i+1, err)
					continue
				}
				resp, err := http.Get(p.adminURL + "/readyz")
				if err != nil {
					t.Errorf("replica %d /readyz: %v", i+1, err)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("replica %d /readyz: %d %s", i+1, resp.StatusCode, body)
				}
			}
			db, err := sql.Open("pgx", dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var rows, versions int
			if err := db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&rows, &versions); err != nil {
				t.Fatal(err)
			}
			if rows != len(files) || versions != len(files) {
				t.Errorf("goose_db_version: %d rows for %d versions, want %d of each", rows, versions, len(files))
			}
		})
	}
}
