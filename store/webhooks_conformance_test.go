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
			ds, total, err := db.Deliveries(ctx, a.Seq, w1.ID, 10, 0)
			must(t, err)
			if total != 2 || len(ds) != 2 || ds[0].EventID != "ev2" || ds[1].EventID != "ev1" {
				t.Fatalf("w1's deliveries %+v (%d)", ds, total)
			}
			want := store.Delivery{ID: ds[1].ID, WebhookID: w1.ID, EventID: "ev1", EventType: "member.added", Body: `{"id":"ev1"}`,
				Status: "pending", CreatedAt: c.now, NextAttemptAt: c.now}
			if ds[1] != want {
				t.Errorf("delivery\n got %+v\nwant %+v", ds[1], want)
			}
			if ds, total, _ := db.Deliveries(ctx, a.Seq, w2.ID, 10, 0); total != 0 || len(ds) != 0 {
				t.Errorf("a disabled webhook got %+v", ds)
			}
			if page, total, _ := db.Deliveries(ctx, a.Seq, w1.ID, 1, 1); total != 2 || len(page) != 1 || page[0].EventID != "ev1" {
				t.Errorf("second page %+v", page)
			}
			if ds, total, err := db.Deliveries(ctx, b.Seq, w1.ID, 10, 0); err != nil || total != 0 || len(ds) != 0 {
				t.Errorf("w1's deliveries asked for by another account: %+v (%d), %v", ds, total, err)
			}
		})

		// The fairness across accounts (round-robin, the cap, one
		// delivery per webhook in order, claimers racing) has its own tests
		// in webhooks_test.go; these check what a claim returns and what
		// ends a lease.
		t.Run("ClaimDeliveries leases a webhook's oldest due delivery once", func(t *testing.T) {
			now := c.now
			lease := time.Minute
			if early, err := db.ClaimDeliveries(ctx, now.Add(-time.Second), 10, 10, lease); err != nil || len(early) != 0 {
				t.Fatalf("claimed before due: %+v, %v", early, err)
			}
			for _, nc := range [][2]int{{0, 10}, {10, 0}, {-1, 10}} {
				if got, err := db.ClaimDeliveries(ctx, now, nc[0], nc[1], lease); err != nil || len(got) != 0 {
					t.Fatalf("n=%d perAccount=%d claimed %+v, %v", nc[0], nc[1], got, err)
				}
			}
			all, _, _ := db.Deliveries(ctx, a.Seq, w1.ID, 10, 0) // ev2, ev1
			want := all[1]
			want.URL, want.Secret = w1.URL, w1.Secret
			claimed, err := db.ClaimDeliveries(ctx, now, 10, 10, lease)
			if err != nil || len(claimed) != 1 || claimed[0] != want {
				t.Fatalf("claimed %+v, %v\nwant only w1's oldest %+v", claimed, err, want)
			}
			// Within the lease neither it nor w1's next (which waits for it).
			if again, err := db.ClaimDeliveries(ctx, now.Add(lease-time.Second), 10, 10, lease); err != nil || len(again) != 0 {
				t.Errorf("claimed again within the lease: %+v, %v", again, err)
			}
			// A worker that died: its lease runs out and another takes the
			// same delivery over, still before w1's next.
			over, err := db.ClaimDeliveries(ctx, now.Add(lease), 10, 10, lease)
			if err != nil || len(over) != 1 || over[0] != want {
				t.Errorf("after the lease: %+v, %v; want %+v again", over, err, want)
			}
		})

		t.Run("DeliveryDone and DeliveryFailed record the attempt and end the lease", func(t *testing.T) {
			all, _, _ := db.Deliveries(ctx, a.Seq, w1.ID, 10, 0)
			done, retry := all[1].ID, all[0].ID
			leased := c.now.Add(time.Minute) // ev1 (done) is leased from here to a minute on
			must(t, db.DeliveryDone(ctx, done))
			byID := func() map[int64]store.Delivery {
				all, _, _ := db.Deliveries(ctx, a.Seq, w1.ID, 10, 0)
				m := map[int64]store.Delivery{}
				for _, d := range all {
					m[d.ID] = d
				}
				return m
			}
			if d := byID()[done]; d.Status != "delivered" || d.Attempts != 1 || d.LastError != "" {
				t.Errorf("done %+v", d)
			}
			// Done: w1's next goes at once.
			got, err := db.ClaimDeliveries(ctx, leased, 10, 10, time.Minute)
			if err != nil || fmt.Sprint(deliveryIDs(got)) != fmt.Sprint([]int64{retry}) {
				t.Fatalf("after DeliveryDone: %+v, %v; want %d", got, err, retry)
			}
			next := leased.Add(30 * time.Second) // within the lease just taken
			must(t, db.DeliveryFailed(ctx, retry, "503 from the endpoint", next))
			if d := byID()[retry]; d.Status != "pending" || d.Attempts != 1 || d.LastError != "503 from the endpoint" || !d.NextAttemptAt.Equal(next) {
				t.Errorf("to retry %+v", d)
			}
			// Released (its lease ended) and due at next.
			if got, _ := db.ClaimDeliveries(ctx, next.Add(-time.Second), 10, 10, time.Minute); len(got) != 0 {
				t.Errorf("claimed before its next attempt: %+v", got)
			}
			got, err = db.ClaimDeliveries(ctx, next, 10, 10, time.Minute)
			if err != nil || fmt.Sprint(deliveryIDs(got)) != fmt.Sprint([]int64{retry}) {
				t.Errorf("at its next attempt: %+v, %v", got, err)
			}
			before := time.Now().Add(-time.Second)
			must(t, db.DeliveryFailed(ctx, retry, "gave up", time.Time{}))
			d := byID()[retry]
			if d.Status != "failed" || d.Attempts != 2 || d.LastError != "gave up" || d.NextAttemptAt.Before(before) {
				t.Errorf("given up %+v", d)
			}
			if got, _ := db.ClaimDeliveries(ctx, next.Add(time.Hour), 10, 10, time.Minute); len(got) != 0 {
				t.Errorf("delivered or failed deliveries claimed: %+v", got)
			}
		})

		t.Run("ClaimDeliveries caps each account alone and skips disabled webhooks", func(t *testing.T) {
			_, p := fixture(t, db, "p@x.example")
			_, q := fixture(t, db, "q@x.example")
			q1 := create(t, q.Seq, "https://q1.example/hook", "member.added")
			p1 := create(t, p.Seq, "https://p1.example/hook", "member.added")
			p2 := create(t, p.Seq, "https://p2.example/hook", "member.added")
			off := store.Webhook{AccountID: p.Seq, URL: "https://off.example/hook", Events: []string{"member.added"}}
			off.ID = create(t, p.Seq, off.URL, off.Events...)
			enqueue(t, q.Seq, "evq", "member.added")
			enqueue(t, p.Seq, "evp", "member.added")
			mustTx(t, db, func(tx *store.Tx) error { return tx.UpdateWebhook(ctx, off) }) // disabled with its delivery due
			at, lease := c.now.Add(time.Hour), time.Minute
			hooksOf := func(ds []store.Delivery) []int64 {
				var out []int64
				for _, d := range ds {
					out = append(out, d.WebhookID)
				}
				slices.Sort(out)
				return out
			}
			claim := func(t *testing.T, want ...int64) []store.Delivery {
				t.Helper()
				got, err := db.ClaimDeliveries(ctx, at, 10, 1, lease)
				if err != nil || fmt.Sprint(hooksOf(got)) != fmt.Sprint(want) {
					t.Fatalf("claimed for webhooks %v (%v), want %v", hooksOf(got), err, want)
				}
				return got
			}
			qs, err := db.ClaimDeliveries(ctx, at, 1, 1, lease) // the oldest: q's
			if err != nil || fmt.Sprint(hooksOf(qs)) != fmt.Sprint([]int64{q1}) {
				t.Fatalf("n=1 claimed for webhooks %v (%v), want q's %d", hooksOf(qs), err, q1)
			}
			// q's delivery in flight does not count against p: p gets one,
			// and one only (its cap); p2 waits.
			ps := claim(t, p1)
			claim(t)
			must(t, db.DeliveryDone(ctx, qs[0].ID))
			claim(t) // q has nothing in flight now; p is still at its cap
			must(t, db.DeliveryFailed(ctx, ps[0].ID, "HTTP 500", at.Add(time.Hour)))
			p2s := claim(t, p2)
			must(t, db.DeliveryDone(ctx, p2s[0].ID))
			claim(t) // p1's retry is not due; the disabled webhook's never goes
			at = at.Add(time.Hour)
			claim(t, p1)
			if ds, _, _ := db.Deliveries(ctx, p.Seq, off.ID, 10, 0); len(ds) != 1 || ds[0].Status != "pending" || ds[0].Attempts != 0 {
				t.Errorf("the disabled webhook's delivery: %+v", ds)
			}
		})

		t.Run("DeleteWebhook removes it and its deliveries", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error { return tx.DeleteWebhook(ctx, a.Seq, w1.ID) })
			if _, err := db.Webhook(ctx, a.Seq, w1.ID); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("deleted webhook: %v", err)
			}
			if ds, total, _ := db.Deliveries(ctx, a.Seq, w1.ID, 10, 0); total != 0 || len(ds) != 0 {
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
			if ds, total, _ := db.Deliveries(ctx, a.Seq, wa.ID, 10, 0); total != 1 || len(ds) != 1 {
				t.Errorf("a's deliveries after b's delete: %+v", ds)
			}
			// b's event reaches b's subscribers only.
			enqueue(t, b.Seq, "ev-b", "member.added")
			if ds, _, _ := db.Deliveries(ctx, a.Seq, wa.ID, 10, 0); len(ds) != 1 || ds[0].EventID != "ev-a" {
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

// TestConformance_EnqueueDeliveryNamesTheAccount: a delivery to one
// webhook (a test event, an event sent again) is written whatever the
// webhook subscribes to, read back with its body, and another account's
// webhook or delivery is ErrNoRows with nothing written.
func TestConformance_EnqueueDeliveryNamesTheAccount(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := setClock(db, time.Now().UTC().Truncate(time.Microsecond))
		owner, a := fixture(t, db, "owner@x.example")
		_, b := fixture(t, db, "b@x.example")
		var wa, wb int64
		mustTx(t, db, func(tx *store.Tx) error {
			var err error
			if wa, err = tx.CreateWebhook(ctx, a.Seq, "https://a.example/hook", []string{"plan.changed"}, "sa", owner, "owner@x.example"); err != nil {
				return err
			}
			wb, err = tx.CreateWebhook(ctx, b.Seq, "https://b.example/hook", []string{"plan.changed"}, "sb", owner, "owner@x.example")
			return err
		})
		body := `{"id":"evt_1","type":"webhook.test"}`
		var did int64
		mustTx(t, db, func(tx *store.Tx) error {
			var err error
			did, err = tx.EnqueueDelivery(ctx, a.Seq, wa, "evt_1", "webhook.test", []byte(body))
			return err
		})
		mustTx(t, db, func(tx *store.Tx) error {
			d, err := tx.Delivery(ctx, a.Seq, wa, did)
			want := store.Delivery{ID: did, WebhookID: wa, EventID: "evt_1", EventType: "webhook.test", Body: body, Status: "pending",
				CreatedAt: c.now, NextAttemptAt: c.now}
			if err != nil || fmt.Sprint(d) != fmt.Sprint(want) {
				t.Errorf("Delivery = %+v, %v; want %+v", d, err, want)
			}
			// Another account's webhook, another webhook's delivery, none.
			for _, k := range []struct{ acct, wh, id int64 }{{b.Seq, wa, did}, {a.Seq, wb, did}, {a.Seq, wa, did + 1000}} {
				if _, err := tx.Delivery(ctx, k.acct, k.wh, k.id); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("Delivery(%v): %v, want ErrNoRows", k, err)
				}
			}
			return nil
		})
		err := db.Transact(ctx, func(tx *store.Tx) error {
			_, err := tx.EnqueueDelivery(ctx, b.Seq, wa, "evt_2", "webhook.test", []byte(body))
			return err
		})
		if !errors.Is(err, store.ErrNoRows) {
			t.Errorf("EnqueueDelivery to another account's webhook: %v, want ErrNoRows", err)
		}
		if ds, total, _ := db.Deliveries(ctx, a.Seq, wa, 10, 0); total != 1 || len(ds) != 1 || ds[0].ID != did {
			t.Errorf("a's deliveries: %+v", ds)
		}
		if _, total, _ := db.Deliveries(ctx, b.Seq, wb, 10, 0); total != 0 {
			t.Errorf("b's webhook has %d deliveries", total)
		}
	})
}
