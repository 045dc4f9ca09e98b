package store_test

import (
	"context"
	"testing"

	"github.com/rosterhq/roster/store"
)

// --- replicas.go: ReadsPrimary

// TestConformance_ReadsPrimary: a context reads the primary whatever the
// read pool only under WithPrimary, which the contexts made from it keep
// (the check index's keeper asks, to know whether a catch-up's read can
// confirm the index by itself).
func TestConformance_ReadsPrimary(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if store.ReadsPrimary(ctx) || store.ReadsPrimary(store.ReadAtLeast(ctx, 5)) {
		t.Error("a context without WithPrimary reads the primary")
	}
	p := store.WithPrimary(ctx)
	for name, c := range map[string]context.Context{
		"WithPrimary": p, "ReadAtLeast of it": store.ReadAtLeast(p, 5), "WithoutCancel of it": context.WithoutCancel(p),
	} {
		if !store.ReadsPrimary(c) {
			t.Errorf("%s: ReadsPrimary false", name)
		}
	}
}
