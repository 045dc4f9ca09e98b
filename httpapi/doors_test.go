package httpapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rosterhq/roster/server/servertest"
)

// A phone number belongs to one account only: adding one another account
// holds is 409 conflict and changes nothing, on both databases, and of
// accounts adding one number at once exactly one gets it.
func TestNumbers_BelongToOneAccount(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	ana, a := e.SignUp(t, "ana@acme-corp.com", "Ana")
	ben, b := e.SignUp(t, "ben@beta-corp.com", "Ben")
	num := uniqueNumber()
	ana.Must(201, "POST", "/v1/accounts/"+a+"/numbers", map[string]string{"number": num, "alias": "Sales"})

	r := ben.Refused(409, "conflict", "POST", "/v1/accounts/"+b+"/numbers", map[string]string{"number": num, "alias": "Mine"})
	if !strings.Contains(string(r.Body), "another account") || strings.Contains(string(r.Body), a) {
		t.Errorf("the refusal should say another account holds it, and not which: %s", r.Body)
	}
	if n := ben.Must(200, "GET", "/v1/accounts/"+b+"/numbers", nil).Total(); n != 0 {
		t.Errorf("the refused account holds %d numbers", n)
	}
	ben.Refused(404, "not_found", "GET", "/v1/accounts/"+b+"/numbers/"+num, nil)
	if got := ana.Must(200, "GET", "/v1/accounts/"+a+"/numbers/"+num, nil).Str("alias"); got != "Sales" {
		t.Errorf("the holder's number changed: alias %q", got)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM audit_events WHERE action = 'number.add'`); n != 1 {
		t.Errorf("%d number.add events, want 1", n)
	}
	// Its own number again is a conflict too, said as such.
	r = ana.Refused(409, "conflict", "POST", "/v1/accounts/"+a+"/numbers", map[string]string{"number": num})
	if !strings.Contains(string(r.Body), "already on this account") {
		t.Errorf("%s", r.Body)
	}
	// Released, it is free for another account.
	ana.Must(204, "DELETE", "/v1/accounts/"+a+"/numbers/"+num, nil)
	ben.Must(201, "POST", "/v1/accounts/"+b+"/numbers", map[string]string{"number": num})

	// Ten accounts add one new number at once: one gets it, nine 409, no 5xx.
	clients := make([]*servertest.Client, 10)
	accts := make([]string, 10)
	for i := range clients {
		clients[i], accts[i] = e.SignUp(t, fmt.Sprintf("o%d@gamma-corp.com", i), "O")
	}
	race := uniqueNumber()
	got := parallel(10, func(i int) int {
		return clients[i].Do("POST", "/v1/accounts/"+accts[i]+"/numbers", map[string]string{"number": race}).Status
	})
	if got[201] != 1 || got[409] != 9 {
		t.Errorf("ten accounts adding one number at once: %v, want one 201 and nine 409", got)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM numbers WHERE number = '`+race+`'`); n != 1 {
		t.Errorf("%d accounts hold %s", n, race)
	}
}

// A webhook records who made it: the API shows it, and a webhook made
// before Roster recorded it shows null.
func TestWebhooks_RecordWhoMadeThem(t *testing.T) {
	t.Parallel()
	e := servertest.New(t, servertest.Options{Tweak: webhookServer(true)})
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	admin, adminID := e.Join(t, owner, acct, "admin@acme-corp.com", "admin")
	ownerID := owner.Must(200, "GET", "/v1/me", nil).JSON["id"].(float64)
	base := "/v1/accounts/" + acct + "/webhooks"
	body := map[string]any{"url": "https://hooks.example.com/x", "events": []string{"member.joined"}}
	byOwner := owner.Must(201, "POST", base, body)
	byAdmin := admin.Must(201, "POST", base, body)
	want := map[float64]map[string]any{
		byOwner.JSON["id"].(float64): {"user_id": ownerID, "email": "owner@acme-corp.com"},
		byAdmin.JSON["id"].(float64): {"user_id": float64(adminID), "email": "admin@acme-corp.com"},
	}
	for id, w := range want {
		one := owner.Must(200, "GET", fmt.Sprintf("%s/%v", base, id), nil)
		if fmt.Sprint(one.JSON["created_by"]) != fmt.Sprint(w) {
			t.Errorf("webhook %v: created_by %v, want %v", id, one.JSON["created_by"], w)
		}
	}
	for _, o := range owner.Must(200, "GET", base, nil).Objects() {
		if fmt.Sprint(o["created_by"]) != fmt.Sprint(want[o["id"].(float64)]) {
			t.Errorf("list: webhook %v created_by %v", o["id"], o["created_by"])
		}
	}
	if fmt.Sprint(byAdmin.JSON["created_by"]) != fmt.Sprint(want[byAdmin.JSON["id"].(float64)]) {
		t.Errorf("the create answer: created_by %v", byAdmin.JSON["created_by"])
	}
	// Changing a webhook does not change who made it.
	admin.Must(200, "PATCH", fmt.Sprintf("%s/%v", base, byOwner.JSON["id"]), map[string]any{"enabled": false})
	if got := owner.Must(200, "GET", fmt.Sprintf("%s/%v", base, byOwner.JSON["id"]), nil).JSON["created_by"]; fmt.Sprint(got) != fmt.Sprint(want[byOwner.JSON["id"].(float64)]) {
		t.Errorf("after an admin's change: created_by %v", got)
	}
	// As made before this was recorded.
	exec(t, e, `UPDATE webhooks SET created_by = NULL, created_by_email = ''`)
	if got, ok := owner.Must(200, "GET", fmt.Sprintf("%s/%v", base, byOwner.JSON["id"]), nil).JSON["created_by"]; !ok || got != nil {
		t.Errorf("an old webhook: created_by %v (present %v), want null", got, ok)
	}
}
