package httpapi_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/rosterhq/roster/server/servertest"
)

// errMessage is error.message of an error answer.
func errMessage(r servertest.Response) string {
	e, _ := r.JSON["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// TestBilling_RechargeNeedsAPaymentMethod: with no card on file a recharge
// is 409 conflict with a message that says what to do, and neither the
// balance nor the recharges change; after adding a card it works.
func TestBilling_RechargeNeedsAPaymentMethod(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	A := "/v1/accounts/" + w.acct
	before := w.owner.Must(200, "GET", A+"/billing", nil)
	r := w.owner.Refused(409, "conflict", "POST", A+"/billing/recharges", map[string]any{"amount_usd": 50})
	if got := errMessage(r); got != "Add a payment method before adding credit" {
		t.Errorf("message = %q", got)
	}
	after := w.owner.Must(200, "GET", A+"/billing", nil)
	if !bytes.Equal(before.Body, after.Body) {
		t.Errorf("a refused recharge changed billing:\nbefore %s\nafter  %s", before.Body, after.Body)
	}
	if after.JSON["balance_usd"].(float64) != 0 || len(after.JSON["recharges"].([]any)) != 0 {
		t.Errorf("billing after a refused recharge: %s", after.Body)
	}
	// A bad amount is still a bad amount, card or not.
	w.owner.Refused(400, "invalid_request", "POST", A+"/billing/recharges", map[string]any{"amount_usd": 0})

	pm := w.owner.Must(201, "POST", A+"/billing/payment-methods", map[string]any{"card_number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2030})
	w.owner.Must(201, "POST", A+"/billing/recharges", map[string]any{"amount_usd": 50})
	b := w.owner.Must(200, "GET", A+"/billing", nil)
	if b.JSON["balance_usd"].(float64) != 50 || len(b.JSON["recharges"].([]any)) != 1 {
		t.Errorf("billing after the recharge: %s", b.Body)
	}

	// Without the card again, refused again.
	w.owner.Must(204, "DELETE", fmt.Sprintf("%s/billing/payment-methods/%d", A, int64(pm.JSON["id"].(float64))), nil)
	w.owner.Refused(409, "conflict", "POST", A+"/billing/recharges", map[string]any{"amount_usd": 5})
	if got := w.owner.Must(200, "GET", A+"/billing", nil); got.JSON["balance_usd"].(float64) != 50 || len(got.JSON["recharges"].([]any)) != 1 {
		t.Errorf("a refused recharge changed billing: %s", got.Body)
	}
}

// TestBilling_AutoRechargeNeedsAPaymentMethod: turning auto-recharge on
// with no card is refused the same way; turning it off always works; and
// removing the last card turns it off.
func TestBilling_AutoRechargeNeedsAPaymentMethod(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	A := "/v1/accounts/" + w.acct
	on := map[string]any{"auto_recharge": map[string]any{"enabled": true, "threshold_usd": 5, "amount_usd": 20}}
	off := map[string]any{"auto_recharge": map[string]any{"enabled": false, "threshold_usd": 5, "amount_usd": 20}}
	before := w.owner.Must(200, "GET", A+"/billing", nil)
	r := w.owner.Refused(409, "conflict", "PATCH", A+"/billing", on)
	if got := errMessage(r); got != "Add a payment method before adding credit" {
		t.Errorf("message = %q", got)
	}
	if after := w.owner.Must(200, "GET", A+"/billing", nil); !bytes.Equal(before.Body, after.Body) {
		t.Errorf("a refused auto-recharge changed billing:\nbefore %s\nafter  %s", before.Body, after.Body)
	}
	w.owner.Must(200, "PATCH", A+"/billing", off)

	pm := w.owner.Must(201, "POST", A+"/billing/payment-methods", map[string]any{"card_number": "5555555555554444", "exp_month": 1, "exp_year": 2031})
	b := w.owner.Must(200, "PATCH", A+"/billing", on)
	if ar := b.JSON["auto_recharge"].(map[string]any); ar["enabled"] != true || ar["threshold_usd"].(float64) != 5 || ar["amount_usd"].(float64) != 20 {
		t.Errorf("auto_recharge = %v", ar)
	}
	w.owner.Must(204, "DELETE", fmt.Sprintf("%s/billing/payment-methods/%d", A, int64(pm.JSON["id"].(float64))), nil)
	b = w.owner.Must(200, "GET", A+"/billing", nil)
	if ar := b.JSON["auto_recharge"].(map[string]any); ar["enabled"] != false || ar["amount_usd"].(float64) != 20 {
		t.Errorf("after removing the last card, auto_recharge = %v", ar)
	}
}
