package store_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/store"
	"github.com/rosterhq/roster/store/storetest"
)

// --- store.go: MigrationStatus, MigrateDown

// embedded lists the dialect's migration files as version and name.
func embedded(t *testing.T, dialect string) []store.Migration {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("migrations", dialect, "*.sql"))
	if err != nil || len(files) < 2 {
		t.Fatalf("migrations of %s: %v %v", dialect, files, err)
	}
	var out []store.Migration
	for _, f := range files {
		v, name, _ := strings.Cut(strings.TrimSuffix(filepath.Base(f), ".sql"), "_")
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, store.Migration{Version: n, Name: name})
	}
	return out
}

// wantStatus checks the status: every embedded migration in order, the
// first applied ones applied (with a time), the rest pending.
func wantStatus(t *testing.T, db *store.DB, files []store.Migration, applied int) {
	t.Helper()
	got, dbVersion, err := db.MigrationStatus(context.Background())
	must(t, err)
	if len(got) != len(files) {
		t.Fatalf("status lists %d migrations, want %d", len(got), len(files))
	}
	for i, m := range got {
		if m.Version != files[i].Version || m.Name != files[i].Name || m.Applied != (i < applied) || m.Applied == m.AppliedAt.IsZero() {
			t.Errorf("status[%d] = %+v, want %d %s applied %v", i, m, files[i].Version, files[i].Name, i < applied)
		}
	}
	want := int64(0)
	if applied > 0 {
		want = files[applied-1].Version
	}
	if dbVersion != want {
		t.Errorf("database version %d, want %d", dbVersion, want)
	}
}

func tableExists(db *store.DB, table string) bool {
	_, err := db.SQL().ExecContext(context.Background(), "SELECT 1 FROM "+table+" WHERE 1 = 0")
	return err == nil
}

// The status lists every embedded migration, applied or pending; a roll
// back to a version runs the Down sections of the newer ones, newest
// first, and Migrate applies them again. Every Down section works: the
// whole schema rolls back to nothing and up again.
func TestConformance_MigrationStatusAndDown(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db, err := store.Open(b.DSN)
			must(t, err)
			defer db.Close()
			files := embedded(t, b.Name)
			last, prev := files[len(files)-1], files[len(files)-2]

			wantStatus(t, db, files, 0) // nothing applied yet
			must(t, db.Migrate(ctx))
			wantStatus(t, db, files, len(files))

			// Back one: the newest migration's tables are gone.
			if !tableExists(db, "passkeys") {
				t.Fatal("no passkeys table after Migrate")
			}
			done, err := db.MigrateDown(ctx, prev.Version)
			must(t, err)
			if len(done) != 1 || done[0].Version != last.Version || done[0].Name != last.Name {
				t.Errorf("MigrateDown(%d) = %+v, want only %d %s", prev.Version, done, last.Version, last.Name)
			}
			wantStatus(t, db, files, len(files)-1)
			if last.Name == "passkeys" && tableExists(db, "passkeys") {
				t.Error("the passkeys table survived its roll back")
			}
			// Nothing above the version: nothing to do.
			done, err = db.MigrateDown(ctx, prev.Version)
			if err != nil || len(done) != 0 {
				t.Errorf("MigrateDown again: %+v %v", done, err)
			}
			must(t, db.Migrate(ctx))
			wantStatus(t, db, files, len(files))
			if !tableExists(db, "passkeys") {
				t.Error("no passkeys table after migrating up again")
			}

			// All the way down and up again.
			done, err = db.MigrateDown(ctx, 0)
			must(t, err)
			if len(done) != len(files) || done[0].Version != last.Version || done[len(done)-1].Version != files[0].Version {
				t.Errorf("MigrateDown(0) rolled back %+v", done)
			}
			wantStatus(t, db, files, 0)
			if tableExists(db, "accounts") {
				t.Error("the accounts table survived the roll back of every migration")
			}
			must(t, db.Migrate(ctx))
			wantStatus(t, db, files, len(files))
			_, acct := fixture(t, db, "owner@acme-corp.example") // the schema works
			if acct.ID == "" {
				t.Error("no account after migrating up again")
			}

			if _, err := db.MigrateDown(ctx, -1); err == nil {
				t.Error("MigrateDown(-1): no error")
			}
			wantStatus(t, db, files, len(files))
		})
	}
}
