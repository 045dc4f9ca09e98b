package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rosterhq/roster/store"
)

// --- webhooks.go

func TestConformance_Webhooks(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := setClock(db, time.Now().UTC().Truncate(time.Microsecond))
		call := func(f func(tx *store.Tx) error) error { return db.Transact(ctx, f) }
		owner, a := fixture(t, db, "owner@x.example")
		_, b := fixture(t, db, "b@x.example")
		const missing = 999999
		create := func(t *testing.T, acct int64, url string, events ...string) int64 {
			t.Helper()
			var id int64
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				id, err = tx.CreateWebhook(ctx, acct, url, events, "secret-"+url, owner, "owner@x.example")
				return err
			})
			return id
		}
		enqueue := func(t *testing.T, acct int64, eventID, eventType string) {
			t.Helper()
			mustTx(t, db, func(tx *store.Tx) error {
				return tx.EnqueueEvent(ctx, acct, eventID, eventType, []byte(`{"id":"`+eventID+`"}`))
			})
		}

		var w1, w2 store.Webhook
		t.Run("CreateWebhook, read back, counted, listed", func(t *testing.T) {
			w1 = store.Webhook{AccountID: a.Seq, URL: "https://one.example/hook", Events: []string{"member.added", "member.removed"},
				Secret: "secret-https://one.example/hook", Enabled: true, CreatedAt: c.now, CreatedBy: owner, CreatedByEmail: "owner@x.example"}
			w1.ID = create(t, a.Seq, w1.URL, w1.Events...)
			w2 = store.Webhook{AccountID: a.Seq, URL: "https://two.example/hook", Events: []string{"member.added"},
				Secret: "secret-https://two.example/hook", Enabled: true, CreatedAt: c.now, CreatedBy: owner, CreatedByEmail: "owner@x.example"}
			w2.ID = create(t, a.Seq, w2.URL, w2.Events...)
			mustTx(t, db, func(tx *store.Tx) error {
				if got, err := tx.Webhook(ctx, a.Seq, w1.ID); err != nil || fmt.Sprint(got) != fmt.Sprint(w1) {
					t.Errorf("Tx.Webhook = %+v, %v; want %+v", got, err, w1)
				}
				if n, err := tx.CountWebhooks(ctx, a.Seq); err != nil || n != 2 {
					t.Errorf("CountWebhooks = %d, %v", n, err)
				}
				if _, err := tx.Webhook(ctx, a.Seq, missing); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("Tx.Webhook(missing): %v", err)
				}
				return nil
			})
			if got, err := db.Webhook(ctx, a.Seq, w2.ID); err != nil || fmt.Sprint(got) != fmt.Sprint(w2) {
				t.Errorf("DB.Webhook = %+v, %v; want %+v", got, err, w2)
			}
			if _, err := db.Webhook(ctx, a.Seq, missing); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("DB.Webhook(missing): %v", err)
			}
			list, total, err := db.Webhooks(ctx, a.Seq, 10, 0)
			if err != nil || total != 2 || fmt.Sprint(list) != fmt.Sprint([]store.Webhook{w1, w2}) {
				t.Errorf("Webhooks = %+v (%d, %v)", list, total, err)
			}
			if page, total, _ := db.Webhooks(ctx, a.Seq, 1, 1); total != 2 || len(page) != 1 || page[0].ID != w2.ID {
				t.Errorf("second page %+v", page)
			}
		})

		t.Run("UpdateWebhook saves the URL, events and switch", func(t *testing.T) {
			w2.URL, w2.Events, w2.Enabled = "https://two.example/v2", []string{"member.added", "member.role"}, false
			mustTx(t, db, func(tx *store.Tx) error { return tx.UpdateWebhook(ctx, w2) })
			if got, _ := db.Webhook(ctx, a.Seq, w2.ID); fmt.Sprint(got) != fmt.Sprint(w2) {
				t.Errorf("after update %+v, want %+v", got, w2)
			}
			gone := w2
			gone.ID = missing
			if err := call(func(tx *store.Tx) error { return tx.UpdateWebhook(ctx, gone) }); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("UpdateWebhook(missing): %v", err)
			}
		})

		t.Run("EnqueueEvent writes one delivery per enabled subscriber", func(t *testing.T) {
			enqueue(t, a.Seq, "ev1", "member.added")   // w1 (w2 is off)
			enqueue(t, a.Seq, "ev2", "member.removed") // w1
			enqueue(t, a.Seq, "ev3", "member.role")    // w2 is off: none
			ds, total, err := db.Deliveries(ctx, w1.ID, 10, 0)
			must(t, err)
			if total != 2 || len(ds) != 2 || ds[0].EventID != "ev2" || ds[1].EventID != "ev1" {
				t.Fatalf("w1's deliveries %+v (%d)", ds, total)
			}
			want := store.Delivery{ID: ds[1].ID, WebhookID: w1.ID, EventID: "ev1", EventType: "member.added", Body: `{"id":"ev1"}`,
				Status: "pending", CreatedAt: c.now, NextAttemptAt: c.now}
			if ds[1] != want {
				t.Errorf("delivery\n got %+v\nwant %+v", ds[1], want)
			}
			if ds, total, _ := db.Deliveries(ctx, w2.ID, 10, 0); total != 0 || len(ds) != 0 {
				t.Errorf("a disabled webhook got %+v", ds)
			}
			if page, total, _ := db.Deliveries(ctx, w1.ID, 1, 1); total != 2 || len(page) != 1 || page[0].EventID != "ev1" {
				t.Errorf("second page %+v", page)
			}
		})

		t.Run("ClaimDeliveries leases due deliveries once", func(t *testing.T) {
			now := c.now
			claimed, err := db.ClaimDeliveries(ctx, now, 10, time.Minute)
			must(t, err)
			ids := deliveryIDs(claimed)
			all, _, _ := db.Deliveries(ctx, w1.ID, 10, 0)
			if fmt.Sprint(ids) != fmt.Sprint(deliveryIDs(all)) {
				t.Fatalf("claimed %v, want w1's %v", ids, deliveryIDs(all))
			}
			for _, d := range claimed {
				if d.URL != w1.URL || d.Secret != w1.Secret || d.WebhookID != w1.ID || d.Body == "" || d.Status != "pending" {
					t.Errorf("claimed %+v", d)
				}
			}
			if again, err := db.ClaimDeliveries(ctx, now.Add(59*time.Second), 10, time.Minute); err != nil || len(again) != 0 {
				t.Errorf("claimed again within the lease: %+v, %v", again, err)
			}
			// A worker that died: its lease runs out and another takes over,
			// at most n at a time.
			one, err := db.ClaimDeliveries(ctx, now.Add(time.Minute), 1, time.Minute)
			if err != nil || len(one) != 1 {
				t.Errorf("after the lease, n=1: %+v, %v", one, err)
			}
			rest, err := db.ClaimDeliveries(ctx, now.Add(time.Minute), 10, time.Minute)
			if err != nil || len(rest) != 1 || len(one) == 1 && rest[0].ID == one[0].ID {
				t.Errorf("the rest: %+v, %v", rest, err)
			}
			// Not due yet: not claimed.
			if early, _ := db.ClaimDeliveries(ctx, now.Add(-time.Second), 10, time.Minute); len(early) != 0 {
				t.Errorf("claimed before due: %+v", early)
			}
		})

		t.Run("DeliveryDone and DeliveryFailed record the attempt", func(t *testing.T) {
			all, _, _ := db.Deliveries(ctx, w1.ID, 10, 0)
			done, retry := all[1].ID, all[0].ID
			must(t, db.DeliveryDone(ctx, done))
			next := c.now.Add(10 * time.Minute)
			must(t, db.DeliveryFailed(ctx, retry, "503 from the endpoint", next))
			byID := func() map[int64]store.Delivery {
				all, _, _ := db.Deliveries(ctx, w1.ID, 10, 0)
				m := map[int64]store.Delivery{}
				for _, d := range all {
					m[d.ID] = d
				}
				return m
			}
			m := byID()
			if d := m[done]; d.Status != "delivered" || d.Attempts != 1 || d.LastError != "" {
				t.Errorf("done %+v", d)
			}
			if d := m[retry]; d.Status != "pending" || d.Attempts != 1 || d.LastError != "503 from the endpoint" || !d.NextAttemptAt.Equal(next) {
				t.Errorf("to retry %+v", d)
			}
			// The failed one is released (its lease ended) and due at next.
			if got, _ := db.ClaimDeliveries(ctx, next.Add(-time.Second), 10, time.Minute); len(got) != 0 {
				t.Errorf("claimed before its next attempt: %+v", got)
			}
			got, err := db.ClaimDeliveries(ctx, next, 10, time.Minute)
			if err != nil || fmt.Sprint(deliveryIDs(got)) != fmt.Sprint([]int64{retry}) {
				t.Errorf("at its next attempt: %+v, %v", got, err)
			}
			before := time.Now().Add(-time.Second)
			must(t, db.DeliveryFailed(ctx, retry, "gave up", time.Time{}))
			d := byID()[retry]
			if d.Status != "failed" || d.Attempts != 2 || d.LastError != "gave up" || d.NextAttemptAt.Before(before) {
				t.Errorf("given up %+v", d)
			}
			if got, _ := db.ClaimDeliveries(ctx, next.Add(time.Hour), 10, time.Minute); len(got) != 0 {
				t.Errorf("delivered or failed deliveries claimed: %+v", got)
			}
		})

		t.Run("DeleteWebhook removes it and its deliveries", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error { return tx.DeleteWebhook(ctx, a.Seq, w1.ID) })
			if _, err := db.Webhook(ctx, a.Seq, w1.ID); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("deleted webhook: %v", err)
			}
			if ds, total, _ := db.Deliveries(ctx, w1.ID, 10, 0); total != 0 || len(ds) != 0 {
				t.Errorf("deleted webhook's deliveries: %+v", ds)
			}
			if err := call(func(tx *store.Tx) error { return tx.DeleteWebhook(ctx, a.Seq, w1.ID) }); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("deleting twice: %v", err)
			}
		})

		t.Run("tenant", func(t *testing.T) {
			wa := store.Webhook{AccountID: a.Seq, URL: "https://a.example/hook", Events: []string{"member.added"}, Secret: "secret-https://a.example/hook", Enabled: true, CreatedAt: c.now, CreatedBy: owner, CreatedByEmail: "owner@x.example"}
			wa.ID = create(t, a.Seq, wa.URL, wa.Events...)
			enqueue(t, a.Seq, "ev-a", "member.added")
			sameAsMissing(t, "Tx.Webhook",
				call(func(tx *store.Tx) error { _, err := tx.Webhook(ctx, b.Seq, wa.ID); return err }),
				call(func(tx *store.Tx) error { _, err := tx.Webhook(ctx, b.Seq, missing); return err }), store.ErrNoRows)
			_, errA := db.Webhook(ctx, b.Seq, wa.ID)
			_, errM := db.Webhook(ctx, b.Seq, missing)
			sameAsMissing(t, "DB.Webhook", errA, errM, store.ErrNoRows)
			asB := wa
			asB.AccountID, asB.URL = b.Seq, "https://b.example/stolen"
			gone := asB
			gone.ID = missing
			sameAsMissing(t, "UpdateWebhook",
				call(func(tx *store.Tx) error { return tx.UpdateWebhook(ctx, asB) }),
				call(func(tx *store.Tx) error { return tx.UpdateWebhook(ctx, gone) }), store.ErrNoRows)
			sameAsMissing(t, "DeleteWebhook",
				call(func(tx *store.Tx) error { return tx.DeleteWebhook(ctx, b.Seq, wa.ID) }),
				call(func(tx *store.Tx) error { return tx.DeleteWebhook(ctx, b.Seq, missing) }), store.ErrNoRows)
			// Even a caller that commits after the refusal leaves a's rows.
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.DeleteWebhook(ctx, b.Seq, wa.ID); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("DeleteWebhook of a's webhook by b: %v", err)
				}
				if err := tx.UpdateWebhook(ctx, asB); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("UpdateWebhook of a's webhook by b: %v", err)
				}
				return nil
			})
			if got, err := db.Webhook(ctx, a.Seq, wa.ID); err != nil || fmt.Sprint(got) != fmt.Sprint(wa) {
				t.Errorf("a's webhook after b's writes: %+v, %v", got, err)
			}
			if ds, total, _ := db.Deliveries(ctx, wa.ID, 10, 0); total != 1 || len(ds) != 1 {
				t.Errorf("a's deliveries after b's delete: %+v", ds)
			}
			// b's event reaches b's subscribers only.
			enqueue(t, b.Seq, "ev-b", "member.added")
			if ds, _, _ := db.Deliveries(ctx, wa.ID, 10, 0); len(ds) != 1 || ds[0].EventID != "ev-a" {
				t.Errorf("b's event delivered to a's webhook: %+v", ds)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				if n, err := tx.CountWebhooks(ctx, b.Seq); err != nil || n != 0 {
					t.Errorf("b counts %d webhooks (%v)", n, err)
				}
				return nil
			})
			if list, total, err := db.Webhooks(ctx, b.Seq, 10, 0); err != nil || total != 0 || len(list) != 0 {
				t.Errorf("b lists %+v (%d, %v)", list, total, err)
			}
		})
	})
}

func deliveryIDs(ds []store.Delivery) []int64 {
	var out []int64
	for _, d := range ds {
		out = append(out, d.ID)
	}
	slices.Sort(out)
	return out
}
