package store_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rosterhq/roster/store"
)

// --- formstates.go

func TestConformance_FormStates(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := setClock(db, time.Now().UTC().Truncate(time.Microsecond))
		key := func(s string) []byte { return []byte("hash of " + s) }

		t.Run("TakeFormState reads a state once", func(t *testing.T) {
			must(t, db.PutFormState(ctx, key("a"), []byte(`{"error":"x"}`), time.Minute))
			got, err := db.TakeFormState(ctx, key("a"))
			if err != nil || string(got) != `{"error":"x"}` {
				t.Fatalf("Take = %q, %v", got, err)
			}
			if _, err := db.TakeFormState(ctx, key("a")); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("second Take = %v, want ErrNoRows", err)
			}
			if _, err := db.TakeFormState(ctx, key("never")); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("Take of nothing = %v, want ErrNoRows", err)
			}
		})

		t.Run("PutFormState replaces the key's state; keys are apart", func(t *testing.T) {
			must(t, db.PutFormState(ctx, key("b"), []byte("first"), time.Minute))
			must(t, db.PutFormState(ctx, key("b"), []byte("second"), time.Minute))
			must(t, db.PutFormState(ctx, key("c"), bytes.Repeat([]byte{0, 255}, 40_000), time.Minute))
			if got, err := db.TakeFormState(ctx, key("b")); err != nil || string(got) != "second" {
				t.Errorf("Take b = %q, %v", got, err)
			}
			if got, err := db.TakeFormState(ctx, key("c")); err != nil || !bytes.Equal(got, bytes.Repeat([]byte{0, 255}, 40_000)) {
				t.Errorf("Take c = %d bytes, %v", len(got), err)
			}
		})

		t.Run("an expired state is not read, and Prune sweeps it", func(t *testing.T) {
			must(t, db.PutFormState(ctx, key("d"), []byte("old"), time.Minute))
			must(t, db.PutFormState(ctx, key("e"), []byte("old too"), time.Minute))
			must(t, db.PutFormState(ctx, key("f"), []byte("fresh"), time.Hour))
			c.add(time.Minute)
			if _, err := db.TakeFormState(ctx, key("d")); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("Take of an expired state = %v, want ErrNoRows", err)
			}
			res, err := db.Prune(ctx, c.now, store.Retention{})
			must(t, err)
			if res.FormStates != 1 { // e; d was deleted by its read, f is live
				t.Errorf("Prune swept %d form states, want 1", res.FormStates)
			}
			if got, err := db.TakeFormState(ctx, key("f")); err != nil || string(got) != "fresh" {
				t.Errorf("the live state after Prune = %q, %v", got, err)
			}
		})
	})
}
