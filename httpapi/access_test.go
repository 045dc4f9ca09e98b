package httpapi_test

import (
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/server/servertest"
)

// names turns a JSON list of strings into a Go one ([] stays non-nil).
func names(v any) []string {
	out := []string{}
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// matrixPerms is what the role holds, by the matrix, as API names.
func matrixPerms(r roster.Role, keep func(roster.Permission) bool) []string {
	out := []string{}
	for _, p := range roster.AllPermissions {
		if authz.Allowed(r, p) && (keep == nil || keep(p)) {
			out = append(out, p.String())
		}
	}
	return out
}

var assignable = []roster.Role{roster.RoleAdmin, roster.RoleDeveloper, roster.RoleFinanceAnalyst, roster.RoleSupport}

func auditCount(t *testing.T, c *servertest.Client, acct string) int {
	t.Helper()
	return c.Must(200, "GET", "/v1/accounts/"+acct+"/audit?limit=1", nil).Total()
}

func TestExplain_Reasons(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	_, devID := e.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	// A second account that requires two-factor sign-in of a member without it.
	owner2, acct2 := e.SignUp(t, "owner@beta-corp.com", "Beta")
	e.Commit(t, acct2)
	_, supID := e.Join(t, owner2, acct2, "sup@beta-corp.com", "support")
	now := time.Now().UTC().Truncate(30 * time.Second)
	clock(e, now)
	enroll(t, e, owner2, now)
	owner2.Must(200, "PATCH", "/v1/accounts/"+acct2+"/security", map[string]bool{"require_mfa": true})

	p := e.Platform(t)
	check := func(acct string, uid int64, perm string) map[string]any {
		t.Helper()
		return p.Must(200, "POST", "/v1/authz/check", map[string]any{"account_id": acct, "user_id": uid, "permission": perm}).JSON
	}
	expect := func(name string, got map[string]any, allowed bool, role, reason string, rolesWith []string) {
		t.Helper()
		if got["allowed"] != allowed || got["role"] != role || got["reason"] != reason {
			t.Errorf("%s: %v, want allowed=%v role=%q reason=%s", name, got, allowed, role, reason)
		}
		rw, has := got["roles_with_permission"]
		switch {
		case rolesWith == nil && has:
			t.Errorf("%s: roles_with_permission %v on reason %s", name, rw, reason)
		case rolesWith != nil && (!has || !slices.Equal(names(rw), rolesWith)):
			t.Errorf("%s: roles_with_permission %v, want %v", name, rw, rolesWith)
		}
	}

	expect("allowed", check(acct, devID, "numbers.edit"), true, "developer", "allowed", nil)
	expect("missing_permission", check(acct, devID, "team.edit"), false, "developer", "missing_permission", []string{"owner", "admin"})
	expect("not_member", check(acct, 999999, "numbers.view"), false, "", "not_member", nil)
	expect("not_member (other account)", check(acct2, devID, "numbers.view"), false, "", "not_member", nil)
	expect("mfa_required", check(acct2, supID, "numbers.view"), false, "support", "mfa_required", nil)

	// Every permission, for the developer, single and in a batch: the roles
	// holding it, in role order, by the matrix.
	var batch []map[string]any
	for _, perm := range roster.AllPermissions {
		batch = append(batch, map[string]any{"account_id": acct, "user_id": devID, "permission": perm.String()})
	}
	results := p.Must(200, "POST", "/v1/authz/check-batch", map[string]any{"checks": batch}).JSON["results"].([]any)
	for i, perm := range roster.AllPermissions {
		var holders []string
		for _, r := range roster.Roles {
			if authz.Allowed(r, perm) {
				holders = append(holders, r.String())
			}
		}
		allowed := authz.Allowed(roster.RoleDeveloper, perm)
		reason := "missing_permission"
		if allowed {
			reason, holders = "allowed", nil
		}
		expect("developer "+perm.String(), check(acct, devID, perm.String()), allowed, "developer", reason, holders)
		expect("batch developer "+perm.String(), results[i].(map[string]any), allowed, "developer", reason, holders)
	}

	// An unknown permission is still a malformed request.
	p.Refused(400, "invalid_request", "POST", "/v1/authz/check", map[string]any{"account_id": acct, "user_id": devID, "permission": "numbers.fly"})

	// Suspended: the account leaves the committed plan.
	e.Operator(t).Must(200, "PUT", "/v1/admin/accounts/"+acct+"/plan", map[string]any{"plan": "standard"})
	expect("suspended", check(acct, devID, "team.edit"), false, "developer", "suspended", nil)
}

func TestMemberAccess_PreviewAgainstTheMatrix(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	ids := map[roster.Role]int64{}
	var dev *servertest.Client
	for _, r := range assignable {
		c, id := e.Join(t, owner, acct, r.String()+"@acme-corp.com", r.String())
		ids[r] = id
		if r == roster.RoleDeveloper {
			dev = c
		}
	}
	me := owner.Must(200, "GET", "/v1/me", nil)
	ownerID := int64(me.JSON["id"].(float64))
	base := func(uid int64) string { return fmt.Sprintf("/v1/accounts/%s/members/%d/access", acct, uid) }

	// Without ?role: the role and its permissions, no preview.
	for r, id := range ids {
		got := owner.Must(200, "GET", base(id), nil).JSON
		if got["role"] != r.String() || got["status"] != "active" || !slices.Equal(names(got["permissions"]), matrixPerms(r, nil)) {
			t.Errorf("%s: %v", r, got)
		}
		if _, has := got["preview"]; has {
			t.Errorf("%s: a preview without ?role: %v", r, got)
		}
	}
	if got := owner.Must(200, "GET", base(ownerID), nil).JSON; got["role"] != "owner" || len(names(got["permissions"])) != roster.NumPermissions {
		t.Errorf("owner: %v", got)
	}

	// Every pair of assignable roles: gained and lost by the matrix.
	for _, from := range assignable {
		for _, to := range assignable {
			got := owner.Must(200, "GET", base(ids[from])+"?role="+to.String(), nil).JSON
			pv := got["preview"].(map[string]any)
			gained := matrixPerms(to, func(p roster.Permission) bool { return !authz.Allowed(from, p) })
			lost := matrixPerms(from, func(p roster.Permission) bool { return !authz.Allowed(to, p) })
			if got["role"] != from.String() || pv["role"] != to.String() ||
				!slices.Equal(names(pv["gained"]), gained) || !slices.Equal(names(pv["lost"]), lost) {
				t.Errorf("%s -> %s: %v, want gained %v lost %v", from, to, got, gained, lost)
			}
		}
	}

	// Refusals, with nothing changed.
	audits := auditCount(t, owner, acct)
	owner.Refused(403, "owner_immutable", "GET", base(ids[roster.RoleSupport])+"?role=owner", nil)
	owner.Refused(403, "owner_immutable", "GET", base(ownerID)+"?role=admin", nil)
	owner.Refused(400, "invalid_request", "GET", base(ids[roster.RoleSupport])+"?role=boss", nil)
	owner.Refused(400, "invalid_request", "GET", base(ids[roster.RoleSupport])+"?role=", nil)
	owner.Refused(404, "not_found", "GET", base(999999), nil)
	owner.Refused(404, "not_found", "GET", base(999999)+"?role=admin", nil)
	dev.Refused(403, "forbidden", "GET", base(ids[roster.RoleSupport]), nil)
	e.Client(t).Refused(401, "unauthenticated", "GET", base(ids[roster.RoleSupport]), nil)
	if n := auditCount(t, owner, acct); n != audits {
		t.Errorf("audit events %d -> %d after previews", audits, n)
	}
	for r, id := range ids {
		if got := owner.Must(200, "GET", base(id), nil).Str("role"); got != r.String() {
			t.Errorf("%s is now %s", r, got)
		}
	}

	// Suspended by the plan: no permissions, and a change would give none.
	e.Operator(t).Must(200, "PUT", "/v1/admin/accounts/"+acct+"/plan", map[string]any{"plan": "standard"})
	got := owner.Must(200, "GET", base(ids[roster.RoleDeveloper])+"?role=admin", nil).JSON
	pv := got["preview"].(map[string]any)
	if got["status"] != "suspended" || len(names(got["permissions"])) != 0 || len(names(pv["gained"])) != 0 || len(names(pv["lost"])) != 0 {
		t.Errorf("suspended member: %v", got)
	}
}

func TestAccessReview_AgainstTheMatrix(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	var dev *servertest.Client
	roleOf := map[string]roster.Role{"owner@acme-corp.com": roster.RoleOwner}
	for _, r := range assignable {
		c, _ := e.Join(t, owner, acct, r.String()+"@acme-corp.com", r.String())
		roleOf[r.String()+"@acme-corp.com"] = r
		if r == roster.RoleDeveloper {
			dev = c
		}
	}
	invited := map[string]roster.Role{"new-admin@acme-corp.com": roster.RoleAdmin, "new-support@acme-corp.com": roster.RoleSupport}
	for email, r := range invited {
		e.InviteToken(t, owner, acct, email, r.String())
	}
	path := "/v1/accounts/" + acct + "/access"

	// JSON, whole and filtered.
	for _, only := range []roster.Permission{roster.PermissionNone, roster.BillingEdit, roster.TeamEdit, roster.LogsView} {
		q := ""
		if only != roster.PermissionNone {
			q = "?permission=" + only.String()
		}
		holds := func(r roster.Role) bool { return only == roster.PermissionNone || authz.Allowed(r, only) }
		got := owner.Must(200, "GET", path+q, nil).JSON
		var seen []string
		for _, m := range got["members"].([]any) {
			m := m.(map[string]any)
			r := roleOf[m["email"].(string)]
			seen = append(seen, m["email"].(string))
			if m["role"] != r.String() || m["status"] != "active" || m["mfa_enabled"] != false || !slices.Equal(names(m["permissions"]), matrixPerms(r, nil)) {
				t.Errorf("%s: member %v", q, m)
			}
		}
		var want []string
		for email, r := range roleOf {
			if holds(r) {
				want = append(want, email)
			}
		}
		slices.Sort(seen)
		slices.Sort(want)
		if !slices.Equal(seen, want) {
			t.Errorf("%s: members %v, want %v", q, seen, want)
		}
		seen, want = nil, nil
		for _, i := range got["invitations"].([]any) {
			i := i.(map[string]any)
			r := invited[i["email"].(string)]
			seen = append(seen, i["email"].(string))
			if i["role"] != r.String() || i["id"].(float64) < 1 || !slices.Equal(names(i["permissions"]), matrixPerms(r, nil)) {
				t.Errorf("%s: invitation %v", q, i)
			}
		}
		for email, r := range invited {
			if holds(r) {
				want = append(want, email)
			}
		}
		slices.Sort(seen)
		slices.Sort(want)
		if !slices.Equal(seen, want) {
			t.Errorf("%s: invitations %v, want %v", q, seen, want)
		}
	}

	// CSV: a header, one row per member and invitation, 1/0 by the matrix.
	csvClient := func(c *servertest.Client) *servertest.Client {
		c.Header.Set("Accept", "text/csv")
		return c
	}(owner)
	r := csvClient.Must(200, "GET", path, nil)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("Content-Type %q", ct)
	}
	rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := []string{"kind", "id", "email", "name", "role", "status", "reason"}
	for _, p := range roster.AllPermissions {
		header = append(header, p.String())
	}
	if !slices.Equal(rows[0], header) {
		t.Fatalf("header %v", rows[0])
	}
	if len(rows) != 1+len(roleOf)+len(invited) {
		t.Fatalf("%d rows: %q", len(rows), r.Body)
	}
	for _, row := range rows[1:] {
		var role roster.Role
		switch row[0] {
		case "member":
			role = roleOf[row[2]]
			if row[5] != "active" {
				t.Errorf("row %v", row)
			}
		case "invitation":
			role = invited[row[2]]
			if row[3] != "" || row[5] != "pending" {
				t.Errorf("row %v", row)
			}
		default:
			t.Fatalf("row %v", row)
		}
		if id, err := strconv.ParseInt(row[1], 10, 64); err != nil || id < 1 || row[4] != role.String() {
			t.Errorf("row %v", row)
		}
		for i, p := range roster.AllPermissions {
			if want := map[bool]string{true: "1", false: "0"}[authz.Allowed(role, p)]; row[7+i] != want {
				t.Errorf("%s %s %s: %s, want %s", row[0], row[2], p, row[7+i], want)
			}
		}
	}
	filtered, _ := csv.NewReader(strings.NewReader(string(csvClient.Must(200, "GET", path+"?permission=team.edit", nil).Body))).ReadAll()
	if len(filtered) != 1+3 { // owner, admin, the admin invitation
		t.Errorf("team.edit CSV: %v", filtered)
	}
	owner.Header.Del("Accept")

	// Refusals.
	owner.Refused(400, "invalid_request", "GET", path+"?permission=numbers.fly", nil)
	dev.Refused(403, "forbidden", "GET", path, nil)
	e.Client(t).Refused(401, "unauthenticated", "GET", path, nil)
	stranger, _ := e.SignUp(t, "x@other-corp.com", "X")
	stranger.Refused(404, "not_found", "GET", path, nil)

	// Off the committed plan: members suspended with no permissions.
	e.Operator(t).Must(200, "PUT", "/v1/admin/accounts/"+acct+"/plan", map[string]any{"plan": "standard"})
	for _, m := range owner.Must(200, "GET", path, nil).JSON["members"].([]any) {
		m := m.(map[string]any)
		if m["role"] != "owner" && (m["status"] != "suspended" || m["reason"] != "suspended" || len(names(m["permissions"])) != 0) {
			t.Errorf("suspended member %v", m)
		}
	}
}

func TestMyAccess(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	fin, _ := e.Join(t, owner, acct, "fin@acme-corp.com", "finance_analyst")
	own := fin.Must(201, "POST", "/v1/accounts", map[string]string{"name": "Fin's own"}).Str("id")
	got := fin.Must(200, "GET", "/v1/me/access", nil).JSON["accounts"].([]any)
	if len(got) != 2 {
		t.Fatalf("accounts %v", got)
	}
	want := map[string]roster.Role{acct: roster.RoleFinanceAnalyst, own: roster.RoleOwner}
	for _, a := range got {
		a := a.(map[string]any)
		r, ok := want[a["account_id"].(string)]
		if !ok || a["role"] != r.String() || a["status"] != "active" || !slices.Equal(names(a["permissions"]), matrixPerms(r, nil)) {
			t.Errorf("account %v", a)
		}
	}
	e.Operator(t).Must(200, "PUT", "/v1/admin/accounts/"+acct+"/plan", map[string]any{"plan": "standard"})
	for _, a := range fin.Must(200, "GET", "/v1/me/access", nil).JSON["accounts"].([]any) {
		a := a.(map[string]any)
		if a["account_id"] == acct && (a["status"] != "suspended" || len(names(a["permissions"])) != 0) {
			t.Errorf("suspended: %v", a)
		}
	}
	e.Client(t).Refused(401, "unauthenticated", "GET", "/v1/me/access", nil)
}

func TestInviteBatch_MixedRowsAndRefusals(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	path := "/v1/accounts/" + acct + "/invitations/batch"
	one := map[string]any{"invitations": []map[string]string{{"email": "a@acme-corp.com", "role": "support"}}}
	pending := func() int { return owner.Must(200, "GET", "/v1/accounts/"+acct+"/invitations", nil).Total() }

	// Off the committed plan, the batch as a whole is refused.
	owner.Refused(403, "plan_required", "POST", path, one)
	e.Commit(t, acct)
	dev, _ := e.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	before, audits, mails := pending(), auditCount(t, owner, acct), len(e.Mail.Messages())

	// Refusals of the whole batch: nothing changes.
	owner.Refused(400, "invalid_request", "POST", path, map[string]any{"invitations": []any{}})
	owner.Refused(400, "invalid_request", "POST", path, map[string]any{})
	many := make([]map[string]string, 101)
	for i := range many {
		many[i] = map[string]string{"email": fmt.Sprintf("m%d@acme-corp.com", i), "role": "support"}
	}
	owner.Refused(400, "invalid_request", "POST", path, map[string]any{"invitations": many})
	owner.Refused(400, "invalid_request", "POST", path, `{"invitations":[{"email":"a@acme-corp.com","role":"support","extra":1}]}`)
	owner.Refused(400, "invalid_request", "POST", path, `{"invitations":[`)
	dev.Refused(403, "forbidden", "POST", path, one)
	e.Client(t).Refused(401, "unauthenticated", "POST", path, one)
	stranger, _ := e.SignUp(t, "x@other-corp.com", "X")
	stranger.Refused(404, "not_found", "POST", path, one)
	if n, a, m := pending(), auditCount(t, owner, acct), len(e.Mail.Messages()); n != before || a != audits || m != mails+1 /* the stranger's sign-up */ {
		t.Fatalf("after refusals: %d pending (was %d), %d audit events (was %d), %d mails (was %d)", n, before, a, audits, m, mails)
	}

	// Mixed rows: each answered on its own, in order.
	rows := []map[string]string{
		{"email": "new@acme-corp.com", "role": "developer"},
		{"email": "someone@gmail.com", "role": "support"},
		{"email": "dev@acme-corp.com", "role": "support"},
		{"email": "boss@acme-corp.com", "role": "owner"},
		{"email": "who@acme-corp.com", "role": "boss"},
		{"email": "new@acme-corp.com", "role": "admin"},
		{"email": "Fin@Acme-Corp.com", "role": "finance_analyst"},
	}
	want := []string{"created", "personal_email_domain", "already_member", "owner_immutable", "invalid_request", "invitation_pending", "created"}
	results := owner.Must(200, "POST", path, map[string]any{"invitations": rows}).JSON["results"].([]any)
	if len(results) != len(rows) {
		t.Fatalf("%d results for %d rows", len(results), len(rows))
	}
	var ids []float64
	for i, res := range results {
		res := res.(map[string]any)
		if res["email"] != rows[i]["email"] {
			t.Errorf("results[%d] email %v, want %s", i, res["email"], rows[i]["email"])
		}
		got := res["status"]
		if e, ok := res["error"].(map[string]any); ok {
			got = e["code"]
			if e["message"] == "" {
				t.Errorf("results[%d]: no message", i)
			}
		} else {
			ids = append(ids, res["id"].(float64))
		}
		if got != want[i] {
			t.Errorf("results[%d] (%v): %v, want %s", i, rows[i], res, want[i])
		}
	}
	invs := owner.Must(200, "GET", "/v1/accounts/"+acct+"/invitations", nil).Objects()
	if len(invs) != before+2 {
		t.Fatalf("invitations %v", invs)
	}
	byEmail := map[string]map[string]any{}
	for _, i := range invs {
		byEmail[i["email"].(string)] = i
	}
	if i := byEmail["new@acme-corp.com"]; i == nil || i["role"] != "developer" || i["id"].(float64) != ids[0] {
		t.Errorf("new@: %v", i)
	}
	if i := byEmail["fin@acme-corp.com"]; i == nil || i["role"] != "finance_analyst" || i["id"].(float64) != ids[1] {
		t.Errorf("fin@: %v", i)
	}
	e.Mail.WaitFor(t, "new@acme-corp.com", 1, 10*time.Second)
	e.Mail.WaitFor(t, "fin@acme-corp.com", 1, 10*time.Second)
	for _, addr := range []string{"someone@gmail.com", "boss@acme-corp.com", "who@acme-corp.com"} {
		if n := servertest.MailCount(e.Mail, addr); n != 0 {
			t.Errorf("%d mails to refused %s", n, addr)
		}
	}
}

// Under require_mfa a member without two-factor sign-in holds nothing
// until they turn it on, and every view of access says so with the
// reason: GET /v1/me/access, the access review (JSON and CSV, and its
// ?permission= filter), a member's access and the role preview. What each
// view shows is what the check answers, permission by permission.
func TestAccess_RequireMFAShowsNothingHeld(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	dev, devID := e.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	admin, adminID := e.Join(t, owner, acct, "admin@acme-corp.com", "admin")
	ownerID := int64(owner.Must(200, "GET", "/v1/me", nil).JSON["id"].(float64))
	now := time.Now().UTC().Truncate(30 * time.Second)
	clock(e, now)
	enroll(t, e, owner, now)
	enroll(t, e, admin, now)
	owner.Must(200, "PATCH", "/v1/accounts/"+acct+"/security", map[string]bool{"require_mfa": true})
	roleOf := map[int64]roster.Role{ownerID: roster.RoleOwner, devID: roster.RoleDeveloper, adminID: roster.RoleAdmin}
	emailOf := map[int64]string{ownerID: "owner@acme-corp.com", devID: "dev@acme-corp.com", adminID: "admin@acme-corp.com"}

	// held checks one view's answer for a member against the matrix and,
	// permission by permission, against the check.
	p := e.Platform(t)
	held := func(view string, uid int64, got map[string]any, wantNone bool) {
		t.Helper()
		want := matrixPerms(roleOf[uid], nil)
		wantReason := any(nil)
		if wantNone {
			want, wantReason = []string{}, "mfa_required"
		}
		if !slices.Equal(names(got["permissions"]), want) || got["reason"] != wantReason || got["status"] != "active" {
			t.Errorf("%s, %s: %v, want permissions %v, reason %v", view, emailOf[uid], got, want, wantReason)
		}
		shown := names(got["permissions"])
		for _, perm := range roster.AllPermissions {
			c := p.Must(200, "POST", "/v1/authz/check", map[string]any{"account_id": acct, "user_id": uid, "permission": perm.String()}).JSON
			if c["allowed"] != slices.Contains(shown, perm.String()) {
				t.Errorf("%s, %s, %s: shown %v, the check answers %v", view, emailOf[uid], perm, slices.Contains(shown, perm.String()), c)
			}
		}
	}

	views := func(devNone bool) {
		t.Helper()
		// The developer's own view of their access.
		for _, a := range dev.Must(200, "GET", "/v1/me/access", nil).JSON["accounts"].([]any) {
			if a := a.(map[string]any); a["account_id"] == acct {
				held("GET /v1/me/access", devID, a, devNone)
			}
		}
		// The account as the developer reads it.
		held("GET /v1/accounts/{id}", devID, dev.Must(200, "GET", "/v1/accounts/"+acct, nil).JSON, devNone)
		// The access review.
		review := owner.Must(200, "GET", "/v1/accounts/"+acct+"/access", nil).JSON["members"].([]any)
		if len(review) != 3 {
			t.Fatalf("review: %v", review)
		}
		for _, m := range review {
			m := m.(map[string]any)
			uid := int64(m["user_id"].(float64))
			held("access review", uid, m, devNone && uid == devID)
		}
		// Who holds numbers.view: not the developer while they hold nothing.
		var holders []string
		for _, m := range owner.Must(200, "GET", "/v1/accounts/"+acct+"/access?permission=numbers.view", nil).JSON["members"].([]any) {
			holders = append(holders, m.(map[string]any)["email"].(string))
		}
		if slices.Contains(holders, "dev@acme-corp.com") == devNone {
			t.Errorf("holders of numbers.view: %v", holders)
		}
		// A member's access, and the preview of a change to admin.
		base := fmt.Sprintf("/v1/accounts/%s/members/%d/access", acct, devID)
		held("member access", devID, owner.Must(200, "GET", base, nil).JSON, devNone)
		pv := owner.Must(200, "GET", base+"?role=admin", nil).JSON
		held("role preview", devID, pv, devNone)
		gained := names(pv["preview"].(map[string]any)["gained"])
		if devNone && (len(gained) != 0 || len(names(pv["preview"].(map[string]any)["lost"])) != 0) {
			t.Errorf("preview of a member holding nothing: %v", pv)
		}
		if !devNone && !slices.Equal(gained, matrixPerms(roster.RoleAdmin, func(p roster.Permission) bool { return !authz.Allowed(roster.RoleDeveloper, p) })) {
			t.Errorf("preview: %v", pv)
		}
		// The CSV: the reason column, and 0 in every permission column.
		owner.Header.Set("Accept", "text/csv")
		rows, err := csv.NewReader(strings.NewReader(string(owner.Must(200, "GET", "/v1/accounts/"+acct+"/access", nil).Body))).ReadAll()
		owner.Header.Del("Accept")
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows[1:] {
			if row[2] != "dev@acme-corp.com" {
				continue
			}
			wantReason, wantCell := "", "1"
			if devNone {
				wantReason, wantCell = "mfa_required", "0"
			}
			if row[6] != wantReason || row[7] != wantCell { // numbers.view, which developers hold
				t.Errorf("CSV row %v, want reason %q and numbers.view %s", row, wantReason, wantCell)
			}
		}
	}
	views(true)

	// The account's own credentials (a machine credential, not held to
	// two-factor sign-in) read what they hold: the developer role's
	// permissions but the credentials' own, as the gate answers them.
	creds := owner.Must(200, "GET", "/v1/accounts/"+acct+"/credentials", nil)
	basic := e.Client(t)
	basic.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(acct+":"+creds.Str("auth_token"))))
	shown := names(basic.Must(200, "GET", "/v1/accounts/"+acct, nil).JSON["permissions"])
	if want := matrixPerms(roster.RoleDeveloper, func(p roster.Permission) bool {
		return p != roster.CredentialsView && p != roster.CredentialsEdit
	}); !slices.Equal(shown, want) {
		t.Errorf("account credentials hold %v, want %v", shown, want)
	}
	basic.Refused(403, "forbidden", "GET", "/v1/accounts/"+acct+"/credentials", nil)

	// Once the developer turns two-factor on, every view shows the role's
	// permissions at once.
	devSecret, _ := enroll(t, e, dev, now)
	views(false)
	// And nothing again once they turn it off.
	next := now.Add(30 * time.Second)
	clock(e, next)
	dev.Must(204, "DELETE", "/v1/me/mfa/totp", map[string]string{"password": servertest.Password, "otp": code(t, devSecret, next)})
	views(true)
}
