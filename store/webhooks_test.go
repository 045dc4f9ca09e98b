package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
	"github.com/rosterhq/roster/store/storetest"
)

// addWebhook makes the account's webhook number i, subscribed to plan.changed.
func addWebhook(ctx context.Context, tx *store.Tx, a roster.Account, i int) (int64, error) {
	return tx.CreateWebhook(ctx, a.Seq, fmt.Sprintf("https://hooks.example.com/%d", i), []string{"plan.changed"}, "whsec_test", 0, "")
}

// hooks makes n webhooks of the account and returns their ids.
func hooks(t *testing.T, db *store.DB, a roster.Account, n int) []int64 {
	t.Helper()
	var ids []int64
	for i := range n {
		err := tx(t, db, func(tx *store.Tx) error {
			id, err := addWebhook(context.Background(), tx, a, i)
			ids = append(ids, id)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// events enqueues n events of the account, each in its own transaction
// (one delivery per webhook each), a millisecond of the database clock apart.
func events(t *testing.T, db *store.DB, a roster.Account, n int, clock *time.Time) {
	t.Helper()
	for i := range n {
		*clock = clock.Add(time.Millisecond)
		at := *clock
		db.Now = func() time.Time { return at }
		if err := tx(t, db, func(tx *store.Tx) error {
			return tx.EnqueueEvent(context.Background(), a.Seq, fmt.Sprintf("evt_%d_%d", a.Seq, i), "plan.changed", []byte(`{}`))
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStore_ClaimDeliveriesFairAcrossAccounts: the claim takes every
// account's first slot before any account's second, never more than the
// per-account cap in flight, one delivery per webhook at a time in order,
// and a lease that runs out frees the delivery (and the slot) again.
func TestStore_ClaimDeliveriesFairAcrossAccounts(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a := fixture(t, db, "a@acme-corp.com")
		_, b := fixture(t, db, "b@beta-corp.com")
		aHooks := hooks(t, db, a, 3)
		bHooks := hooks(t, db, b, 1)
		clock := time.Now().Add(-time.Hour)
		events(t, db, a, 5, &clock) // 15 of A's, all older than B's
		events(t, db, b, 1, &clock)
		now := time.Now()
		lease := time.Minute
		ofA := func(ds []store.Delivery) (n int) {
			for _, d := range ds {
				if slices.Contains(aHooks, d.WebhookID) {
					n++
				}
			}
			return n
		}

		// One sender free: A's oldest; two: B's too, though A has 14 older.
		first, err := db.ClaimDeliveries(ctx, now, 1, 2, lease)
		if err != nil || len(first) != 1 || ofA(first) != 1 || first[0].EventID != fmt.Sprintf("evt_%d_0", a.Seq) {
			t.Fatalf("first claim %+v, %v: want A's oldest delivery", first, err)
		}
		if first[0].URL != fmt.Sprintf("https://hooks.example.com/%d", slices.Index(aHooks, first[0].WebhookID)) || first[0].Secret != "whsec_test" {
			t.Fatalf("claimed delivery without its url and secret: %+v", first[0])
		}
		got, err := db.ClaimDeliveries(ctx, now, 2, 2, lease)
		if err != nil || len(got) != 2 || ofA(got) != 1 || !slices.ContainsFunc(got, func(d store.Delivery) bool { return d.WebhookID == bHooks[0] }) {
			t.Fatalf("second claim %+v, %v: want B's delivery and A's second", got, err)
		}
		// A holds its cap of 2 (on two webhooks), B's webhook is busy:
		// nothing more until one ends.
		if more, err := db.ClaimDeliveries(ctx, now, 10, 2, lease); err != nil || len(more) != 0 {
			t.Fatalf("claim past the cap: %+v, %v", more, err)
		}
		if err := db.DeliveryDone(ctx, first[0].ID); err != nil {
			t.Fatal(err)
		}
		next, err := db.ClaimDeliveries(ctx, now, 10, 2, lease)
		if err != nil || len(next) != 1 || ofA(next) != 1 {
			t.Fatalf("claim after one ended: %+v, %v: want one of A's", next, err)
		}

		// A larger cap: one per idle webhook, each webhook's oldest due
		// first (a failed one waits for its retry; the next goes on).
		if err := db.DeliveryFailed(ctx, next[0].ID, "HTTP 500", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		wide, err := db.ClaimDeliveries(ctx, now, 10, 10, lease)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int64]bool{}
		for _, d := range wide {
			if seen[d.WebhookID] {
				t.Fatalf("two deliveries of webhook %d in one claim: %+v", d.WebhookID, wide)
			}
			seen[d.WebhookID] = true
		}
		if ofA(wide) != 2 { // A's third webhook is busy
			t.Fatalf("wide claim %+v: want two of A's (its idle webhooks)", wide)
		}
		for _, d := range wide {
			if d.EventID != fmt.Sprintf("evt_%d_1", a.Seq) {
				t.Fatalf("claimed %s of webhook %d, want its oldest due (event 1)", d.EventID, d.WebhookID)
			}
		}

		// A lease that ran out is claimed again: all three webhooks idle.
		later, err := db.ClaimDeliveries(ctx, now.Add(lease+time.Second), 10, 10, lease)
		if err != nil || ofA(later) != 3 {
			t.Fatalf("claim after the leases ran out: %+v, %v: want one per webhook of A", later, err)
		}
	})
}

// TestStore_ClaimDeliveriesConcurrent: claimers racing (replicas) never
// take one delivery twice, nor one webhook's two at once, nor more of an
// account's than the cap.
func TestStore_ClaimDeliveriesConcurrent(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a := fixture(t, db, "a@acme-corp.com")
		_, b := fixture(t, db, "b@beta-corp.com")
		hooks(t, db, a, 8)
		hooks(t, db, b, 8)
		clock := time.Now().Add(-time.Hour)
		events(t, db, a, 3, &clock)
		events(t, db, b, 3, &clock)
		now := time.Now()
		var mu sync.Mutex
		var all []store.Delivery
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ds, err := db.ClaimDeliveries(ctx, now, 3, 3, time.Minute)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				all = append(all, ds...)
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		if len(all) != 6 {
			t.Fatalf("%d claimed, want 6 (3 per account)", len(all))
		}
		ids, byHook := map[int64]bool{}, map[int64]bool{}
		for _, d := range all {
			if ids[d.ID] || byHook[d.WebhookID] {
				t.Fatalf("delivery %d (webhook %d) claimed twice or beside another of its webhook", d.ID, d.WebhookID)
			}
			ids[d.ID], byHook[d.WebhookID] = true, true
		}
	})
}

// BenchmarkClaimDeliveries: one claim of 16 (timed; then released) over a
// backlog of 10,000 due deliveries of 100 accounts, 2 webhooks each
// (PostgreSQL at 127.0.0.1:5432).
func BenchmarkClaimDeliveries(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		func() {
			db, err := store.Open(be.DSN)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			if err := db.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			for i := range 100 {
				err := db.Transact(ctx, func(tx *store.Tx) error {
					uid, err := tx.CreateUser(ctx, fmt.Sprintf("u%d@acme-corp.com", i), "N", "hash", true)
					if err != nil {
						return err
					}
					a, err := tx.CreateAccount(ctx, "Acct", uid)
					if err != nil {
						return err
					}
					for k := range 2 {
						if _, err := addWebhook(ctx, tx, a, k); err != nil {
							return err
						}
					}
					for j := range 50 {
						if err := tx.EnqueueEvent(ctx, a.Seq, fmt.Sprintf("evt_%d_%d", i, j), "plan.changed", []byte(`{}`)); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			now := time.Now().Add(time.Hour)
			b.Run(be.Name, func(b *testing.B) {
				for range b.N {
					ds, err := db.ClaimDeliveries(ctx, now, 16, 4, time.Minute)
					if err != nil || len(ds) != 16 {
						b.Fatalf("claimed %d: %v", len(ds), err)
					}
					for _, d := range ds {
						if err := db.DeliveryFailed(ctx, d.ID, "HTTP 500", now.Add(-time.Second)); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}()
	}
}
