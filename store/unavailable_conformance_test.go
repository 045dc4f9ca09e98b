package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
)

// --- unavailable.go

func TestConformance_Unavailable(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		t.Run("Bound sets the timeout unless the context ends sooner", func(t *testing.T) {
			old := db.Timeout
			defer func() { db.Timeout = old }()
			db.Timeout = time.Minute
			ctx, cancel := db.Bound(context.Background())
			d, ok := ctx.Deadline()
			cancel()
			if !ok || time.Until(d) > time.Minute || time.Until(d) < 50*time.Second {
				t.Errorf("Bound of a context without deadline: %v, %v", d, ok)
			}
			sooner, cancelSooner := context.WithTimeout(context.Background(), time.Second)
			defer cancelSooner()
			ctx, cancel = db.Bound(sooner)
			if d2, _ := ctx.Deadline(); ctx != sooner || d2.After(time.Now().Add(time.Second)) {
				t.Errorf("Bound replaced a sooner deadline")
			}
			cancel()
			db.Timeout = 0
			ctx, cancel = db.Bound(context.Background())
			if _, ok := ctx.Deadline(); ok {
				t.Errorf("Bound with Timeout 0 set a deadline")
			}
			cancel()
		})

		t.Run("a canceled caller is ErrCanceled, EUNAVAILABLE, and keeps its cause", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := db.Account(ctx, store.NewAuthID())
			if !errors.Is(err, store.ErrCanceled) || !errors.Is(err, context.Canceled) || roster.ErrorCode(err) != roster.EUNAVAILABLE {
				t.Errorf("Account with a canceled context: %v", err)
			}
			err = db.Transact(ctx, func(tx *store.Tx) error { return nil })
			if !errors.Is(err, store.ErrCanceled) || !errors.Is(err, context.Canceled) {
				t.Errorf("Transact with a canceled context: %v", err)
			}
		})

		t.Run("a passed deadline is ErrUnavailable with Retry-After, not a 404", func(t *testing.T) {
			ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
			defer cancel()
			_, err := db.Account(ctx, store.NewAuthID())
			if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, store.ErrNoRows) ||
				roster.RetryAfter(err) <= 0 || roster.ErrorMessage(err) != store.ErrUnavailable.Message {
				t.Errorf("Account past its deadline: %v (message %q)", err, roster.ErrorMessage(err))
			}
			err = db.Transact(ctx, func(tx *store.Tx) error { return nil })
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("Transact past its deadline: %v", err)
			}
			if _, err := db.Account(context.Background(), store.NewAuthID()); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("Account of no account, database up: %v, want ErrNoRows", err)
			}
		})
	})
}
