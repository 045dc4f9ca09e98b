package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/store"
)

// --- mail.go

// sendAll claims every due mail and marks it sent, as a worker would.
func sendAll(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	for {
		ms, err := db.ClaimMail(ctx, time.Now(), 100, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		if err := db.MailDone(ctx, ids, "sent", time.Now()); err != nil {
			t.Fatal(err)
		}
		if len(ms) < 100 {
			return
		}
	}
}

// mailRow is what the outbox holds of one mail.
type mailRow struct {
	status, lastError string
	attempts          int
}

func readMail(t *testing.T, db *store.DB, id int64) mailRow {
	t.Helper()
	var r mailRow
	if err := db.SQL().QueryRowContext(context.Background(), `SELECT status, last_error, attempts FROM outbox WHERE id = `+fmt.Sprint(id)).
		Scan(&r.status, &r.lastError, &r.attempts); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestConformance_MailOutbox(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := setClock(db, time.Now().UTC().Truncate(time.Microsecond))
		woken := func() bool {
			select {
			case <-db.MailQueued():
				return true
			default:
				return false
			}
		}
		claim := func(t *testing.T, at time.Time) []store.OutboxMail {
			t.Helper()
			ms, err := db.ClaimMail(ctx, at, 10, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return ms
		}

		var first int64
		t.Run("QueueMail is written with its transaction, and wakes the worker at commit", func(t *testing.T) {
			boom := errors.New("boom")
			err := db.Transact(ctx, func(tx *store.Tx) error {
				if err := tx.QueueMail(ctx, "lost@x.example", "Rolled back", "b"); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) || woken() {
				t.Fatalf("rolled back: %v, woken %v", err, woken())
			}
			if n, err := db.MailPending(ctx); err != nil || n != 0 {
				t.Fatalf("a rolled-back mail is pending: %d, %v", n, err)
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.QueueMail(ctx, "to@x.example", "Subject", "Body") })
			if !woken() {
				t.Error("no wake-up after a commit that wrote mail")
			}
			mustTx(t, db, func(tx *store.Tx) error { return nil })
			if woken() {
				t.Error("a wake-up after a commit that wrote no mail")
			}
			ms := claim(t, time.Now())
			if len(ms) != 1 || ms[0].To != "to@x.example" || ms[0].Subject != "Subject" || ms[0].Body != "Body" ||
				ms[0].Attempts != 0 || !ms[0].CreatedAt.Equal(c.now) {
				t.Fatalf("claimed %+v", ms)
			}
			first = ms[0].ID
			if n, err := db.MailPending(ctx); err != nil || n != 1 {
				t.Errorf("MailPending = %d, %v; want 1 (claimed, not yet sent)", n, err)
			}
		})

		t.Run("a claimed mail is not claimed again until its lease ends", func(t *testing.T) {
			if ms := claim(t, time.Now()); len(ms) != 0 {
				t.Errorf("claimed again under the lease: %+v", ms)
			}
			ms := claim(t, time.Now().Add(2*time.Minute))
			if len(ms) != 1 || ms[0].ID != first {
				t.Fatalf("after the lease: %+v", ms)
			}
		})

		t.Run("MailFailed keeps it for its next try, with why", func(t *testing.T) {
			next := time.Now().Add(time.Hour)
			if err := db.MailFailed(ctx, first, "connection refused", next); err != nil {
				t.Fatal(err)
			}
			if r := readMail(t, db, first); r != (mailRow{"pending", "connection refused", 1}) {
				t.Errorf("after a failure: %+v", r)
			}
			if ms := claim(t, time.Now().Add(time.Minute)); len(ms) != 0 {
				t.Errorf("claimed before its next try: %+v", ms)
			}
			ms := claim(t, next)
			if len(ms) != 1 || ms[0].ID != first || ms[0].Attempts != 1 {
				t.Fatalf("at its next try: %+v", ms)
			}
		})

		t.Run("MailDone ends it: never claimed again", func(t *testing.T) {
			if err := db.MailDone(ctx, []int64{first}, "sent", time.Now()); err != nil {
				t.Fatal(err)
			}
			if r := readMail(t, db, first); r != (mailRow{"sent", "", 2}) {
				t.Errorf("after MailDone: %+v", r)
			}
			// Again, with another mail in the same call: the one done
			// already is left as it is, the other is done.
			mustTx(t, db, func(tx *store.Tx) error { return tx.QueueMail(ctx, "other@x.example", "Other", "Text") })
			ms := claim(t, time.Now())
			if len(ms) != 1 || ms[0].To != "other@x.example" {
				t.Fatalf("claimed %+v", ms)
			}
			other := ms[0].ID
			if err := db.MailDone(ctx, []int64{first, other}, "logged", time.Now()); err != nil {
				t.Fatal(err)
			}
			if r := readMail(t, db, first); r != (mailRow{"sent", "", 2}) {
				t.Errorf("a mail done twice: %+v", r)
			}
			if r := readMail(t, db, other); r != (mailRow{"logged", "", 1}) {
				t.Errorf("the other mail of the call: %+v", r)
			}
			if ms := claim(t, time.Now().Add(48*time.Hour)); len(ms) != 0 {
				t.Errorf("a sent mail claimed: %+v", ms)
			}
			if n, err := db.MailPending(ctx); err != nil || n != 0 {
				t.Errorf("MailPending = %d, %v; want 0", n, err)
			}
		})

		t.Run("MailFailed without a next try gives it up", func(t *testing.T) {
			if err := db.QueueMail(ctx, "gone@x.example", "S", "B"); err != nil {
				t.Fatal(err)
			}
			ms := claim(t, time.Now())
			if len(ms) != 1 {
				t.Fatalf("claimed %+v", ms)
			}
			if err := db.MailFailed(ctx, ms[0].ID, "550 no such user", time.Time{}); err != nil {
				t.Fatal(err)
			}
			if r := readMail(t, db, ms[0].ID); r != (mailRow{"failed", "550 no such user", 1}) {
				t.Errorf("given up: %+v", r)
			}
			if ms := claim(t, time.Now().Add(48*time.Hour)); len(ms) != 0 {
				t.Errorf("a mail given up claimed: %+v", ms)
			}
		})

		t.Run("concurrent claims take each mail once", func(t *testing.T) {
			const n = 40
			mustTx(t, db, func(tx *store.Tx) error {
				for i := range n {
					if err := tx.QueueMail(ctx, fmt.Sprintf("m%d@x.example", i), "S", "B"); err != nil {
						return err
					}
				}
				return nil
			})
			var mu sync.Mutex
			var got []int64
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						ms, err := db.ClaimMail(ctx, time.Now(), 3, time.Minute)
						if err != nil {
							t.Error(err)
							return
						}
						if len(ms) == 0 {
							return
						}
						mu.Lock()
						for _, m := range ms {
							got = append(got, m.ID)
						}
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			slices.Sort(got)
			if len(got) != n || len(slices.Compact(slices.Clone(got))) != n {
				t.Errorf("claimed %d mails (%d distinct), want each of %d once", len(got), len(slices.Compact(slices.Clone(got))), n)
			}
		})
	})
}
