package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rosterhq/roster/store"
)

// --- retention.go (Prune's rules are tested in detail in retention_test.go)

func TestConformance_Retention(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := setClock(db, time.Now().UTC().Truncate(time.Microsecond))

		t.Run("OldestRevision follows what Prune keeps of the change log", func(t *testing.T) {
			if rev, err := db.OldestRevision(ctx); err != nil || rev != 0 {
				t.Errorf("OldestRevision of an empty log = %d, %v", rev, err)
			}
			var revs []int64
			for i := range 3 {
				mustTx(t, db, func(tx *store.Tx) error {
					_, err := tx.Changed(ctx, 1, int64(i))
					revs = append(revs, tx.Revision())
					return err
				})
				c.add(time.Hour)
			}
			if rev, err := db.OldestRevision(ctx); err != nil || rev != revs[0] {
				t.Errorf("OldestRevision = %d, %v; want %d", rev, err, revs[0])
			}
			// At T0+3h with 90 minutes of changes kept: the first two go.
			res, err := db.Prune(ctx, c.now, store.Retention{ChangesRetention: 90 * time.Minute})
			must(t, err)
			if res.Changes != 2 || res.Total() != 2 {
				t.Errorf("Prune = %+v (total %d), want 2 changes", res, res.Total())
			}
			if rev, _ := db.OldestRevision(ctx); rev != revs[2] {
				t.Errorf("OldestRevision after Prune = %d, want %d", rev, revs[2])
			}
			// Every change is old: the newest stays.
			res, _ = db.Prune(ctx, c.now.Add(48*time.Hour), store.Retention{})
			if rev, _ := db.OldestRevision(ctx); rev != revs[2] || res.Changes != 0 {
				t.Errorf("the newest change pruned: oldest %d, result %+v", rev, res)
			}
		})

		t.Run("PruneResult adds up and logs every count", func(t *testing.T) {
			p := store.PruneResult{Sessions: 1, EmailVerifications: 2, PasswordResets: 3, PendingLogins: 4, Outbox: 5, Throttles: 6, KnownLogins: 7,
				UnverifiedUsers: 8, Accounts: 9, Changes: 10, InvitationMails: 11, FormStates: 12,
				SSOFlows: 13, SSOAssertions: 14, PasskeyFlows: 15, IdempotencyKeys: 16}
			if p.Total() != 136 {
				t.Errorf("Total = %d, want 136", p.Total())
			}
			want := "[sessions 1 email_verifications 2 password_resets 3 pending_logins 4 outbox 5 throttles 6 known_logins 7 unverified_users 8 accounts 9 changes 10 invitation_mails 11 form_states 12 sso_flows 13 sso_assertions 14 passkey_flows 15 idempotency_keys 16]"
			if got := fmt.Sprint(p.LogAttrs()); got != want {
				t.Errorf("LogAttrs = %s, want %s", got, want)
			}
			if (store.PruneResult{}).Total() != 0 {
				t.Error("an empty result counts rows")
			}
		})
	})
}
