package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/server/servertest"
)

// Member deactivation (issue 23), driven here through the service method
// the SCIM room calls (Service.SetMemberActive), with the token's name as
// actor, as the directory does: everything else is seen through HTTP.

// deactivation is one account with an owner and a developer who has a
// session and a personal API key.
type deactivation struct {
	e          *servertest.Env
	owner, dev *servertest.Client
	devKey     *servertest.Client // the developer's personal API key
	key        string
	acct       string
	devID      int64
	a          roster.Account
}

var directory = roster.Actor{Email: "Okta provisioning"} // a SCIM token's name

func newDeactivation(t *testing.T, tweak ...servertest.Options) *deactivation {
	t.Helper()
	d := &deactivation{}
	d.e = servertest.New(t, tweak...)
	d.owner, d.acct = d.e.SignUp(t, "owner@acme-corp.com", "Owner")
	d.e.Commit(t, d.acct)
	d.dev, d.devID = d.e.Join(t, d.owner, d.acct, "dev@acme-corp.com", "developer")
	d.key = d.dev.Must(201, "POST", "/v1/me/api-keys", map[string]string{"account_id": d.acct, "name": "ci"}).Str("key")
	d.devKey = d.e.Client(t)
	d.devKey.Header.Set("Authorization", "Bearer "+d.key)
	var err error
	d.a, err = d.e.Server.DB.Account(context.Background(), d.acct)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *deactivation) set(t *testing.T, uid int64, active bool) (roster.Member, error) {
	t.Helper()
	return d.e.Server.Service.SetMemberActive(context.Background(), d.a, uid, active, directory)
}

func (d *deactivation) check(t *testing.T, by map[string]any) (bool, string) {
	t.Helper()
	body := map[string]any{"account_id": d.acct, "permission": "numbers.view"}
	for k, v := range by {
		body[k] = v
	}
	r := d.e.Platform(t).Must(200, "POST", "/v1/authz/check", body)
	allowed, _ := r.JSON["allowed"].(bool)
	return allowed, r.Str("reason")
}

func (d *deactivation) page(t *testing.T, c *servertest.Client, path string) (int, string) {
	t.Helper()
	return ssoPage(t, d.e, c, path)
}

func TestDeactivate_EndsAccessEverywhereAndReactivateRestoresIt(t *testing.T) {
	t.Parallel()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(hook.Close)
	d := newDeactivation(t, servertest.Options{Tweak: webhookServer(true)})
	e, acct := d.e, d.acct
	wh := d.owner.Must(201, "POST", "/v1/accounts/"+acct+"/webhooks",
		map[string]any{"url": hook.URL, "events": []string{"member.deactivated", "member.reactivated"}})
	whID := fmt.Sprint(int64(wh.JSON["id"].(float64)))

	// Before: the developer acts, by session and by key.
	d.dev.Must(200, "GET", "/v1/accounts/"+acct+"/numbers", nil)
	d.devKey.Must(200, "GET", "/v1/accounts/"+acct+"/numbers", nil)
	if ok, reason := d.check(t, map[string]any{"user_id": d.devID}); !ok {
		t.Fatalf("before: check %s", reason)
	}

	mails := servertest.MailCount(e.Mail, "dev@acme-corp.com")
	m, err := d.set(t, d.devID, false)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != roster.MemberDeactivated || m.Role != roster.RoleDeveloper {
		t.Fatalf("SetMemberActive answered %+v", m)
	}

	// Every route but the account's own answer refuses, on the API and the
	// console, by session and by key; the check says why, by user and by key.
	for _, c := range []*servertest.Client{d.dev, d.devKey} {
		r := c.Refused(403, "member_deactivated", "GET", "/v1/accounts/"+acct+"/numbers", nil)
		if msg := r.JSON["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "deactivated") || !strings.Contains(msg, "admin") {
			t.Errorf("refusal in words: %q", msg)
		}
		c.Refused(403, "member_deactivated", "GET", "/v1/accounts/"+acct+"/members", nil)
		c.Refused(403, "member_deactivated", "GET", "/v1/accounts/"+acct+"/audit", nil)
	}
	d.dev.Refused(403, "member_deactivated", "POST", "/v1/accounts/"+acct+"/invitations", map[string]string{"email": "x@acme-corp.com", "role": "support"})
	if status, body := d.page(t, d.dev, "/accounts/"+acct+"/numbers"); status != 403 || !strings.Contains(body, "was deactivated by your company") {
		t.Errorf("console page: %d %s", status, body)
	}
	if status, body := d.page(t, d.dev, "/accounts/"+acct); status != 200 || !strings.Contains(body, `id="deactivated"`) || !strings.Contains(body, "Nothing while deactivated") {
		t.Errorf("console overview: %d", status)
	}
	for _, by := range []map[string]any{{"user_id": d.devID}, {"api_key": d.key}} {
		if ok, reason := d.check(t, by); ok || reason != "deactivated" {
			t.Errorf("check by %v: %v %s, want deactivated", by, ok, reason)
		}
	}
	// GET /v1/accounts/{id} (any member) still answers, with the status.
	for _, c := range []*servertest.Client{d.dev, d.devKey} {
		r := c.Must(200, "GET", "/v1/accounts/"+acct, nil)
		if r.Str("status") != "deactivated" || r.Str("reason") != "deactivated" || r.Str("role") != "developer" || len(r.JSON["permissions"].([]any)) != 0 {
			t.Errorf("account as the deactivated member sees it: %s", r.Body)
		}
	}
	// The team sees them listed, deactivated, and can filter by it.
	l := d.owner.Must(200, "GET", "/v1/accounts/"+acct+"/members?status=deactivated", nil).Objects()
	if len(l) != 1 || l[0]["email"] != "dev@acme-corp.com" || l[0]["status"] != "deactivated" || l[0]["provisioned"] != false {
		t.Errorf("deactivated members: %v", l)
	}
	if l := d.owner.Must(200, "GET", "/v1/accounts/"+acct+"/members?status=active", nil).Objects(); len(l) != 1 || l[0]["email"] != "owner@acme-corp.com" {
		t.Errorf("active members: %v", l)
	}
	if status, body := d.page(t, d.owner, "/accounts/"+acct+"/team?status=deactivated"); status != 200 || !strings.Contains(body, `data-status="deactivated"`) || !strings.Contains(body, `<option value="deactivated" selected>Deactivated</option>`) {
		t.Errorf("console team list: %d", status)
	}
	// The member's own list of accounts says so too.
	if ms := d.dev.Must(200, "GET", "/v1/me/accounts", nil).Objects(); !slices.ContainsFunc(ms, func(m map[string]any) bool {
		return m["status"] == "deactivated"
	}) {
		t.Errorf("the member's accounts: %v", ms)
	}
	msg := e.Mail.WaitFor(t, "dev@acme-corp.com", mails+1, 10*time.Second)
	if !strings.Contains(msg.Subject, "was deactivated") || !strings.Contains(msg.Text, "Okta provisioning") {
		t.Errorf("mail %q: %s", msg.Subject, msg.Text)
	}

	// Again: nothing changes, nothing is audited, mailed or emitted.
	if _, err := d.set(t, d.devID, false); err != nil {
		t.Fatal(err)
	}

	// Reactivated: the same role, at once, by session and key.
	m, err = d.set(t, d.devID, true)
	if err != nil || m.Status != roster.MemberActive || m.Role != roster.RoleDeveloper {
		t.Fatalf("reactivate: %+v, %v", m, err)
	}
	d.dev.Must(200, "GET", "/v1/accounts/"+acct+"/numbers", nil)
	d.devKey.Must(200, "GET", "/v1/accounts/"+acct+"/numbers", nil)
	for _, by := range []map[string]any{{"user_id": d.devID}, {"api_key": d.key}} {
		if ok, reason := d.check(t, by); !ok {
			t.Errorf("check by %v after reactivation: %s", by, reason)
		}
	}
	if _, err := d.set(t, d.devID, true); err != nil {
		t.Fatal(err)
	}
	msg = e.Mail.WaitFor(t, "dev@acme-corp.com", mails+2, 10*time.Second)
	if !strings.Contains(msg.Subject, "was restored") || !strings.Contains(msg.Text, "Developer") {
		t.Errorf("mail %q: %s", msg.Subject, msg.Text)
	}

	// Audited once each, with the directory as actor.
	var got []string
	for _, ev := range d.owner.Must(200, "GET", "/v1/accounts/"+acct+"/audit?limit=100", nil).Objects() {
		if a := ev["action"].(string); strings.HasPrefix(a, "member.deactivate") || strings.HasPrefix(a, "member.reactivate") {
			got = append(got, fmt.Sprint(a, " ", ev["actor_email"], " ", ev["target"], " ", ev["detail"], " ", ev["subject_email"]))
		}
	}
	want := []string{
		"member.reactivate Okta provisioning dev@acme-corp.com developer dev@acme-corp.com",
		"member.deactivate Okta provisioning dev@acme-corp.com developer dev@acme-corp.com",
	}
	if !slices.Equal(got, want) {
		t.Errorf("audit %q, want %q", got, want)
	}
	if status, body := d.page(t, d.owner, "/accounts/"+acct+"/audit"); status != 200 || !strings.Contains(body, "deactivated") || !strings.Contains(body, "reactivated") {
		t.Errorf("console audit: %d", status)
	}
	// One webhook event each.
	var types []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		types = types[:0]
		for _, dl := range d.owner.Must(200, "GET", "/v1/accounts/"+acct+"/webhooks/"+whID+"/deliveries", nil).Objects() {
			types = append(types, dl["type"].(string))
		}
		if len(types) >= 2 {
			break
		}
	}
	slices.Sort(types)
	if !slices.Equal(types, []string{"member.deactivated", "member.reactivated"}) {
		t.Errorf("webhook deliveries %v", types)
	}
	if n := servertest.MailCount(e.Mail, "dev@acme-corp.com"); n != mails+2 {
		t.Errorf("%d mails, want 2 (none for a state the member was in)", n-mails)
	}
}

// The owner is never deactivated; a stranger, or another account's
// member, is not found. Nothing changes.
func TestDeactivate_OwnerAndStrangersRefused(t *testing.T) {
	t.Parallel()
	d := newDeactivation(t)
	e := d.e
	ownerID := int64(d.owner.Must(200, "GET", "/v1/me", nil).JSON["id"].(float64))
	_, otherAcct := e.SignUp(t, "other@rival.com", "Other")
	otherID := int64(e.Count(t, `SELECT m.user_id FROM members m JOIN accounts a ON a.id = m.account_id WHERE a.auth_id = ?`, otherAcct))
	audits := e.Count(t, `SELECT COUNT(*) FROM audit_events`)
	changes := e.Count(t, `SELECT COUNT(*) FROM changes`)
	for _, active := range []bool{false, true} {
		if _, err := d.set(t, ownerID, active); roster.ErrorCode(err) != roster.EOWNERIMMUTABLE {
			t.Errorf("owner (active %v): %v, want owner_immutable", active, err)
		}
		for _, uid := range []int64{otherID, 999999} {
			if _, err := d.set(t, uid, active); roster.ErrorCode(err) != roster.ENOTFOUND {
				t.Errorf("user %d (active %v): %v, want not_found", uid, active, err)
			}
		}
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM audit_events`); n != audits {
		t.Errorf("refusals audited: %d -> %d", audits, n)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM changes`); n != changes {
		t.Errorf("refusals recorded changes: %d -> %d", changes, n)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM members WHERE deactivated_at IS NOT NULL`); n != 0 {
		t.Errorf("%d members deactivated", n)
	}
	d.owner.Must(200, "GET", "/v1/accounts/"+d.acct+"/numbers", nil)
	if ok, reason := d.check(t, map[string]any{"user_id": ownerID}); !ok {
		t.Errorf("owner check: %s", reason)
	}
}

// A deactivated member's role can still be changed by an admin (the
// directory's groups may move them), and reactivation restores the role
// they hold then; the status filter refuses what it does not know.
func TestDeactivate_RoleKeptAcrossAndFilterValues(t *testing.T) {
	t.Parallel()
	d := newDeactivation(t)
	if _, err := d.set(t, d.devID, false); err != nil {
		t.Fatal(err)
	}
	d.owner.Must(200, "PATCH", fmt.Sprintf("/v1/accounts/%s/members/%d", d.acct, d.devID), map[string]string{"role": "admin"})
	if ok, reason := d.check(t, map[string]any{"user_id": d.devID}); ok || reason != "deactivated" {
		t.Errorf("a role change reactivated them: %v %s", ok, reason)
	}
	m, err := d.set(t, d.devID, true)
	if err != nil || m.Role != roster.RoleAdmin {
		t.Fatalf("reactivated as %+v, %v", m, err)
	}
	d.dev.Must(200, "GET", "/v1/accounts/"+d.acct+"/members", nil)
	d.owner.Refused(400, "invalid_request", "GET", "/v1/accounts/"+d.acct+"/members?status=gone", nil)

	// A member the directory provisioned (a scim_users row, as the SCIM
	// room writes it) is shown so, in the API and the console.
	if _, err := d.e.Server.DB.SQL().Exec(fmt.Sprintf(`INSERT INTO scim_users (account_id, user_id, created_at) VALUES (%d, %d, 0)`, d.a.Seq, d.devID)); err != nil {
		t.Fatal(err)
	}
	for _, m := range d.owner.Must(200, "GET", "/v1/accounts/"+d.acct+"/members", nil).Objects() {
		if m["provisioned"] != (m["email"] == "dev@acme-corp.com") {
			t.Errorf("member %v", m)
		}
	}
	if status, body := d.page(t, d.owner, "/accounts/"+d.acct+"/team"); status != 200 || strings.Count(body, `data-provisioned="true"`) != 1 {
		t.Errorf("console team list: %d, %d provisioned badges", status, strings.Count(body, `data-provisioned="true"`))
	}
}
