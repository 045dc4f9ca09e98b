package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
)

// --- sso_signin.go

func TestConformance_AccountBySeq(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var made roster.Account
		mustTx(t, db, func(tx *store.Tx) error {
			owner, err := tx.CreateUser(ctx, "owner@seq.example", "O", "h", true)
			if err != nil {
				return err
			}
			made, err = tx.CreateAccount(ctx, "Seq", owner)
			return err
		})
		mustTx(t, db, func(tx *store.Tx) error {
			got, err := tx.AccountBySeq(ctx, made.Seq)
			if err != nil || got.ID != made.ID || got.Name != "Seq" || got.Plan != roster.PlanStandard {
				t.Errorf("AccountBySeq = %+v, %v; want %+v", got, err, made)
			}
			if _, err := tx.AccountBySeq(ctx, made.Seq+1000); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("AccountBySeq of nothing = %v, want ErrNoRows", err)
			}
			return nil
		})
	})
}
