package loadtest

import (
	"context"
	"os"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/loadtest/seed"
	"github.com/rosterhq/roster/store"
)

func TestE2Seed(t *testing.T) {
	dsn := os.Getenv("E2DSN")
	if dsn == "" {
		t.Skip()
	}
	ctx := context.Background()
	db, err := store.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var a roster.Account
	err = db.Transact(ctx, func(tx *store.Tx) error {
		uid, err := tx.CreateUser(ctx, "owner@acme-corp.com", "Owner", "h", true)
		if err != nil {
			return err
		}
		if a, err = tx.CreateAccount(ctx, "Acme", uid); err != nil {
			return err
		}
		return tx.SetPlan(ctx, a.Seq, roster.PlanCommitted, 1000, 12)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Members(ctx, db, a.ID, 100000); err != nil {
		t.Fatal(err)
	}
	db.SQL().ExecContext(ctx, "ANALYZE")
	t.Log(a.ID, a.Seq)
}
