package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
)

// --- operator.go

func TestConformance_Operator(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := setClock(db, time.Now().UTC().Truncate(time.Microsecond))
		var accts []roster.Account
		for i := range 3 {
			_, a := fixture(t, db, fmt.Sprintf("o%d@x.example", i))
			accts = append(accts, a)
		}
		newMember(t, db, accts[1], "m1@x.example", roster.RoleSupport)
		newMember(t, db, accts[1], "m2@x.example", roster.RoleSupport)

		t.Run("ListAccounts pages in creation order with member counts", func(t *testing.T) {
			all, total, err := db.ListAccounts(ctx, "", 10)
			must(t, err)
			if total != 3 || len(all) != 3 {
				t.Fatalf("ListAccounts = %+v (%d)", all, total)
			}
			for i, s := range all {
				want := map[int]int{0: 1, 1: 3, 2: 1}[i]
				if s.Account != accts[i] || s.Members != want {
					t.Errorf("account %d: %+v, want %+v with %d members", i, s, accts[i], want)
				}
			}
			page, total, err := db.ListAccounts(ctx, accts[0].ID, 1)
			if err != nil || total != 3 || len(page) != 1 || page[0].ID != accts[1].ID {
				t.Errorf("after the first, 1: %+v (%d, %v)", page, total, err)
			}
			if page, _, err := db.ListAccounts(ctx, accts[2].ID, 10); err != nil || len(page) != 0 {
				t.Errorf("after the last: %+v, %v", page, err)
			}
			for _, after := range []string{"MAAAAAAAAAAAAAAAAAAA", "not an id"} {
				if _, _, err := db.ListAccounts(ctx, after, 10); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("ListAccounts(after %q): %v, want ErrNoRows", after, err)
				}
			}
		})

		t.Run("AuditEventsAfter reads one account's log oldest first", func(t *testing.T) {
			a, b := accts[0], accts[1]
			var ats []time.Time
			for i := range 4 {
				c.add(time.Minute)
				ats = append(ats, c.now)
				mustTx(t, db, func(tx *store.Tx) error {
					if err := tx.Audit(ctx, a.Seq, roster.Actor{Email: "operator"}, "account.plan", a.ID, fmt.Sprint(i)); err != nil {
						return err
					}
					return tx.Audit(ctx, b.Seq, roster.Actor{Email: "operator"}, "account.plan", b.ID, fmt.Sprint("b", i))
				})
			}
			details := func(es []roster.AuditEvent) []string {
				var out []string
				for _, e := range es {
					out = append(out, e.Detail)
					if e.AccountID != a.ID {
						t.Errorf("an event of %s in a's export", e.AccountID)
					}
				}
				return out
			}
			es, err := db.AuditEventsAfter(ctx, a, time.Time{}, 0, 100)
			must(t, err)
			if fmt.Sprint(details(es)) != "[0 1 2 3]" || !es[0].At.Equal(ats[0]) || es[0].ActorEmail != "operator" {
				t.Errorf("all of a's events: %+v", es)
			}
			page, _ := db.AuditEventsAfter(ctx, a, time.Time{}, es[0].ID, 2)
			if fmt.Sprint(details(page)) != "[1 2]" {
				t.Errorf("after the first, 2: %v", details(page))
			}
			since, _ := db.AuditEventsAfter(ctx, a, ats[2], 0, 100)
			if fmt.Sprint(details(since)) != "[2 3]" {
				t.Errorf("since the third: %v", details(since))
			}
			if none, err := db.AuditEventsAfter(ctx, a, time.Time{}, es[3].ID, 100); err != nil || len(none) != 0 {
				t.Errorf("after the last: %v, %v", none, err)
			}
			// Tenant: a's export holds none of b's events, and an ID of b's
			// is only a position.
			bs, _ := db.AuditEventsAfter(ctx, b, time.Time{}, 0, 100)
			if len(bs) != 4 || bs[0].Detail != "b0" {
				t.Errorf("b's events: %+v", bs)
			}
			if got, _ := db.AuditEventsAfter(ctx, a, time.Time{}, bs[1].ID, 100); fmt.Sprint(details(got)) != "[2 3]" {
				t.Errorf("a's events after b's second: %v", details(got))
			}
			if none, _ := db.AuditEventsAfter(ctx, accts[2], time.Time{}, 0, 100); len(none) != 0 {
				t.Errorf("a third account's export: %+v", none)
			}
		})
	})
}
