package httpapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/server/servertest"
)

func TestCheckBatch_AnswersInOrderAsSingleChecks(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	_, devID := e.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	_, supID := e.Join(t, owner, acct, "sup@acme-corp.com", "support")
	key := owner.Must(201, "POST", "/v1/me/api-keys", map[string]string{"account_id": acct, "name": "k"}).Str("key")
	p := e.Platform(t)

	var checks []map[string]any
	for _, uid := range []int64{devID, supID, 999999} {
		for _, perm := range roster.AllPermissions {
			checks = append(checks, map[string]any{"account_id": acct, "user_id": uid, "permission": perm.String()})
		}
	}
	checks = append(checks,
		map[string]any{"account_id": acct, "api_key": key, "permission": "team.edit"},
		map[string]any{"account_id": "MA0000000000000000XX", "user_id": devID, "permission": "numbers.view"},
		map[string]any{"account_id": "not an auth id", "user_id": devID, "permission": "numbers.view"},
	)
	r := p.Must(200, "POST", "/v1/authz/check-batch", map[string]any{"checks": checks})
	results := r.JSON["results"].([]any)
	if len(results) != len(checks) {
		t.Fatalf("%d results for %d checks", len(results), len(checks))
	}
	for i, c := range checks {
		one := p.Must(200, "POST", "/v1/authz/check", c)
		got := results[i].(map[string]any)
		for _, k := range []string{"allowed", "role", "reason"} {
			if got[k] != one.JSON[k] {
				t.Errorf("checks[%d] %v: batch %s=%v, single %v", i, c, k, got[k], one.JSON[k])
			}
		}
	}
	// Against the matrix, for the developer.
	for i, perm := range roster.AllPermissions {
		if got := results[i].(map[string]any)["allowed"]; got != authz.Allowed(roster.RoleDeveloper, perm) {
			t.Errorf("developer %s: %v", perm, got)
		}
	}
	if last := results[len(results)-1].(map[string]any); last["reason"] != "not_member" || last["role"] != "" {
		t.Errorf("malformed account: %v", last)
	}
}

func TestCheckBatch_Refusals(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	_, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	p := e.Platform(t)
	ok := map[string]any{"account_id": acct, "user_id": 1, "permission": "numbers.view"}
	p.Refused(400, "invalid_request", "POST", "/v1/authz/check-batch", map[string]any{"checks": []any{}})
	many := make([]any, 1001)
	for i := range many {
		many[i] = ok
	}
	p.Refused(400, "invalid_request", "POST", "/v1/authz/check-batch", map[string]any{"checks": many})
	p.Must(200, "POST", "/v1/authz/check-batch", map[string]any{"checks": many[:1000]})
	bad := []any{ok, ok, ok, map[string]any{"account_id": acct, "user_id": 1, "permission": "numbers.fly"}, ok}
	r := p.Refused(400, "invalid_request", "POST", "/v1/authz/check-batch", map[string]any{"checks": bad})
	if e := r.JSON["error"].(map[string]any); !strings.HasPrefix(e["message"].(string), "Check 3 (counting from 0): ") || e["field"] != "checks[3]" {
		t.Errorf("bad item: %s", r.Body)
	}
	both := []any{map[string]any{"account_id": acct, "user_id": 1, "api_key": "rk_x", "permission": "numbers.view"}}
	p.Refused(400, "invalid_request", "POST", "/v1/authz/check-batch", map[string]any{"checks": both})
	p.Refused(400, "invalid_request", "POST", "/v1/authz/check-batch", `{"checks":[{"account_id":"x","user_id":1,"permission":"numbers.view","extra":1}]}`)
	p.Refused(400, "invalid_request", "POST", "/v1/authz/check-batch", `{"checks":[]} {}`)
	p.Refused(400, "invalid_request", "POST", "/v1/authz/check", fmt.Sprintf(`{"account_id":%q,"user_id":1,"permission":"numbers.view"}}`, acct))
	e.Client(t).Refused(401, "unauthenticated", "POST", "/v1/authz/check-batch", map[string]any{"checks": []any{ok}})
	p.Refused(413, "request_too_large", "POST", "/v1/authz/check-batch", `{"checks":[`+strings.Repeat(" ", 2<<20)+`]}`)
}

// The member list pages by cursor as well as by offset: walking it by
// meta.next sees every member once, in the same order as by offset.
func TestMembers_KeysetPagination(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	for i := 0; i < 7; i++ {
		e.Join(t, owner, acct, fmt.Sprintf("m%d@acme-corp.com", i), "support")
	}
	base := "/v1/accounts/" + acct + "/members"
	var byOffset []any
	for off := 0; off < 8; off += 3 {
		r := owner.Must(200, "GET", fmt.Sprintf("%s?limit=3&offset=%d", base, off), nil)
		for _, m := range r.Objects() {
			byOffset = append(byOffset, m["user_id"])
		}
	}
	var byCursor []any
	path := base + "?limit=3"
	for pages := 0; pages < 10; pages++ {
		r := owner.Must(200, "GET", path, nil)
		for _, m := range r.Objects() {
			byCursor = append(byCursor, m["user_id"])
		}
		next, _ := r.JSON["meta"].(map[string]any)["next"].(string)
		if next == "" {
			break
		}
		path = base + "?limit=3&after=" + next
	}
	if fmt.Sprint(byOffset) != fmt.Sprint(byCursor) || len(byCursor) != 8 {
		t.Errorf("by offset %v, by cursor %v", byOffset, byCursor)
	}
	if owner.Must(200, "GET", base+"?limit=3", nil).Objects()[0]["role"] != "owner" {
		t.Error("the owner is not first")
	}
	owner.Refused(400, "invalid_request", "GET", base+"?after=not-a-cursor", nil)
	owner.Refused(400, "invalid_request", "GET", base+"?after=MC4xLjE&offset=3", nil)
	owner.Refused(400, "invalid_request", "GET", "/v1/accounts/"+acct+"/invitations?after=MC4xLjE", nil)
}

// A batch decodes into a pooled buffer: nothing of an earlier batch's
// items (a user_id, an account) may carry over into a later one's.
func TestCheckBatch_NothingCarriesOverBetweenBatches(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	key := owner.Must(201, "POST", "/v1/me/api-keys", map[string]string{"account_id": acct, "name": "k"}).Str("key")
	p := e.Platform(t)
	byUser := make([]any, 50)
	byKey := make([]any, 50)
	noAccount := make([]any, 50)
	for i := range byUser {
		byUser[i] = map[string]any{"account_id": acct, "user_id": 1, "permission": "numbers.view"}
		byKey[i] = map[string]any{"account_id": acct, "api_key": key, "permission": "numbers.view"}
		noAccount[i] = map[string]any{"user_id": 1, "permission": "numbers.view"}
	}
	for range 20 {
		p.Must(200, "POST", "/v1/authz/check-batch", map[string]any{"checks": byUser})
		if r := p.Must(200, "POST", "/v1/authz/check-batch", map[string]any{"checks": byKey}); r.JSON["results"].([]any)[0].(map[string]any)["allowed"] != true {
			t.Fatalf("by key: %s", r.Body)
		}
		p.Refused(400, "invalid_request", "POST", "/v1/authz/check-batch", map[string]any{"checks": noAccount})
	}
}
