package httpapi_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/httpapi"
	"github.com/rosterhq/roster/server/servertest"
)

// The audit route filters by who acted and by what, in the store, and
// names the people in each event.
func TestAudit_FilterByActorAndAction(t *testing.T) {
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	ada, adaID := e.Join(t, owner, acct, "ada@acme-corp.com", "developer")
	owner.Must(200, "PATCH", fmt.Sprintf("/v1/accounts/%s/members/%d", acct, adaID), map[string]string{"role": "admin"})
	owner.Must(201, "POST", "/v1/accounts/"+acct+"/invitations", map[string]string{"email": "cy@acme-corp.com", "role": "support"})
	ada.Must(200, "GET", "/v1/accounts/"+acct+"/credentials", nil)
	ada.Must(200, "GET", "/v1/accounts/"+acct+"/credentials", nil)
	base := "/v1/accounts/" + acct + "/audit?limit=100"
	all := owner.Must(200, "GET", base, nil)

	list := func(query string) ([]map[string]any, int) {
		t.Helper()
		r := owner.Must(200, "GET", base+query, nil)
		return r.Objects(), r.Total()
	}
	byAda, n := list(fmt.Sprintf("&actor=%d", adaID))
	if len(byAda) != n || n != 3 { // the invitation accepted, two views
		t.Errorf("ada's events: %d of %d", len(byAda), n)
	}
	for _, ev := range byAda {
		if ev["actor_user_id"] != float64(adaID) || ev["actor_name"] != "Invitee" {
			t.Errorf("by ada: %v", ev)
		}
	}
	views, n := list("&action=credentials.view")
	if n != 2 || len(views) != 2 {
		t.Errorf("views: %d", n)
	}
	if both, n := list(fmt.Sprintf("&actor=%d&action=credentials.view&offset=1", adaID)); n != 2 || len(both) != 1 {
		t.Errorf("ada's views from the second: %d of %d", len(both), n)
	}
	if none, n := list(fmt.Sprintf("&actor=%d&action=member.role", adaID)); n != 0 || len(none) != 0 {
		t.Errorf("ada changed no role: %v", none)
	}
	roles, _ := list("&action=member.role")
	if len(roles) != 1 || roles[0]["actor_name"] != "Olga Owner" || roles[0]["subject_email"] != "ada@acme-corp.com" ||
		roles[0]["subject_name"] != "Invitee" || roles[0]["detail"] != "developer -> admin" {
		t.Errorf("the role change: %v", roles)
	}
	if inv, _ := list("&action=invitation.create&actor=OLGA@acme-corp.com"); len(inv) != 2 || inv[0]["subject_email"] != "cy@acme-corp.com" {
		t.Errorf("olga's invitations, by address: %v", inv)
	}
	if plan, _ := list("&actor=operator"); len(plan) != 1 || plan[0]["action"] != "account.plan" || plan[0]["actor_name"] != "" {
		t.Errorf("the operator's events: %v", plan)
	}
	if none, n := list("&actor=nobody@elsewhere.example"); n != 0 || len(none) != 0 {
		t.Errorf("no one's events: %v", none)
	}
	if _, n := list(""); n != all.Total() {
		t.Errorf("no filter: %d, want %d", n, all.Total())
	}

	// An unknown action is refused, naming the field.
	r := owner.Refused(400, "invalid_request", "GET", base+"&action=account.explode", nil)
	if f, _ := r.JSON["error"].(map[string]any)["field"].(string); f != "action" {
		t.Errorf("the refusal names %q", f)
	}
	// An actor no event could have recorded is refused before the database
	// (PostgreSQL refuses a NUL byte itself): a 400 naming the field, never a 500.
	for _, bad := range []string{"%00", "%FF%FE", "a%0Ab@acme-corp.com", strings.Repeat("a", 321)} {
		r := owner.Refused(400, "invalid_request", "GET", base+"&actor="+bad, nil)
		if f, _ := r.JSON["error"].(map[string]any)["field"].(string); f != "actor" {
			t.Errorf("actor=%.20s: the refusal names %q", bad, f)
		}
	}
	// The filters do not open the log to a role without audit.view.
	dev, _ := e.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	dev.Refused(403, "forbidden", "GET", base+"&action=member.role", nil)
}

// The document's action filter lists exactly the actions the service
// writes (roster.AuditActions).
func TestOpenAPI_AuditActionsAreTheRootList(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name   string `json:"name"`
				Schema struct {
					Enum []string `json:"enum"`
				} `json:"schema"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(httpapi.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	var enum []string
	for _, p := range doc.Paths["/v1/accounts/{id}/audit"]["get"].Parameters {
		if p.Name == "action" {
			enum = p.Schema.Enum
		}
	}
	var want []string
	for _, a := range roster.AuditActions {
		want = append(want, a.Code)
	}
	if !slices.Equal(enum, want) {
		t.Errorf("the action parameter lists %v, want %v", enum, want)
	}
}
