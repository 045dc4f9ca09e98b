// Package storetest gives tests real databases of both kinds: a SQLite
// file in the test's temporary folder and a fresh PostgreSQL database,
// dropped when the test ends. Every suite that runs on both databases gets
// them here.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for making test databases

	"github.com/rosterhq/roster/store"
)

// DefaultPostgres is the server tests use when ROSTER_TEST_DATABASE names none.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Backend is one database a suite runs on.
type Backend struct {
	Name string // "sqlite" or "postgres"
	DSN  string
}

// PostgresBase returns the PostgreSQL server tests make their databases
// on (ROSTER_TEST_DATABASE when it names one, else DefaultPostgres) and
// whether it answers. When it does not and ROSTER_REQUIRE_POSTGRES=1 (CI),
// the test fails instead.
func PostgresBase(tb testing.TB) (string, bool) {
	tb.Helper()
	base := os.Getenv("ROSTER_TEST_DATABASE")
	if !strings.HasPrefix(base, "postgres") {
		base = DefaultPostgres
	}
	db, err := sql.Open("pgx", base)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = db.PingContext(ctx)
		cancel()
		db.Close()
	}
	if err != nil {
		if os.Getenv("ROSTER_REQUIRE_POSTGRES") == "1" {
			tb.Fatalf("PostgreSQL required but unreachable at %s: %v", base, err)
		}
		tb.Logf("PostgreSQL unreachable at %s (%v): its half is skipped", base, err)
		return base, false
	}
	return base, true
}

// Backends returns a fresh database of each kind: always SQLite, and
// PostgreSQL when PostgresBase answers.
func Backends(tb testing.TB) []Backend {
	tb.Helper()
	out := []Backend{{"sqlite", filepath.Join(tb.TempDir(), "roster.db")}}
	if base, ok := PostgresBase(tb); ok {
		out = append(out, Backend{"postgres", NewPostgresDatabase(tb, base)})
	}
	return out
}

// Open opens and migrates the database at dsn, closed when tb ends.
func Open(tb testing.TB, dsn string) *store.DB {
	tb.Helper()
	db, err := store.Open(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return db
}

// Each runs f once per backend, as a subtest named after it, on a fresh
// migrated database.
func Each(t *testing.T, f func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, b := range Backends(t) {
		db := Open(t, b.DSN)
		t.Run(b.Name, func(t *testing.T) { f(t, db) })
	}
}

// NewPostgresDatabase creates an empty database on the server named by
// base and returns its DSN; it is dropped when tb ends.
func NewPostgresDatabase(tb testing.TB, base string) string {
	tb.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("open %s: %v", base, err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	rand.Read(b)
	name := "roster_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("parse %s: %v", base, err)
	}
	u.Path = "/" + name
	return u.String()
}
