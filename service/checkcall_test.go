package service_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service"
)

// TestCheck_TheCallsRules: the check's validation and its messages, the
// batch limit, the checks[i] naming of a bad item, and a batch answering
// exactly as the single checks do, with the roles that hold a missing
// permission.
func TestCheck_TheCallsRules(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		f := newTeam(e)
		_, devKey, err := e.svc.CreateAPIKey(e.ctx, f.dev.User, f.acct.ID, "ci", clientIP)
		if err != nil {
			t.Fatal(err)
		}
		byUser := func(id int64, perm string) service.CheckRequest {
			return service.CheckRequest{AccountID: f.acct.ID, UserID: id, Permission: perm}
		}
		bad := []struct {
			req          service.CheckRequest
			field, error string
		}{
			{byUser(f.dev.ID, "numbers.fly"), "permission", `Unknown permission "numbers.fly"`},
			{service.CheckRequest{AccountID: f.acct.ID, Permission: "numbers.view"}, "", "Give the account and exactly one of a user or an API key"},
			{service.CheckRequest{AccountID: f.acct.ID, UserID: f.dev.ID, APIKey: devKey, Permission: "numbers.view"}, "", "Give the account and exactly one of a user or an API key"},
			{service.CheckRequest{UserID: f.dev.ID, Permission: "numbers.view"}, "", "Give the account and exactly one of a user or an API key"},
		}
		for _, tc := range bad {
			_, err := e.svc.Check(e.ctx, 0, tc.req)
			if roster.ErrorCode(err) != roster.EINVALID || roster.ErrorMessage(err) != tc.error || roster.FieldOf(err) != tc.field {
				t.Errorf("Check(%+v): %v (field %q), want %q field %q", tc.req, err, roster.FieldOf(err), tc.error, tc.field)
			}
			reqs := []service.CheckRequest{byUser(f.dev.ID, "numbers.view"), byUser(f.dev.ID, "numbers.view"), byUser(f.dev.ID, "numbers.view"), tc.req}
			_, err = e.svc.CheckBatch(e.ctx, 0, reqs, nil)
			if want := "Check 3 (counting from 0): " + tc.error; roster.ErrorCode(err) != roster.EINVALID || roster.ErrorMessage(err) != want || roster.FieldOf(err) != "checks[3]" {
				t.Errorf("CheckBatch with %+v fourth: %v (field %q), want %q field checks[3]", tc.req, err, roster.FieldOf(err), want)
			}
		}
		for _, n := range []int{0, service.MaxBatch + 1} {
			_, err := e.svc.CheckBatch(e.ctx, 0, make([]service.CheckRequest, n), nil)
			if want := fmt.Sprintf("A batch must hold 1 to 1000 checks, not %d", n); roster.ErrorMessage(err) != want || roster.FieldOf(err) != "checks" {
				t.Errorf("batch of %d: %v (field %q)", n, err, roster.FieldOf(err))
			}
		}

		var reqs []service.CheckRequest
		for _, p := range roster.AllPermissions {
			reqs = append(reqs, byUser(f.dev.ID, p.String()), byUser(f.outsider.ID, p.String()),
				service.CheckRequest{AccountID: f.acct.ID, APIKey: devKey, Permission: p.String()},
				service.CheckRequest{AccountID: noAccount, UserID: f.dev.ID, Permission: p.String()})
		}
		prefix := []service.CheckResult{{}} // answers are appended to out
		results, err := e.svc.CheckBatch(e.ctx, 0, reqs, prefix)
		if err != nil || len(results) != len(reqs)+1 {
			t.Fatalf("CheckBatch: %d results, %v", len(results), err)
		}
		for i, req := range reqs {
			one, err := e.svc.Check(e.ctx, 0, req)
			if err != nil || one != results[i+1] {
				t.Errorf("checks[%d] %+v: batch %+v, single %+v (%v)", i, req, results[i+1], one, err)
			}
			p, _ := roster.ParsePermission(req.Permission)
			wantAllowed := req.AccountID == f.acct.ID && req.UserID != f.outsider.ID && service.RoleAllows(roster.RoleDeveloper, p)
			if one.Allowed != wantAllowed || one.Permission != p {
				t.Errorf("%+v: %+v, want allowed %v", req, one, wantAllowed)
			}
			switch {
			case req.AccountID != f.acct.ID || req.UserID == f.outsider.ID:
				if one.Reason() != "not_member" || one.Role != roster.RoleNone || one.MissingPermission() {
					t.Errorf("%+v: %+v reason %s, want not_member", req, one, one.Reason())
				}
			case wantAllowed:
				if one.Reason() != "allowed" || one.Role != roster.RoleDeveloper {
					t.Errorf("%+v: %+v reason %s, want allowed", req, one, one.Reason())
				}
			default:
				if one.Reason() != "missing_permission" || !one.MissingPermission() || one.Role != roster.RoleDeveloper {
					t.Errorf("%+v: %+v reason %s, want missing_permission", req, one, one.Reason())
				}
			}
		}

		// A revision this replica has applied answers at once; one it
		// has not answers EUNAVAILABLE after RevisionWait.
		if _, err := e.svc.Check(e.ctx, 1, byUser(f.dev.ID, "numbers.view")); err != nil {
			t.Errorf("Check at revision 1: %v", err)
		}
		start := time.Now()
		_, err = e.svc.CheckBatch(e.ctx, 1<<60, reqs[:1], nil)
		if roster.ErrorCode(err) != roster.EUNAVAILABLE || time.Since(start) < service.RevisionWait {
			t.Errorf("CheckBatch at a revision not applied: %v after %s", err, time.Since(start))
		}
	})
}

// TestServiceToken_Verify: one rule for the service token on every edge.
func TestServiceToken_Verify(t *testing.T) {
	none := service.NewServiceToken("")
	for _, got := range []string{"", "s3cret"} {
		if err := none.Verify(got, true); roster.ErrorCode(err) != roster.EFORBIDDEN || !strings.Contains(roster.ErrorMessage(err), "not configured") {
			t.Errorf("no token configured, %q presented: %v", got, err)
		}
	}
	tok := service.NewServiceToken("s3cret")
	if err := tok.Verify("s3cret", true); err != nil {
		t.Errorf("the right token: %v", err)
	}
	for _, tc := range []struct {
		got    string
		bearer bool
	}{{"s3cret", false}, {"s3cre", true}, {"s3cret ", true}, {"S3CRET", true}, {"", true}, {"", false}} {
		if err := tok.Verify(tc.got, tc.bearer); roster.ErrorCode(err) != roster.EUNAUTHENTICATED || roster.ErrorMessage(err) != "A valid service token is required" {
			t.Errorf("Verify(%q, bearer %v): %v", tc.got, tc.bearer, err)
		}
	}
}
