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

// --- accounts.go

func TestConformance_Accounts(t *testing.T) {
	t.Parallel()
	t.Run("NewAuthID", func(t *testing.T) {
		seen := map[string]bool{}
		for range 1000 {
			id := store.NewAuthID()
			if !roster.ValidAuthID(id) {
				t.Fatalf("NewAuthID() = %q: not an Auth ID", id)
			}
			if seen[id] {
				t.Fatalf("NewAuthID() repeated %q", id)
			}
			seen[id] = true
		}
	})
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := setClock(db, time.Now().UTC().Truncate(time.Microsecond))

		var owner int64
		var a roster.Account
		t.Run("CreateAccount makes the owner and records both changes", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				if owner, err = tx.CreateUser(ctx, "owner@x.example", "O", "h", true); err != nil {
					return err
				}
				if a, err = tx.CreateAccount(ctx, "Acme", owner); err != nil {
					return err
				}
				if a.Seq == 0 || !roster.ValidAuthID(a.ID) || a.Name != "Acme" || a.Plan != roster.PlanStandard || !a.CreatedAt.Equal(tx.Now()) {
					t.Errorf("CreateAccount = %+v", a)
				}
				role, err := tx.MemberRole(ctx, a.Seq, owner)
				if err != nil || role != roster.RoleOwner {
					t.Errorf("owner's role %v, %v", role, err)
				}
				if tx.Revision() == 0 {
					t.Error("no change recorded")
				}
				return nil
			})
			cs, err := db.ChangesSince(ctx, 0, 100)
			must(t, err)
			want := fmt.Sprint([]store.Change{{AccountSeq: a.Seq}, {AccountSeq: a.Seq, UserID: owner}})
			for i := range cs {
				cs[i] = store.Change{AccountSeq: cs[i].AccountSeq, UserID: cs[i].UserID} // which change, not what it came with
			}
			if fmt.Sprint(cs) != want {
				t.Errorf("changes %v, want %v", cs, want)
			}
		})

		t.Run("CreateAccount for no user writes nothing", func(t *testing.T) {
			_, before, err := db.ListAccounts(ctx, "", 1)
			must(t, err)
			err = db.Transact(ctx, func(tx *store.Tx) error { _, err := tx.CreateAccount(ctx, "Nobody's", 999999); return err })
			if err == nil {
				t.Error("an account with an owner who does not exist")
			}
			_, after, err := db.ListAccounts(ctx, "", 1)
			must(t, err)
			if after != before {
				t.Errorf("accounts %d then %d", before, after)
			}
		})

		t.Run("Account reads back on the pool and in a transaction", func(t *testing.T) {
			got, err := db.Account(ctx, a.ID)
			if err != nil || got != a {
				t.Errorf("DB.Account = %+v, %v; want %+v", got, err, a)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				got, err := tx.Account(ctx, a.ID)
				if err != nil || got != a {
					t.Errorf("Tx.Account = %+v, %v; want %+v", got, err, a)
				}
				return nil
			})
			for _, id := range []string{"", "x", "MA\x00AAAAAAAAAAAAAAAAA", "ma" + a.ID[2:], "MAAAAAAAAAAAAAAAAAAA"} {
				if _, err := db.Account(ctx, id); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("DB.Account(%q): %v, want ErrNoRows", id, err)
				}
				err := db.Transact(ctx, func(tx *store.Tx) error { _, err := tx.Account(ctx, id); return err })
				if !errors.Is(err, store.ErrNoRows) {
					t.Errorf("Tx.Account(%q): %v, want ErrNoRows", id, err)
				}
			}
		})

		t.Run("SetPlan sets the plan and records the change", func(t *testing.T) {
			var rev int64
			mustTx(t, db, func(tx *store.Tx) error {
				err := tx.SetPlan(ctx, a.Seq, roster.PlanCommitted, 900, 24)
				rev = tx.Revision()
				return err
			})
			got, err := db.Account(ctx, a.ID)
			must(t, err)
			if got.Plan != roster.PlanCommitted || got.MonthlyCommitmentUSD != 900 || got.ContractMonths != 24 {
				t.Errorf("after SetPlan: %+v", got)
			}
			cs, err := db.ChangesSince(ctx, rev-1, 10)
			must(t, err)
			if len(cs) != 1 || cs[0].Rev != rev || cs[0].AccountSeq != a.Seq || cs[0].UserID != 0 || cs[0].Gone || cs[0].Keys != nil {
				t.Errorf("change %v, want the account's at %d", cs, rev)
			}
			err = db.Transact(ctx, func(tx *store.Tx) error { return tx.SetPlan(ctx, 999999, roster.PlanStandard, 0, 0) })
			if !errors.Is(err, store.ErrNoRows) {
				t.Errorf("SetPlan of no account: %v, want ErrNoRows", err)
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.SetPlan(ctx, a.Seq, roster.PlanStandard, 0, 0) })
			a, _ = db.Account(ctx, a.ID)
		})

		t.Run("SetAccountName renames", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error { return tx.SetAccountName(ctx, a.Seq, "Acme Ltd") })
			got, err := db.Account(ctx, a.ID)
			must(t, err)
			if got.Name != "Acme Ltd" {
				t.Errorf("name %q", got.Name)
			}
			a = got
		})

		t.Run("Memberships lists the user's accounts in join order", func(t *testing.T) {
			c.add(time.Second)
			_, b := fixture(t, db, "b-owner@x.example")
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.AddMember(ctx, b.Seq, owner, roster.RoleDeveloper); err != nil {
					return err
				}
				return tx.SetDefaultAccount(ctx, owner, b.Seq)
			})
			ms, total, err := db.Memberships(ctx, owner, roster.Page{Limit: 10})
			must(t, err)
			if total != 2 || len(ms) != 2 {
				t.Fatalf("memberships %+v, total %d", ms, total)
			}
			if ms[0].Account.ID != a.ID || ms[0].Role != roster.RoleOwner || ms[0].Status != roster.MemberActive || ms[0].IsDefault {
				t.Errorf("first %+v", ms[0])
			}
			if ms[0].Account.Name != a.Name || ms[0].Account.Seq != a.Seq || !ms[0].Account.CreatedAt.Equal(a.CreatedAt) {
				t.Errorf("first's account %+v, want %+v", ms[0].Account, a)
			}
			if ms[1].Account.ID != b.ID || ms[1].Role != roster.RoleDeveloper || ms[1].Status != roster.MemberSuspended || !ms[1].IsDefault {
				t.Errorf("second %+v", ms[1])
			}
			page, total, err := db.Memberships(ctx, owner, roster.Page{Limit: 1, Offset: 1})
			if err != nil || total != 2 || len(page) != 1 || page[0].Account.ID != b.ID {
				t.Errorf("second page %+v, %d, %v", page, total, err)
			}
			committed(t, db, b)
			ms, _, _ = db.Memberships(ctx, owner, roster.Page{Limit: 10})
			if len(ms) != 2 || ms[1].Status != roster.MemberActive || ms[1].Account.Plan != roster.PlanCommitted || ms[1].Account.MonthlyCommitmentUSD != 1000 {
				t.Errorf("on the committed plan: %+v", ms)
			}
			if ms, total, err := db.Memberships(ctx, 999999, roster.Page{Limit: 10}); err != nil || total != 0 || len(ms) != 0 {
				t.Errorf("no user's memberships: %v %d %v", ms, total, err)
			}
		})

		t.Run("LoadIndex sees every account and membership", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.SetRequireMFA(ctx, a.Seq, true); err != nil {
					return err
				}
				if err := tx.SetTOTPSecret(ctx, owner, "JBSWY3DPEHPK3PXP"); err != nil {
					return err
				}
				return tx.ConfirmTOTP(ctx, owner)
			})
			accounts := map[int64]store.AccountFlags{}
			var rows []store.IndexRow
			must(t, db.LoadIndex(ctx, func(seq int64, f store.AccountFlags) { accounts[seq] = f }, func(r store.IndexRow) { rows = append(rows, r) }))
			if f := accounts[a.Seq]; f != (store.AccountFlags{AuthID: a.ID, RequireMFA: true}) {
				t.Errorf("account a: %+v", f)
			}
			all, total, err := db.ListAccounts(ctx, "", 100)
			must(t, err)
			if len(accounts) != total {
				t.Errorf("%d accounts loaded of %d", len(accounts), total)
			}
			members := 0
			for _, s := range all {
				members += s.Members
				want := store.AccountFlags{AuthID: s.ID, Committed: s.Plan == roster.PlanCommitted, RequireMFA: s.RequireMFA}
				if accounts[s.Seq] != want {
					t.Errorf("account %s: %+v, want %+v", s.ID, accounts[s.Seq], want)
				}
			}
			if len(rows) != members {
				t.Errorf("%d memberships loaded, want %d", len(rows), members)
			}
			// The parts a start reads in parallel: the accounts, what few
			// members hold, and the members of each of the ranges, which
			// split the whole without overlap; each row as MemberIndexRow
			// reads it.
			n := 0
			must(t, db.LoadIndexAccounts(ctx, func(seq int64, f store.AccountFlags) {
				n++
				if f != accounts[seq] {
					t.Errorf("LoadIndexAccounts %d: %+v, want %+v", seq, f, accounts[seq])
				}
			}))
			if n != len(accounts) {
				t.Errorf("LoadIndexAccounts: %d accounts, want %d", n, len(accounts))
			}
			sparse, err := db.LoadIndexSparse(ctx)
			must(t, err)
			for parts := 1; parts <= 4; parts++ {
				ranges, err := db.IndexRanges(ctx, parts)
				must(t, err)
				if len(ranges) < 1 || len(ranges) > parts {
					t.Errorf("IndexRanges(%d): %d ranges", parts, len(ranges))
				}
				seen := map[store.MemberPair]int{}
				for _, r := range ranges {
					must(t, db.LoadIndexMembers(ctx, r, sparse, func(row store.IndexRow) {
						seen[store.MemberPair{AccountSeq: row.AccountSeq, UserID: row.UserID}]++
						if want, err := db.MemberIndexRow(ctx, row.AccountSeq, row.UserID); err != nil || want != row {
							t.Errorf("LoadIndexMembers read %+v, MemberIndexRow %+v (%v)", row, want, err)
						}
					}))
				}
				if len(seen) != len(rows) {
					t.Errorf("%d ranges: %d memberships, want %d", len(ranges), len(seen), len(rows))
				}
				for p, k := range seen {
					if k != 1 {
						t.Errorf("%d ranges: %+v read %d times", len(ranges), p, k)
					}
				}
			}
			found := 0
			for _, r := range rows {
				if r.UserID == owner {
					found++
					if !r.MFA {
						t.Errorf("owner without two-factor: %+v", r)
					}
					if (r.AccountSeq == a.Seq) != (r.Role == roster.RoleOwner) {
						t.Errorf("owner's row %+v", r)
					}
				}
			}
			if found != 2 {
				t.Errorf("owner in %d rows, want 2", found)
			}
		})

		t.Run("OwnerEmail is the owner's address, not another member's", func(t *testing.T) {
			newMember(t, db, a, "admin@x.example", roster.RoleAdmin)
			if got, err := db.OwnerEmail(ctx, a.Seq); err != nil || got != "owner@x.example" {
				t.Errorf("DB.OwnerEmail = %q, %v", got, err)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				if got, err := tx.OwnerEmail(ctx, a.Seq); err != nil || got != "owner@x.example" {
					t.Errorf("Tx.OwnerEmail = %q, %v", got, err)
				}
				return nil
			})
			if _, err := db.OwnerEmail(ctx, 999999); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("DB.OwnerEmail of no account: %v, want ErrNoRows", err)
			}
			err := db.Transact(ctx, func(tx *store.Tx) error { _, err := tx.OwnerEmail(ctx, 999999); return err })
			if !errors.Is(err, store.ErrNoRows) {
				t.Errorf("Tx.OwnerEmail of no account: %v, want ErrNoRows", err)
			}
		})

		t.Run("tenant", func(t *testing.T) {
			_, b := fixture(t, db, "tenant-b@x.example")
			// SetPlan and SetAccountName name the account they change:
			// changing b leaves a as it was.
			before, _ := db.Account(ctx, a.ID)
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.SetAccountName(ctx, b.Seq, "B renamed"); err != nil {
					return err
				}
				return tx.SetPlan(ctx, b.Seq, roster.PlanCommitted, 800, 12)
			})
			if after, _ := db.Account(ctx, a.ID); after != before {
				t.Errorf("account a changed by b's writes: %+v -> %+v", before, after)
			}
			err := db.Transact(ctx, func(tx *store.Tx) error { return tx.SetAccountName(ctx, 999999, "ghost") })
			if err != nil {
				t.Errorf("SetAccountName of no account: %v", err)
			}
			// Each account answers with its own owner, also once a's owner
			// is a member of b.
			if got, err := db.OwnerEmail(ctx, b.Seq); err != nil || got != "tenant-b@x.example" {
				t.Errorf("DB.OwnerEmail(b) = %q, %v", got, err)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.AddMember(ctx, b.Seq, owner, roster.RoleAdmin); err != nil {
					return err
				}
				if got, err := tx.OwnerEmail(ctx, b.Seq); err != nil || got != "tenant-b@x.example" {
					t.Errorf("Tx.OwnerEmail(b) with a's owner as b's admin = %q, %v", got, err)
				}
				return nil
			})
			if got, err := db.OwnerEmail(ctx, b.Seq); err != nil || got != "tenant-b@x.example" {
				t.Errorf("DB.OwnerEmail(b) with a's owner as b's admin = %q, %v", got, err)
			}
		})
	})
}
