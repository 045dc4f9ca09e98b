package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/server/servertest"
)

// embeddedVersions lists the dialect's migration files: version and name.
func embeddedVersions(t *testing.T, dialect string) (versions []int64, names []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "store", "migrations", dialect, "*.sql"))
	if err != nil || len(files) < 2 {
		t.Fatalf("migrations: %v %v", files, err)
	}
	for _, f := range files {
		v, name, _ := strings.Cut(strings.TrimSuffix(filepath.Base(f), ".sql"), "_")
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		versions, names = append(versions, n), append(names, name)
	}
	return versions, names
}

// roster migrate status lists every migration, applied or pending;
// roster migrate down --to VERSION says what it would roll back and
// changes nothing without --yes, rolls back with it, and roster migrate
// applies the migrations again. On SQLite and PostgreSQL.
func TestCLI_MigrateStatusAndDown(t *testing.T) {
	backends := []struct{ name, dsn string }{{"sqlite", filepath.Join(t.TempDir(), "m.db")}}
	if base := postgresBase(t); base != "" {
		backends = append(backends, struct{ name, dsn string }{"postgres", servertest.NewPostgresDatabase(t, base)})
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			versions, names := embeddedVersions(t, b.name)
			n := len(versions)
			last, prev := versions[n-1], versions[n-2]
			db := "--database=" + b.dsn
			cli := func(args ...string) (string, error) {
				t.Helper()
				out, errOut, err := runSplit(t, append(args, db)...)
				if errOut != "" {
					t.Logf("stderr: %s", errOut)
				}
				return out, err
			}
			status := func() string {
				t.Helper()
				out, err := cli("migrate", "status")
				if err != nil {
					t.Fatalf("migrate status: %v\n%s", err, out)
				}
				return out
			}
			row := func(i int, state string) *regexp.Regexp {
				at := `\d{4}-\d\d-\d\dT\S+Z`
				if state == "pending" {
					at = "-"
				}
				return regexp.MustCompile(`(?m)^` + strconv.FormatInt(versions[i], 10) + `\s+` + names[i] + `\s+` + state + `\s+` + at + `$`)
			}
			wantRows := func(out string, applied int) {
				t.Helper()
				for i := range n {
					state := "applied"
					if i >= applied {
						state = "pending"
					}
					if !row(i, state).MatchString(out) {
						t.Errorf("status has no row %d %s %s:\n%s", versions[i], names[i], state, out)
					}
				}
				if want := strconv.Itoa(applied) + " applied, " + strconv.Itoa(n-applied) + " pending"; !strings.Contains(out, want) {
					t.Errorf("status does not say %q:\n%s", want, out)
				}
			}

			if b.name == "sqlite" {
				if _, err := cli("migrate", "status"); err == nil || !strings.Contains(err.Error(), "no SQLite database") {
					t.Errorf("status of a missing SQLite file: %v", err)
				}
			}
			if out, err := cli("migrate"); err != nil {
				t.Fatalf("migrate: %v %s", err, out)
			}
			out := status()
			wantRows(out, n)
			if !strings.Contains(out, b.name+" database at version "+strconv.FormatInt(last, 10)) {
				t.Errorf("status does not name the version:\n%s", out)
			}

			// Refused: no --to, a version that is no migration, and
			// without --yes (which says what it would do).
			var ue usageError
			if _, err := cli("migrate", "down"); !errors.As(err, &ue) || !strings.Contains(err.Error(), "--to VERSION") {
				t.Errorf("down without --to: %v", err)
			}
			if _, err := cli("migrate", "down", "--to", strconv.FormatInt(last+1000, 10), "--yes"); !errors.As(err, &ue) || !strings.Contains(err.Error(), "no migration") {
				t.Errorf("down to no migration: %v", err)
			}
			out, err := cli("migrate", "down", "--to", strconv.FormatInt(prev, 10))
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--yes") || !strings.Contains(out, "would roll back") ||
				!strings.Contains(out, names[n-1]) {
				t.Errorf("down without --yes: %v\n%s", err, out)
			}
			wantRows(status(), n) // nothing changed

			out, err = cli("migrate", "down", "--to", strconv.FormatInt(prev, 10), "--yes")
			if err != nil || !strings.Contains(out, fmt.Sprintf("rolled back %05d %s", last, names[n-1])) {
				t.Fatalf("down --yes: %v\n%s", err, out)
			}
			wantRows(status(), n-1)
			if out, err := cli("migrate", "down", "--to", strconv.FormatInt(prev, 10), "--yes"); err != nil || !strings.Contains(out, "nothing to roll back") {
				t.Errorf("down again: %v %s", err, out)
			}

			var doc struct {
				Database        string `json:"database"`
				DatabaseVersion int64  `json:"database_version"`
				Pending         int    `json:"pending"`
				Migrations      []struct {
					Version   int64  `json:"version"`
					Name      string `json:"name"`
					State     string `json:"state"`
					AppliedAt string `json:"applied_at"`
				} `json:"migrations"`
			}
			out, err = cli("migrate", "status", "--json")
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if doc.Database != b.name || doc.DatabaseVersion != prev || doc.Pending != 1 || len(doc.Migrations) != n ||
				doc.Migrations[n-1].State != "pending" || doc.Migrations[n-1].AppliedAt != "" || doc.Migrations[0].State != "applied" || doc.Migrations[0].AppliedAt == "" {
				t.Errorf("status --json: %+v", doc)
			}

			if out, err := cli("migrate"); err != nil {
				t.Fatalf("migrate again: %v %s", err, out)
			}
			wantRows(status(), n)
		})
	}
}
