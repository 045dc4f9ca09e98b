package store_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/rosterhq/roster/store"
)

// --- listen.go

// Listen wakes a follower when another connection commits a change (on
// PostgreSQL), and on SQLite returns at once: followers poll the file.
func TestConformance_Listen(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		wake := make(chan struct{}, 1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			db.Listen(ctx, wake, slog.New(slog.DiscardHandler))
		}()
		wait := func(what string) bool {
			t.Helper()
			select {
			case <-wake:
				return true
			case <-time.After(10 * time.Second):
				t.Errorf("no wake-up %s", what)
				return false
			}
		}
		if db.Dialect() == "sqlite" {
			if got := db.TakeAnnounced(); got != 0 {
				t.Errorf("TakeAnnounced on SQLite = %d", got)
			}
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Listen on SQLite did not return")
			}
			select {
			case <-wake:
				t.Error("Listen on SQLite woke its follower")
			default:
			}
			return
		}
		// Once connected it wakes the follower to catch up.
		if !wait("on connecting") {
			return
		}
		select {
		case <-wake:
			t.Error("woken with nothing committed")
		case <-time.After(100 * time.Millisecond):
		}
		if got := db.TakeAnnounced(); got != 0 {
			t.Errorf("TakeAnnounced after connecting = %d, want 0 (nothing announced)", got)
		}
		_, a := fixture(t, db, "o@x.example") // a commit with changes
		wait("after a committed change")
		// The notification names the commit's revision, taken once.
		latest, err := db.LatestRevision(ctx)
		must(t, err)
		if got := db.TakeAnnounced(); got != latest {
			t.Errorf("TakeAnnounced after a commit = %d, want its revision %d", got, latest)
		}
		if got := db.TakeAnnounced(); got != 0 {
			t.Errorf("TakeAnnounced a second time = %d, want 0", got)
		}
		// A transaction that records nothing, or rolls back, wakes no one.
		mustTx(t, db, func(tx *store.Tx) error { return tx.SetAccountName(ctx, a.Seq, "renamed") })
		db.Transact(ctx, func(tx *store.Tx) error {
			if _, err := tx.Changed(ctx, a.Seq, 0); err != nil {
				return err
			}
			return context.Canceled
		})
		select {
		case <-wake:
			t.Error("woken by a transaction that recorded no committed change")
		case <-time.After(300 * time.Millisecond):
		}
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Listen did not return when its context ended")
		}
	})
}
