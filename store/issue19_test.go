package store_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
	"github.com/rosterhq/roster/store/storetest"
)

// A number two accounts held before migration 00009 stays with the account
// that added it first; the later copy is released and the release written
// to that account's audit log. From then on the schema refuses a second
// holder, and the error says which constraint held.
func TestStore_NumberBelongsToOneAccount(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db, err := store.Open(b.DSN)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			dialect := goose.DialectSQLite3
			if b.Name == "postgres" {
				dialect = goose.DialectPostgres
			}
			p, err := goose.NewProvider(dialect, db.SQL(), os.DirFS("migrations/"+b.Name))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(ctx, 7); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{
				`INSERT INTO accounts (auth_id, name, plan, created_at) VALUES ('MA000000000000000001', 'First', 'standard', 1)`,
				`INSERT INTO accounts (auth_id, name, plan, created_at) VALUES ('MA000000000000000002', 'Second', 'standard', 1)`,
				`INSERT INTO numbers (account_id, number, alias, created_at) SELECT id, '+14155550100', 'kept', 100 FROM accounts WHERE auth_id = 'MA000000000000000001'`,
				`INSERT INTO numbers (account_id, number, alias, created_at) SELECT id, '+14155550100', 'released', 200 FROM accounts WHERE auth_id = 'MA000000000000000002'`,
				`INSERT INTO numbers (account_id, number, alias, created_at) SELECT id, '+14155550199', 'alone', 300 FROM accounts WHERE auth_id = 'MA000000000000000002'`,
			} {
				if _, err := db.SQL().ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			first, err := db.Account(ctx, "MA000000000000000001")
			if err != nil {
				t.Fatal(err)
			}
			second, err := db.Account(ctx, "MA000000000000000002")
			if err != nil {
				t.Fatal(err)
			}
			if ns, _, err := db.Numbers(ctx, first.Seq, "", roster.Page{Limit: 10}); err != nil || len(ns) != 1 || ns[0].Alias != "kept" {
				t.Errorf("first account's numbers: %+v %v", ns, err)
			}
			if ns, _, err := db.Numbers(ctx, second.Seq, "", roster.Page{Limit: 10}); err != nil || len(ns) != 1 || ns[0].Number != "+14155550199" {
				t.Errorf("second account's numbers: %+v %v", ns, err)
			}
			evs, _, err := db.AuditEvents(ctx, second, roster.AuditFilter{Action: "number.release"}, roster.Page{Limit: 10})
			if err != nil || len(evs) != 1 || evs[0].Target != "+14155550100" {
				t.Errorf("the release is not in the second account's audit log: %+v %v", evs, err)
			}
			if evs, _, _ := db.AuditEvents(ctx, first, roster.AuditFilter{}, roster.Page{Limit: 10}); len(evs) != 0 {
				t.Errorf("the first account's audit log: %+v", evs)
			}

			add := func(a roster.Account, number string) error {
				return db.Transact(ctx, func(tx *store.Tx) error {
					return tx.AddNumber(ctx, a.Seq, roster.Number{Number: number})
				})
			}
			if err := add(second, "+14155550100"); !errors.Is(err, store.ErrUnique) {
				t.Errorf("another account's number: %v, want ErrUnique", err)
			}
			if err := add(first, "+14155550100"); !errors.Is(err, store.ErrHeldHere) {
				t.Errorf("the account's own number again: %v, want ErrHeldHere", err)
			}
			if err := add(first, "+14155550101"); err != nil {
				t.Errorf("a free number: %v", err)
			}
		})
	}
}
