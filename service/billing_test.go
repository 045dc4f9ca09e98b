package service_test

import (
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service"
)

// TestBilling_CreditNeedsACard: Recharge and turning auto-recharge on are
// ECONFLICT without a card, and change nothing; turning it off always
// works; removing the last card turns auto-recharge off.
func TestBilling_CreditNeedsACard(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		owner, a := e.signup("owner@acme-corp.com", "Owner")
		act := owner.actor()
		if _, err := e.svc.Recharge(e.ctx, a, 50, act); roster.ErrorCode(err) != roster.ECONFLICT || roster.ErrorMessage(err) != service.ErrNoPaymentMethod {
			t.Fatalf("recharge without a card: %v", err)
		}
		if _, err := e.svc.Recharge(e.ctx, a, 0, act); roster.ErrorCode(err) != roster.EINVALID {
			t.Errorf("a bad amount without a card: %v, want EINVALID first", err)
		}
		if _, err := e.svc.SetAutoRecharge(e.ctx, a, true, 5, 20, act); roster.ErrorCode(err) != roster.ECONFLICT {
			t.Fatalf("auto-recharge on without a card: %v", err)
		}
		if b, err := e.svc.Billing(e.ctx, a); err != nil || b.Balance != 0 || len(b.Recharges) != 0 || b.AutoRecharge.Enabled {
			t.Fatalf("refusals changed billing: %+v %v", b, err)
		}
		if _, err := e.svc.SetAutoRecharge(e.ctx, a, false, 5, 20, act); err != nil {
			t.Fatalf("auto-recharge off without a card: %v", err)
		}
		pm, err := e.svc.AddPaymentMethod(e.ctx, a, "4242424242424242", 12, 2030, act)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Recharge(e.ctx, a, 50, act); err != nil {
			t.Fatalf("recharge with a card: %v", err)
		}
		if _, err := e.svc.SetAutoRecharge(e.ctx, a, true, 5, 20, act); err != nil {
			t.Fatalf("auto-recharge on with a card: %v", err)
		}
		if err := e.svc.DeletePaymentMethod(e.ctx, a, pm.ID, act); err != nil {
			t.Fatal(err)
		}
		b, err := e.svc.Billing(e.ctx, a)
		if err != nil || b.Balance != 5000 || b.AutoRecharge.Enabled || b.AutoRecharge.AmountUSD != 2000 {
			t.Errorf("after removing the last card: %+v %v", b, err)
		}
		if _, err := e.svc.Recharge(e.ctx, a, 50, act); roster.ErrorCode(err) != roster.ECONFLICT {
			t.Errorf("recharge after removing the card: %v", err)
		}
	})
}
