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

// --- idempotency.go

func TestConformance_IdempotencyKeys(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := setClock(db, time.Now().UTC().Truncate(time.Microsecond))
		id, fp := hash("scope and key"), hash("request")
		tokA, tokB := []byte("token A"), []byte("token B")
		claim := func(fingerprint, token []byte) store.IdempotencyState {
			t.Helper()
			got, err := db.ClaimIdempotencyKey(ctx, id, fingerprint, token, time.Minute)
			must(t, err)
			return got.State
		}
		// work is the request's change: one user, in a transaction that
		// runs with the key held by token.
		made := 0
		work := func(token []byte) error {
			made++
			return db.Transact(store.WithIdempotencyKey(ctx, id, token), func(tx *store.Tx) error {
				_, err := tx.CreateUser(ctx, fmt.Sprintf("work%d@acme-corp.com", made), "Work", "hash", true)
				return err
			})
		}
		accounts := func() int {
			var n int
			must(t, db.SQL().QueryRow(`SELECT COUNT(*) FROM users WHERE name = 'Work'`).Scan(&n))
			return n
		}

		if s := claim(fp, tokA); s != store.IdempotencyClaimed {
			t.Fatalf("first claim %v", s)
		}
		if s := claim(fp, tokB); s != store.IdempotencyRunning {
			t.Errorf("a claim while A holds the key: %v, want Running", s)
		}
		if s := claim(hash("another request"), tokB); s != store.IdempotencyMismatch {
			t.Errorf("another request's claim: %v, want Mismatch", s)
		}
		// A dies before anything committed: after the lease, B takes over,
		// and A's late transaction is refused (rolled back), so the work
		// is done once, by B.
		c.add(2 * time.Minute)
		if s := claim(fp, tokB); s != store.IdempotencyClaimed {
			t.Fatalf("a claim after A's lease ended, nothing committed: %v, want Claimed", s)
		}
		if err := work(tokA); roster.ErrorCode(err) != roster.ECONFLICT {
			t.Errorf("A's transaction after B took over: %v, want ECONFLICT", err)
		}
		must(t, work(tokB))
		must(t, work(tokB)) // a request may run several transactions
		if n := accounts(); n != 2 {
			t.Fatalf("%d users, want B's 2", n)
		}
		// B committed, then died without an answer: after the lease a retry
		// learns the answer was lost, never runs again.
		if s := claim(fp, tokA); s != store.IdempotencyRunning {
			t.Errorf("a claim during B's lease: %v, want Running", s)
		}
		c.add(2 * time.Minute)
		if s := claim(fp, tokA); s != store.IdempotencyLost {
			t.Errorf("a claim after B committed and died: %v, want Lost", s)
		}
		// Release of a committed key ends its lease, keeps it.
		if err := db.ReleaseIdempotencyKey(ctx, id, tokB); err != nil {
			t.Errorf("release: %v", err)
		}
		if err := db.AnswerIdempotencyKey(ctx, id, tokA, []byte("not A's")); !errors.Is(err, store.ErrNoRows) {
			t.Errorf("an answer by a request that does not hold the key: %v, want ErrNoRows", err)
		}
		must(t, db.AnswerIdempotencyKey(ctx, id, tokB, []byte("sealed answer")))
		got, err := db.ClaimIdempotencyKey(ctx, id, fp, tokA, time.Minute)
		if err != nil || got.State != store.IdempotencyAnswered || string(got.Answer) != "sealed answer" {
			t.Errorf("a claim of an answered key: %+v, %v", got, err)
		}
		// After IdempotencyRetention the key is new, before any prune.
		c.add(store.IdempotencyRetention)
		if s := claim(hash("a new request"), tokA); s != store.IdempotencyClaimed {
			t.Errorf("a claim a day later: %v, want Claimed", s)
		}
		// A request that committed nothing releases the key: deleted.
		must(t, db.ReleaseIdempotencyKey(ctx, id, tokA))
		var n int
		must(t, db.SQL().QueryRow(`SELECT COUNT(*) FROM idempotency_keys`).Scan(&n))
		if n != 0 {
			t.Errorf("%d rows after releasing a key that did nothing, want 0", n)
		}
		// Without a key in the context, Transact marks nothing.
		must(t, db.Transact(ctx, func(tx *store.Tx) error { return nil }))
	})
}
