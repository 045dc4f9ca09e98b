package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
)

// --- the guarded areas: numbers.go, applications.go, settings.go,
// credentials.go, billing.go, pricing.go, logs.go, apikeys.go (Departures:
// members.go). One test, because its cases share the accounts and rows
// they make.

func TestConformance_Guarded(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := setClock(db, time.Now().UTC().Truncate(time.Microsecond))
		call := func(f func(tx *store.Tx) error) error { return db.Transact(ctx, f) }
		owner, a := fixture(t, db, "owner@x.example")
		bOwner, b := fixture(t, db, "b@x.example")
		const missing = 999999

		var app roster.Application
		t.Run("applications: create, read, update, list, delete", func(t *testing.T) {
			app = roster.Application{Name: "IVR", AnswerURL: "https://x.example/answer", AnswerMethod: "POST",
				HangupURL: "https://x.example/hangup", MessageURL: "https://x.example/message", CreatedAt: c.now}
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				app.ID, err = tx.CreateApplication(ctx, a.Seq, app)
				return err
			})
			mustTx(t, db, func(tx *store.Tx) error {
				if got, err := tx.Application(ctx, a.Seq, app.ID); err != nil || got != app {
					t.Errorf("Application = %+v, %v; want %+v", got, err, app)
				}
				if _, err := tx.Application(ctx, a.Seq, missing); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("Application(missing): %v", err)
				}
				return nil
			})
			err := call(func(tx *store.Tx) error {
				_, err := tx.CreateApplication(ctx, a.Seq, roster.Application{Name: "bad", AnswerURL: "u", AnswerMethod: "PUT"})
				return err
			})
			if err == nil {
				t.Error("the schema took answer method PUT")
			}
			app.Name, app.AnswerMethod, app.HangupURL = "IVR 2", "GET", ""
			mustTx(t, db, func(tx *store.Tx) error { return tx.UpdateApplication(ctx, a.Seq, app) })
			second := roster.Application{Name: "SMS", AnswerURL: "https://x.example/sms", AnswerMethod: "GET", CreatedAt: c.now}
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				second.ID, err = tx.CreateApplication(ctx, a.Seq, second)
				return err
			})
			apps, total, err := db.Applications(ctx, a.Seq, roster.Page{Limit: 10})
			if err != nil || total != 2 || fmt.Sprint(apps) != fmt.Sprint([]roster.Application{app, second}) {
				t.Errorf("Applications = %+v (%d, %v)", apps, total, err)
			}
			if page, total, _ := db.Applications(ctx, a.Seq, roster.Page{Limit: 1, Offset: 1}); total != 2 || len(page) != 1 || page[0].ID != second.ID {
				t.Errorf("second page %+v", page)
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.DeleteApplication(ctx, a.Seq, second.ID) })
			for name, err := range map[string]error{
				"Application":       call(func(tx *store.Tx) error { _, err := tx.Application(ctx, a.Seq, second.ID); return err }),
				"DeleteApplication": call(func(tx *store.Tx) error { return tx.DeleteApplication(ctx, a.Seq, second.ID) }),
				"UpdateApplication": call(func(tx *store.Tx) error { return tx.UpdateApplication(ctx, a.Seq, second) }),
			} {
				if !errors.Is(err, store.ErrNoRows) {
					t.Errorf("%s of a deleted application: %v, want ErrNoRows", name, err)
				}
			}
		})

		t.Run("numbers: add once, read, update, filter, delete", func(t *testing.T) {
			n1 := roster.Number{Number: "+14155550101", Alias: "Sales Line", ApplicationID: &app.ID, CreatedAt: c.now}
			n2 := roster.Number{Number: "+14155550100", Alias: "support", CreatedAt: c.now}
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.AddNumber(ctx, a.Seq, n1); err != nil {
					return err
				}
				return tx.AddNumber(ctx, a.Seq, n2)
			})
			if err := call(func(tx *store.Tx) error { return tx.AddNumber(ctx, a.Seq, n2) }); !errors.Is(err, store.ErrHeldHere) {
				t.Errorf("a number twice: %v, want ErrHeldHere", err)
			}
			bad := int64(missing)
			if err := call(func(tx *store.Tx) error {
				return tx.AddNumber(ctx, a.Seq, roster.Number{Number: "+14155550199", ApplicationID: &bad})
			}); err == nil {
				t.Error("a number linked to an application that does not exist")
			}
			mustTx(t, db, func(tx *store.Tx) error {
				if got, err := tx.Number(ctx, a.Seq, n1.Number); err != nil || got.Number != n1.Number || got.Alias != n1.Alias ||
					!got.CreatedAt.Equal(n1.CreatedAt) || got.ApplicationID == nil || *got.ApplicationID != app.ID {
					t.Errorf("Number = %+v, %v; want %+v", got, err, n1)
				}
				for _, n := range []string{"+14155550199", "not a number", "+1415555\x00"} {
					if _, err := tx.Number(ctx, a.Seq, n); !errors.Is(err, store.ErrNoRows) {
						t.Errorf("Number(%q): %v, want ErrNoRows", n, err)
					}
				}
				return nil
			})
			list, total, err := db.Numbers(ctx, a.Seq, "", roster.Page{Limit: 10})
			if err != nil || total != 2 || len(list) != 2 || list[0].Number != n2.Number || list[1].Number != n1.Number {
				t.Errorf("Numbers = %+v (%d, %v), want ordered by number", list, total, err)
			}
			for alias, want := range map[string][]string{
				"sales": {n1.Number}, "LINE": {n1.Number}, "s": {n2.Number, n1.Number}, "nothing": nil,
			} {
				list, total, err := db.Numbers(ctx, a.Seq, alias, roster.Page{Limit: 10})
				var got []string
				for _, n := range list {
					got = append(got, n.Number)
				}
				if err != nil || total != len(want) || fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("Numbers(alias %q) = %v (%d, %v), want %v", alias, got, total, err, want)
				}
			}
			if page, total, _ := db.Numbers(ctx, a.Seq, "", roster.Page{Limit: 1, Offset: 1}); total != 2 || len(page) != 1 || page[0].Number != n1.Number {
				t.Errorf("second page %+v", page)
			}
			n1.Alias, n1.ApplicationID = "Renamed", nil
			mustTx(t, db, func(tx *store.Tx) error { return tx.UpdateNumber(ctx, a.Seq, n1) })
			mustTx(t, db, func(tx *store.Tx) error {
				if got, _ := tx.Number(ctx, a.Seq, n1.Number); got.Alias != "Renamed" || got.ApplicationID != nil {
					t.Errorf("after UpdateNumber: %+v", got)
				}
				return nil
			})
			if err := call(func(tx *store.Tx) error { return tx.UpdateNumber(ctx, a.Seq, roster.Number{Number: "+14155550199"}) }); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("UpdateNumber(missing): %v", err)
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.DeleteNumber(ctx, a.Seq, n1.Number) })
			for _, n := range []string{n1.Number, "not a number"} {
				if err := call(func(tx *store.Tx) error { return tx.DeleteNumber(ctx, a.Seq, n) }); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("DeleteNumber(%q): %v, want ErrNoRows", n, err)
				}
			}
		})

		t.Run("deleting an application unlinks its numbers", func(t *testing.T) {
			var id int64
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				if id, err = tx.CreateApplication(ctx, a.Seq, roster.Application{Name: "tmp", AnswerURL: "u", AnswerMethod: "GET"}); err != nil {
					return err
				}
				if err := tx.AddNumber(ctx, a.Seq, roster.Number{Number: "+14155550177", ApplicationID: &id}); err != nil {
					return err
				}
				return tx.DeleteApplication(ctx, a.Seq, id)
			})
			mustTx(t, db, func(tx *store.Tx) error {
				if got, err := tx.Number(ctx, a.Seq, "+14155550177"); err != nil || got.ApplicationID != nil {
					t.Errorf("number of a deleted application: %+v, %v", got, err)
				}
				return nil
			})
		})

		t.Run("settings: the account's name and the profile", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				if s, err := tx.Settings(ctx, a.Seq); err != nil || s != (roster.Settings{Name: a.Name, Timezone: "UTC"}) {
					t.Errorf("Settings before any save = %+v, %v", s, err)
				}
				for _, s := range []roster.Settings{
					{Name: "Acme", Company: "Acme Inc", Address: "1 Road", Timezone: "Europe/Paris"},
					{Name: "Acme 2", Company: "Acme SA", Address: "2 Road", Timezone: "America/New_York"},
				} {
					if err := tx.SaveSettings(ctx, a.Seq, s); err != nil {
						return err
					}
					if got, err := tx.Settings(ctx, a.Seq); err != nil || got != s {
						t.Errorf("Settings after save = %+v, %v; want %+v", got, err, s)
					}
				}
				if _, err := tx.Settings(ctx, missing); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("Settings of no account: %v", err)
				}
				return nil
			})
			if got, _ := db.Account(ctx, a.ID); got.Name != "Acme 2" {
				t.Errorf("account name %q after SaveSettings", got.Name)
			}
		})

		t.Run("credentials: made once, rotated with and without a grace period", func(t *testing.T) {
			if _, _, _, err := db.Credentials(ctx, a.Seq); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("Credentials before any: %v", err)
			}
			if err := call(func(tx *store.Tx) error { return tx.RotateCredentials(ctx, a.Seq, "t", nil, time.Time{}) }); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("RotateCredentials before any: %v", err)
			}
			if err := call(func(tx *store.Tx) error { _, err := tx.CurrentToken(ctx, a.Seq); return err }); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("CurrentToken before any: %v", err)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.EnsureCredentials(ctx, a.Seq, "token-1"); err != nil {
					return err
				}
				return tx.EnsureCredentials(ctx, a.Seq, "token-x") // has one: kept
			})
			tok, prev, until, err := db.Credentials(ctx, a.Seq)
			if err != nil || tok != "token-1" || prev != nil || !until.IsZero() {
				t.Errorf("Credentials = %q %x %v %v", tok, prev, until, err)
			}
			grace := c.now.Add(24 * time.Hour)
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.RotateCredentials(ctx, a.Seq, "token-2", hash("token-1"), grace); err != nil {
					return err
				}
				if cur, err := tx.CurrentToken(ctx, a.Seq); err != nil || cur != "token-2" {
					t.Errorf("CurrentToken = %q, %v", cur, err)
				}
				return nil
			})
			tok, prev, until, err = db.Credentials(ctx, a.Seq)
			if err != nil || tok != "token-2" || !slices.Equal(prev, hash("token-1")) || !until.Equal(grace) {
				t.Errorf("after a rotation with grace: %q %x %v %v", tok, prev, until, err)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				return tx.RotateCredentials(ctx, a.Seq, "token-3", hash("token-2"), time.Time{})
			})
			tok, prev, until, err = db.Credentials(ctx, a.Seq)
			if err != nil || tok != "token-3" || prev != nil || !until.IsZero() {
				t.Errorf("after a rotation without grace: %q %x %v %v", tok, prev, until, err)
			}
		})

		t.Run("billing: recharges, balance, invoices by month, cards, auto-recharge", func(t *testing.T) {
			if bl, err := db.Billing(ctx, a.Seq); err != nil || bl.Balance != 0 || bl.PaymentMethods != nil || bl.Recharges != nil || bl.Invoices != nil || bl.AutoRecharge != (roster.AutoRecharge{}) {
				t.Errorf("empty Billing = %+v, %v", bl, err)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				if ar, err := tx.AutoRecharge(ctx, a.Seq); err != nil || ar != (roster.AutoRecharge{}) {
					t.Errorf("AutoRecharge never set = %+v, %v", ar, err)
				}
				return nil
			})
			saved := c.now
			var rs []roster.Recharge
			for _, r := range []struct {
				at     time.Time
				amount roster.Money
			}{
				{time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC), 500},
				{time.Date(2026, 1, 31, 23, 59, 0, 0, time.UTC), 300},
				{time.Date(2026, 2, 1, 0, 1, 0, 0, time.UTC), 700},
			} {
				c.now = r.at
				mustTx(t, db, func(tx *store.Tx) error {
					got, err := tx.AddRecharge(ctx, a.Seq, r.amount)
					if got.ID == 0 || got.Amount != r.amount || !got.CreatedAt.Equal(r.at) {
						t.Errorf("AddRecharge = %+v", got)
					}
					rs = append([]roster.Recharge{got}, rs...)
					return err
				})
			}
			c.now = saved
			if err := call(func(tx *store.Tx) error { _, err := tx.AddRecharge(ctx, a.Seq, 0); return err }); err == nil {
				t.Error("the schema took a recharge of 0")
			}
			mustTx(t, db, func(tx *store.Tx) error {
				return tx.SetAutoRecharge(ctx, a.Seq, roster.AutoRecharge{Enabled: true, ThresholdUSD: 10, AmountUSD: 50})
			})
			mustTx(t, db, func(tx *store.Tx) error {
				if ar, err := tx.AutoRecharge(ctx, a.Seq); err != nil || ar != (roster.AutoRecharge{Enabled: true, ThresholdUSD: 10, AmountUSD: 50}) {
					t.Errorf("AutoRecharge = %+v, %v", ar, err)
				}
				if n, err := tx.PaymentMethodCount(ctx, a.Seq); err != nil || n != 0 {
					t.Errorf("PaymentMethodCount = %d, %v", n, err)
				}
				return nil
			})
			pm := roster.PaymentMethod{Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2030, CreatedAt: c.now}
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				pm.ID, err = tx.AddPaymentMethod(ctx, a.Seq, pm)
				return err
			})
			for _, bad := range []roster.PaymentMethod{{Brand: "visa", Last4: "42", ExpMonth: 1, ExpYear: 2030}, {Brand: "visa", Last4: "4242", ExpMonth: 13, ExpYear: 2030}} {
				if err := call(func(tx *store.Tx) error { _, err := tx.AddPaymentMethod(ctx, a.Seq, bad); return err }); err == nil {
					t.Errorf("the schema took card %+v", bad)
				}
			}
			bl, err := db.Billing(ctx, a.Seq)
			must(t, err)
			want := roster.Billing{
				Balance:        1500,
				AutoRecharge:   roster.AutoRecharge{Enabled: true, ThresholdUSD: 10, AmountUSD: 50},
				PaymentMethods: []roster.PaymentMethod{pm},
				Recharges:      rs,
				Invoices:       []roster.Invoice{{Month: "2026-02", Total: 700, Recharges: 1}, {Month: "2026-01", Total: 800, Recharges: 2}},
			}
			if fmt.Sprint(bl) != fmt.Sprint(want) {
				t.Errorf("Billing\n got %+v\nwant %+v", bl, want)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				if n, err := tx.PaymentMethodCount(ctx, a.Seq); err != nil || n != 1 {
					t.Errorf("PaymentMethodCount = %d, %v", n, err)
				}
				return tx.DeletePaymentMethod(ctx, a.Seq, pm.ID)
			})
			if err := call(func(tx *store.Tx) error { return tx.DeletePaymentMethod(ctx, a.Seq, pm.ID) }); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("deleting a card twice: %v", err)
			}
			if bl, _ := db.Billing(ctx, a.Seq); len(bl.PaymentMethods) != 0 || bl.Balance != 1500 {
				t.Errorf("after the card's deletion: %+v", bl)
			}
		})

		t.Run("prices: imported as a whole or not at all", func(t *testing.T) {
			if n, err := db.PriceCount(ctx); err != nil || n != 0 {
				t.Errorf("PriceCount before import = %d, %v", n, err)
			}
			must(t, db.ImportPrices(ctx, []roster.Price{{Country: "US", VoicePerMinute: 1000, SMSPerMessage: 5}, {Country: "FR", VoicePerMinute: 2000, SMSPerMessage: 7}}))
			if n, err := db.PriceCount(ctx); err != nil || n != 2 {
				t.Errorf("PriceCount = %d, %v", n, err)
			}
			if p, err := db.Price(ctx, "FR"); err != nil || p != (roster.Price{Country: "FR", VoicePerMinute: 2000, SMSPerMessage: 7}) {
				t.Errorf("Price(FR) = %+v, %v", p, err)
			}
			if _, err := db.Price(ctx, "XX"); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("Price(XX): %v", err)
			}
			if err := db.ImportPrices(ctx, []roster.Price{{Country: "DE", VoicePerMinute: 1}, {Country: "DE", VoicePerMinute: 2}}); !errors.Is(err, store.ErrUnique) {
				t.Errorf("a country twice: %v, want ErrUnique", err)
			}
			if err := db.ImportPrices(ctx, []roster.Price{{Country: "DE", VoicePerMinute: 1}, {Country: "GB", VoicePerMinute: -1}}); err == nil {
				t.Error("the schema took a negative price")
			}
			if n, _ := db.PriceCount(ctx); n != 2 {
				t.Errorf("a refused import changed the table: %d prices", n)
			}
			must(t, db.ImportPrices(ctx, []roster.Price{{Country: "GB", VoicePerMinute: 3, SMSPerMessage: 4}}))
			if _, err := db.Price(ctx, "US"); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("an import keeps an old country: %v", err)
			}
		})

		t.Run("logs: filtered by kind, number and time, newest first", func(t *testing.T) {
			t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
			recs := []roster.LogRecord{
				{Kind: "call", FromNumber: "+14155550100", ToNumber: "+33123456789", Direction: "outbound", Status: "completed", DurationSeconds: 61, StartedAt: t0},
				{Kind: "message", FromNumber: "+33123456789", ToNumber: "+14155550100", Direction: "inbound", Status: "delivered", StartedAt: t0.Add(time.Hour)},
				{Kind: "call", FromNumber: "+442079460000", ToNumber: "+14155550101", Direction: "inbound", Status: "busy", StartedAt: t0.Add(2 * time.Hour)},
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.AddLogs(ctx, a.Seq, recs) })
			if err := call(func(tx *store.Tx) error {
				return tx.AddLogs(ctx, a.Seq, []roster.LogRecord{{Kind: "fax", Direction: "inbound", StartedAt: t0}})
			}); err == nil {
				t.Error("the schema took a log of kind fax")
			}
			all, total, err := db.Logs(ctx, a.Seq, roster.LogFilter{}, roster.Page{Limit: 10})
			must(t, err)
			if total != 3 || len(all) != 3 || all[0].Status != "busy" || all[2].Status != "completed" {
				t.Fatalf("Logs = %+v (%d)", all, total)
			}
			got := all[2]
			want := recs[0]
			want.ID = got.ID
			if got != want {
				t.Errorf("log read back\n got %+v\nwant %+v", got, want)
			}
			for _, c := range []struct {
				f    roster.LogFilter
				want []string
			}{
				{roster.LogFilter{Kind: "call"}, []string{"busy", "completed"}},
				{roster.LogFilter{Number: "+14155550100"}, []string{"delivered", "completed"}},
				{roster.LogFilter{From: t0.Add(time.Hour)}, []string{"busy", "delivered"}},
				{roster.LogFilter{To: t0.Add(time.Hour)}, []string{"completed"}},
				{roster.LogFilter{Kind: "call", Number: "+33123456789", From: t0, To: t0.Add(time.Minute)}, []string{"completed"}},
				{roster.LogFilter{Kind: "message", Number: "+442079460000"}, nil},
			} {
				list, total, err := db.Logs(ctx, a.Seq, c.f, roster.Page{Limit: 10})
				var got []string
				for _, r := range list {
					got = append(got, r.Status)
				}
				if err != nil || total != len(c.want) || fmt.Sprint(got) != fmt.Sprint(c.want) {
					t.Errorf("Logs(%+v) = %v (%d, %v), want %v", c.f, got, total, err, c.want)
				}
			}
			if page, total, _ := db.Logs(ctx, a.Seq, roster.LogFilter{}, roster.Page{Limit: 1, Offset: 1}); total != 3 || len(page) != 1 || page[0].Status != "delivered" {
				t.Errorf("second page %+v", page)
			}
		})

		t.Run("API keys: a member's, listed, touched, found, deleted", func(t *testing.T) {
			dev := newMember(t, db, a, "dev@x.example", roster.RoleDeveloper)
			var k1, k2 int64
			var rev int64
			made := c.now
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				if k1, err = tx.CreateAPIKey(ctx, a.Seq, dev, "ci", "rk_aaaa", hash("key-1")); err != nil {
					return err
				}
				rev = tx.Revision()
				k2, err = tx.CreateAPIKey(ctx, a.Seq, owner, "ops", "rk_bbbb", hash("key-2"))
				return err
			})
			if cs, _ := db.ChangesSince(ctx, rev-1, 1); len(cs) != 1 || cs[0].Rev != rev || cs[0].AccountSeq != a.Seq || cs[0].UserID != dev {
				t.Errorf("change %v", cs)
			}
			if err := call(func(tx *store.Tx) error {
				_, err := tx.CreateAPIKey(ctx, a.Seq, dev, "dup", "rk_cccc", hash("key-1"))
				return err
			}); !errors.Is(err, store.ErrUnique) {
				t.Errorf("a key hash twice: %v, want ErrUnique", err)
			}
			// A key belongs to a membership: none for a non-member.
			if err := call(func(tx *store.Tx) error {
				_, err := tx.CreateAPIKey(ctx, b.Seq, dev, "x", "rk_dddd", hash("key-3"))
				return err
			}); err == nil {
				t.Error("a key for a user who is not a member")
			}
			keys, err := db.APIKeys(ctx, dev)
			if err != nil || fmt.Sprint(keys) != fmt.Sprint([]roster.APIKey{{ID: k1, AccountID: a.ID, Name: "ci", Prefix: "rk_aaaa", CreatedAt: made}}) {
				t.Errorf("APIKeys = %+v, %v", keys, err)
			}
			mk, err := db.MemberKeys(ctx, a.Seq, dev)
			if err != nil || len(mk) != 1 || !slices.Equal(mk[k1], hash("key-1")) {
				t.Errorf("MemberKeys = %x, %v", mk, err)
			}
			all := map[int64]string{}
			must(t, db.AllKeys(ctx, func(id, acct, uid int64, h []byte) { all[id] = fmt.Sprintf("%d %d %x", acct, uid, h) }))
			if fmt.Sprint(all) != fmt.Sprint(map[int64]string{k1: fmt.Sprintf("%d %d %x", a.Seq, dev, hash("key-1")), k2: fmt.Sprintf("%d %d %x", a.Seq, owner, hash("key-2"))}) {
				t.Errorf("AllKeys = %v", all)
			}
			for h, want := range map[string]bool{"key-1": true, "key-2": true, "key-3": false} {
				if ok, err := db.APIKeyExists(ctx, hash(h)); err != nil || ok != want {
					t.Errorf("APIKeyExists(%s) = %v, %v", h, ok, err)
				}
			}
			lastUsed := func() *time.Time {
				keys, _ := db.APIKeys(ctx, dev)
				return keys[0].LastUsedAt
			}
			must(t, db.TouchAPIKey(ctx, k1))
			if at := lastUsed(); at == nil || !at.Equal(c.now) {
				t.Errorf("LastUsedAt after a touch: %v, want %v", at, c.now)
			}
			first := c.now
			c.add(30 * time.Second)
			must(t, db.TouchAPIKey(ctx, k1))
			if at := lastUsed(); at == nil || !at.Equal(first) {
				t.Errorf("a touch within the minute recorded: %v", at)
			}
			c.add(time.Minute)
			must(t, db.TouchAPIKey(ctx, k1))
			if at := lastUsed(); at == nil || !at.Equal(c.now) {
				t.Errorf("a touch after the minute not recorded: %v", at)
			}
			// DeleteAPIKey names the user: another user's key is not found,
			// as a key that does not exist.
			sameAsMissing(t, "DeleteAPIKey",
				call(func(tx *store.Tx) error { _, _, _, err := tx.DeleteAPIKey(ctx, dev, k2); return err }),
				call(func(tx *store.Tx) error { _, _, _, err := tx.DeleteAPIKey(ctx, dev, missing); return err }), store.ErrNoRows)
			mustTx(t, db, func(tx *store.Tx) error {
				acct, prefix, name, err := tx.DeleteAPIKey(ctx, dev, k1)
				if err == nil && (acct != a.Seq || prefix != "rk_aaaa" || name != "ci" || tx.Revision() == 0) {
					t.Errorf("DeleteAPIKey = %d %q %q (revision %d)", acct, prefix, name, tx.Revision())
				}
				return err
			})
			if ok, _ := db.APIKeyExists(ctx, hash("key-1")); ok {
				t.Error("a deleted key exists")
			}
			// Removing the member removes their keys.
			mustTx(t, db, func(tx *store.Tx) error {
				_, err := tx.CreateAPIKey(ctx, a.Seq, dev, "again", "rk_eeee", hash("key-4"))
				return err
			})
			mustTx(t, db, func(tx *store.Tx) error { return tx.DeleteMember(ctx, a.Seq, dev) })
			if keys, _ := db.APIKeys(ctx, dev); len(keys) != 0 {
				t.Errorf("a removed member's keys: %+v", keys)
			}
		})

		t.Run("tenant", func(t *testing.T) {
			// a holds one row of each kind; b asks for them.
			var appA int64
			var pmA int64
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				if appA, err = tx.CreateApplication(ctx, a.Seq, roster.Application{Name: "a's", AnswerURL: "u", AnswerMethod: "GET"}); err != nil {
					return err
				}
				if err := tx.AddNumber(ctx, a.Seq, roster.Number{Number: "+14155550155", Alias: "a's number", ApplicationID: &appA}); err != nil {
					return err
				}
				if pmA, err = tx.AddPaymentMethod(ctx, a.Seq, roster.PaymentMethod{Brand: "visa", Last4: "1111", ExpMonth: 1, ExpYear: 2031}); err != nil {
					return err
				}
				return tx.SaveSettings(ctx, a.Seq, roster.Settings{Name: "A", Company: "A Co", Timezone: "UTC"})
			})
			n := roster.Number{Number: "+14155550155", Alias: "b's now"}
			m := roster.Number{Number: "+14155550156", Alias: "b's now"}
			sameAsMissing(t, "Number",
				call(func(tx *store.Tx) error { _, err := tx.Number(ctx, b.Seq, n.Number); return err }),
				call(func(tx *store.Tx) error { _, err := tx.Number(ctx, b.Seq, m.Number); return err }), store.ErrNoRows)
			sameAsMissing(t, "UpdateNumber",
				call(func(tx *store.Tx) error { return tx.UpdateNumber(ctx, b.Seq, n) }),
				call(func(tx *store.Tx) error { return tx.UpdateNumber(ctx, b.Seq, m) }), store.ErrNoRows)
			sameAsMissing(t, "DeleteNumber",
				call(func(tx *store.Tx) error { return tx.DeleteNumber(ctx, b.Seq, n.Number) }),
				call(func(tx *store.Tx) error { return tx.DeleteNumber(ctx, b.Seq, m.Number) }), store.ErrNoRows)
			sameAsMissing(t, "Application",
				call(func(tx *store.Tx) error { _, err := tx.Application(ctx, b.Seq, appA); return err }),
				call(func(tx *store.Tx) error { _, err := tx.Application(ctx, b.Seq, missing); return err }), store.ErrNoRows)
			sameAsMissing(t, "UpdateApplication",
				call(func(tx *store.Tx) error {
					return tx.UpdateApplication(ctx, b.Seq, roster.Application{ID: appA, Name: "b's", AnswerURL: "u", AnswerMethod: "GET"})
				}),
				call(func(tx *store.Tx) error {
					return tx.UpdateApplication(ctx, b.Seq, roster.Application{ID: missing, Name: "b's", AnswerURL: "u", AnswerMethod: "GET"})
				}), store.ErrNoRows)
			sameAsMissing(t, "DeleteApplication",
				call(func(tx *store.Tx) error { return tx.DeleteApplication(ctx, b.Seq, appA) }),
				call(func(tx *store.Tx) error { return tx.DeleteApplication(ctx, b.Seq, missing) }), store.ErrNoRows)
			sameAsMissing(t, "DeletePaymentMethod",
				call(func(tx *store.Tx) error { return tx.DeletePaymentMethod(ctx, b.Seq, pmA) }),
				call(func(tx *store.Tx) error { return tx.DeletePaymentMethod(ctx, b.Seq, missing) }), store.ErrNoRows)
			// a has credentials, b has none.
			_, _, _, errB := db.Credentials(ctx, b.Seq)
			_, _, _, errM := db.Credentials(ctx, missing)
			sameAsMissing(t, "Credentials", errB, errM, store.ErrNoRows)
			sameAsMissing(t, "CurrentToken",
				call(func(tx *store.Tx) error { _, err := tx.CurrentToken(ctx, b.Seq); return err }),
				call(func(tx *store.Tx) error { _, err := tx.CurrentToken(ctx, missing); return err }), store.ErrNoRows)
			sameAsMissing(t, "RotateCredentials",
				call(func(tx *store.Tx) error { return tx.RotateCredentials(ctx, b.Seq, "b's", nil, time.Time{}) }),
				call(func(tx *store.Tx) error { return tx.RotateCredentials(ctx, missing, "b's", nil, time.Time{}) }), store.ErrNoRows)

			// The writes b may make leave a's rows as they were.
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.SaveSettings(ctx, b.Seq, roster.Settings{Name: "B", Company: "B Co", Timezone: "UTC"}); err != nil {
					return err
				}
				if err := tx.SetAutoRecharge(ctx, b.Seq, roster.AutoRecharge{Enabled: true, ThresholdUSD: 1, AmountUSD: 2}); err != nil {
					return err
				}
				if _, err := tx.AddRecharge(ctx, b.Seq, 1); err != nil {
					return err
				}
				if err := tx.EnsureCredentials(ctx, b.Seq, "b-token"); err != nil {
					return err
				}
				return tx.AddLogs(ctx, b.Seq, []roster.LogRecord{{Kind: "call", Direction: "inbound", Status: "b's", StartedAt: c.now}})
			})
			mustTx(t, db, func(tx *store.Tx) error {
				if s, _ := tx.Settings(ctx, a.Seq); s.Company != "A Co" {
					t.Errorf("a's settings after b's save: %+v", s)
				}
				if ar, _ := tx.AutoRecharge(ctx, a.Seq); ar.ThresholdUSD != 10 {
					t.Errorf("a's auto-recharge after b's: %+v", ar)
				}
				if tok, _ := tx.CurrentToken(ctx, a.Seq); tok != "token-3" {
					t.Errorf("a's token after b's: %q", tok)
				}
				if got, err := tx.Number(ctx, a.Seq, n.Number); err != nil || got.Alias != "a's number" {
					t.Errorf("a's number after b's writes: %+v %v", got, err)
				}
				if got, err := tx.Application(ctx, a.Seq, appA); err != nil || got.Name != "a's" {
					t.Errorf("a's application after b's writes: %+v %v", got, err)
				}
				if n, _ := tx.PaymentMethodCount(ctx, b.Seq); n != 0 {
					t.Errorf("b counts %d cards", n)
				}
				return nil
			})
			// b's lists hold none of a's rows.
			if list, total, err := db.Numbers(ctx, b.Seq, "", roster.Page{Limit: 100}); err != nil || total != 0 || len(list) != 0 {
				t.Errorf("b's numbers: %+v (%d, %v)", list, total, err)
			}
			if list, total, err := db.Applications(ctx, b.Seq, roster.Page{Limit: 100}); err != nil || total != 0 || len(list) != 0 {
				t.Errorf("b's applications: %+v (%d, %v)", list, total, err)
			}
			if list, total, err := db.Logs(ctx, b.Seq, roster.LogFilter{}, roster.Page{Limit: 100}); err != nil || total != 1 || len(list) != 1 || list[0].Status != "b's" {
				t.Errorf("b's logs: %+v (%d, %v)", list, total, err)
			}
			if bl, err := db.Billing(ctx, b.Seq); err != nil || bl.Balance != 1 || len(bl.Recharges) != 1 || len(bl.PaymentMethods) != 0 || len(bl.Invoices) != 1 {
				t.Errorf("b's billing: %+v, %v", bl, err)
			}
			if bl, _ := db.Billing(ctx, a.Seq); bl.Balance != 1500 || len(bl.PaymentMethods) != 1 {
				t.Errorf("a's billing after b's recharge: %+v", bl)
			}
			if mk, err := db.MemberKeys(ctx, b.Seq, owner); err != nil || len(mk) != 0 {
				t.Errorf("b's keys of a's owner: %v %v", mk, err)
			}
			if keys, _ := db.APIKeys(ctx, bOwner); len(keys) != 0 {
				t.Errorf("b's owner lists keys %+v", keys)
			}
		})

		t.Run("tenant: a number links only its own account's application", func(t *testing.T) {
			t.Skip("BUG: numbers.application_id references applications (id) alone, so AddNumber and UpdateNumber of account b take account a's application ID; a composite foreign key (account_id, application_id) -> applications (account_id, id) needs a migration (service.linkedApp checks it today)")
			apps, _, _ := db.Applications(ctx, a.Seq, roster.Page{Limit: 1})
			appA := apps[0].ID
			bad := int64(missing)
			link := func(id *int64) error {
				return call(func(tx *store.Tx) error {
					return tx.AddNumber(ctx, b.Seq, roster.Number{Number: "+14155550160", ApplicationID: id})
				})
			}
			if err := link(&bad); err == nil {
				t.Fatal("a link to an application that does not exist")
			}
			if err := link(&appA); err == nil {
				t.Error("account b's number linked to account a's application")
			}
		})

		t.Run("numbers: the alias filter folds case alike on both databases", func(t *testing.T) {
			t.Skip("BUG: Numbers filters with LOWER(alias) LIKE ?, and SQLite's LOWER folds ASCII only while PostgreSQL's folds every letter: an alias \"ÉCOLE\" is found by \"école\" on PostgreSQL and not on SQLite")
			mustTx(t, db, func(tx *store.Tx) error {
				return tx.AddNumber(ctx, b.Seq, roster.Number{Number: "+14155550170", Alias: "ÉCOLE"})
			})
			if list, _, err := db.Numbers(ctx, b.Seq, "école", roster.Page{Limit: 10}); err != nil || len(list) != 1 {
				t.Errorf("Numbers(alias école) = %+v, %v; want the number aliased ÉCOLE", list, err)
			}
		})

		t.Run("numbers: the alias filter finds an alias with _ or %", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				return tx.AddNumber(ctx, b.Seq, roster.Number{Number: "+14155550171", Alias: "sales_uk 50%"})
			})
			for _, q := range []string{"sales_uk", "50%"} {
				if list, _, err := db.Numbers(ctx, b.Seq, q, roster.Page{Limit: 10}); err != nil || len(list) != 1 {
					t.Errorf("Numbers(alias %q) = %+v, %v; want the number aliased \"sales_uk 50%%\"", q, list, err)
				}
			}
			if list, _, _ := db.Numbers(ctx, b.Seq, "s_les", roster.Page{Limit: 10}); len(list) != 0 {
				t.Errorf("_ matched any character: %+v", list)
			}
		})

		t.Run("the audit log: since when the Auth Token was readable, who read it, who left", func(t *testing.T) {
			pOwner, p := fixture(t, db, "p-owner@x.example")
			qOwner, q := fixture(t, db, "q-owner@x.example")
			pAdmin := newMember(t, db, p, "p-admin@x.example", roster.RoleAdmin)
			as := func(uid int64, email string) roster.Actor {
				return roster.Actor{UserID: uid, Email: email, IP: "192.0.2.1"}
			}
			audit := func(t *testing.T, acct int64, actor roster.Actor, action, target, detail string) {
				t.Helper()
				mustTx(t, db, func(tx *store.Tx) error { return tx.Audit(ctx, acct, actor, action, target, detail) })
			}
			// rotate rotates acct's token, as the service does: the new
			// token, the old one's grace, and the audit event, in one
			// transaction.
			rotate := func(t *testing.T, acct roster.Account, actor roster.Actor, token, old string, keepUntil time.Time) {
				t.Helper()
				mustTx(t, db, func(tx *store.Tx) error {
					if err := tx.RotateCredentials(ctx, acct.Seq, token, hash(old), keepUntil); err != nil {
						return err
					}
					return tx.Audit(ctx, acct.Seq, actor, "credentials.rotate", acct.ID, "")
				})
			}
			readable := func(t *testing.T, acct int64, now, want time.Time, wantOK bool) {
				t.Helper()
				since, ok, err := db.TokenReadableSince(ctx, acct, now)
				if err != nil || ok != wantOK || !since.Equal(want) {
					t.Errorf("TokenReadableSince(%d, %v) = %v, %v, %v; want %v, %v", acct, now, since, ok, err, want, wantOK)
				}
			}
			var zero time.Time

			// No token yet: not ok, as for an account that does not exist.
			readable(t, p.Seq, c.now, zero, false)
			readable(t, missing, c.now, zero, false)
			c.add(time.Second)
			t1 := c.now
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.EnsureCredentials(ctx, p.Seq, "p-1"); err != nil {
					return err
				}
				return tx.EnsureCredentials(ctx, q.Seq, "q-1")
			})
			readable(t, p.Seq, t1, t1, true)
			audit(t, p.Seq, as(pOwner, "p-owner@x.example"), "credentials.view", p.ID, "")
			c.add(time.Minute)
			audit(t, p.Seq, as(pAdmin, "p-admin@x.example"), "credentials.view", p.ID, "")
			audit(t, p.Seq, as(pAdmin, "p-admin@x.example"), "settings.view", p.ID, "") // not a read of the token
			c.add(time.Minute)
			audit(t, p.Seq, as(0, "operator"), "credentials.view", p.ID, "") // no user: the operator
			audit(t, q.Seq, as(qOwner, "q-owner@x.example"), "credentials.view", q.ID, "")

			// A rotation with a grace period: the old token works on, and it
			// was readable since it was made (not recorded here: the zero
			// time) until the grace ends; then since the rotation.
			c.add(time.Hour)
			t2 := c.now
			rotate(t, p, as(pOwner, "p-owner@x.example"), "p-2", "p-1", t2.Add(24*time.Hour))
			readable(t, p.Seq, t2, zero, true)
			readable(t, p.Seq, t2.Add(24*time.Hour-time.Microsecond), zero, true)
			readable(t, p.Seq, t2.Add(24*time.Hour), t2, true)
			// The next rotation with a grace: readable since the one before.
			c.add(time.Hour)
			t3 := c.now
			rotate(t, p, as(pOwner, "p-owner@x.example"), "p-3", "p-2", t3.Add(24*time.Hour))
			readable(t, p.Seq, t3, t2, true)
			readable(t, p.Seq, t3.Add(24*time.Hour), t3, true)
			// q's first rotation, at t3: p's rotation at t2 is not q's.
			rotate(t, q, as(qOwner, "q-owner@x.example"), "q-2", "q-1", t3.Add(24*time.Hour))
			readable(t, q.Seq, t3, zero, true)
			// Without a grace the old token dies at once.
			c.add(time.Hour)
			t4 := c.now
			rotate(t, p, as(pOwner, "p-owner@x.example"), "p-4", "p-3", time.Time{})
			readable(t, p.Seq, t4, t4, true)

			// TokenReads: by person, the latest first, from since on (a read
			// at since counts), views and rotations only, the account's own.
			reads := func(t *testing.T, acct int64, since time.Time, want []store.TokenRead) {
				t.Helper()
				got, err := db.TokenReads(ctx, acct, since)
				if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("TokenReads(%d, %v) = %+v, %v\nwant %+v", acct, since, got, err, want)
				}
			}
			owner := func(n int) store.TokenRead {
				return store.TokenRead{UserID: pOwner, Email: "p-owner@x.example", Reads: n, Last: t4}
			}
			op := store.TokenRead{UserID: 0, Email: "operator", Reads: 1, Last: t1.Add(2 * time.Minute)}
			admin := store.TokenRead{UserID: pAdmin, Email: "p-admin@x.example", Reads: 1, Last: t1.Add(time.Minute)}
			reads(t, p.Seq, t1, []store.TokenRead{owner(4), op, admin})
			reads(t, p.Seq, t1.Add(time.Minute), []store.TokenRead{owner(3), op, admin})
			reads(t, p.Seq, t1.Add(time.Minute+time.Microsecond), []store.TokenRead{owner(3), op})
			reads(t, p.Seq, t4.Add(time.Microsecond), nil)
			reads(t, q.Seq, t1, []store.TokenRead{{UserID: qOwner, Email: "q-owner@x.example", Reads: 2, Last: t3}})
			reads(t, missing, t1, nil)

			// Departures: removals and leavings, newest first, with the
			// person's name now when they still have a user.
			dev := newMember(t, db, p, "p-dev@x.example", roster.RoleDeveloper)
			c.add(time.Hour)
			t5 := c.now
			audit(t, p.Seq, as(pOwner, "p-owner@x.example"), "member.delete", "p-dev@x.example", roster.RoleDeveloper.String())
			c.add(time.Minute)
			audit(t, p.Seq, as(0, "gone@x.example"), "member.leave", "gone@x.example", "")
			audit(t, p.Seq, as(pOwner, "p-owner@x.example"), "member.add", "p-new@x.example", roster.RoleSupport.String()) // not a departure
			audit(t, q.Seq, as(qOwner, "q-owner@x.example"), "member.delete", "p-admin@x.example", roster.RoleSupport.String())
			departures := func(t *testing.T, acct int64, since time.Time, want []store.Departure) {
				t.Helper()
				got, err := db.Departures(ctx, acct, since)
				if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("Departures(%d, %v) = %+v, %v\nwant %+v", acct, since, got, err, want)
				}
			}
			left := store.Departure{Email: "gone@x.example", At: t5.Add(time.Minute)}
			removed := store.Departure{UserID: dev, Email: "p-dev@x.example", Name: "Name p-dev@x.example", Role: "developer", Removed: true, At: t5}
			departures(t, p.Seq, t1, []store.Departure{left, removed})
			departures(t, p.Seq, t5, []store.Departure{left, removed})
			departures(t, p.Seq, t5.Add(time.Microsecond), []store.Departure{left})
			departures(t, q.Seq, t5, []store.Departure{{UserID: pAdmin, Email: "p-admin@x.example", Name: "Name p-admin@x.example", Role: "support", Removed: true, At: t5.Add(time.Minute)}})
			departures(t, missing, t1, nil)
		})
	})
}
