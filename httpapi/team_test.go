package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/mail/mailtest"
	"github.com/rosterhq/roster/server/servertest"
)

func TestSignup_VerifyLoginAndManageAccounts(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	anon := e.Client(t)
	anon.Must(201, "POST", "/v1/signup", map[string]string{"email": " Ada@Example-Corp.com ", "password": servertest.Password, "name": "Ada"})
	m := e.Mail.WaitFor(t, "ada@example-corp.com", 1, 10*time.Second)
	link := mailtest.Link(t, m.Text, e.URL+"/verify/")

	// Login is refused until the address is verified.
	anon.Refused(403, "email_unverified", "POST", "/v1/login", map[string]string{"email": "ada@example-corp.com", "password": servertest.Password})
	anon.Refused(401, "unauthenticated", "GET", "/v1/me", nil)

	anon.Must(200, "POST", "/v1/verify-email", map[string]string{"token": strings.TrimPrefix(link, e.URL+"/verify/")})
	// The link is single use.
	anon.Refused(400, "invalid_request", "POST", "/v1/verify-email", map[string]string{"token": strings.TrimPrefix(link, e.URL+"/verify/")})

	anon.Refused(401, "unauthenticated", "POST", "/v1/login", map[string]string{"email": "ada@example-corp.com", "password": "wrong password!!"})
	anon.Refused(401, "unauthenticated", "POST", "/v1/login", map[string]string{"email": "nobody@example-corp.com", "password": servertest.Password})
	anon.Must(200, "POST", "/v1/login", map[string]string{"email": "ADA@example-corp.com", "password": servertest.Password})

	me := anon.Must(200, "GET", "/v1/me", nil)
	if me.Str("email") != "ada@example-corp.com" || me.Str("default_account_id") == "" {
		t.Fatalf("me = %s", me.Body)
	}
	own := me.Str("default_account_id")
	if len(own) != 20 || !strings.HasPrefix(own, "MA") {
		t.Errorf("account ID %q is not an Auth ID", own)
	}
	acc := anon.Must(200, "GET", "/v1/accounts/"+own, nil)
	if acc.Str("role") != "owner" || acc.Str("plan") != "standard" || len(acc.JSON["permissions"].([]any)) != 15 {
		t.Errorf("own account = %s", acc.Body)
	}

	second := anon.Must(201, "POST", "/v1/accounts", map[string]string{"name": "Side project"}).Str("id")
	list := anon.Must(200, "GET", "/v1/me/accounts", nil)
	if list.Total() != 2 {
		t.Fatalf("accounts = %s", list.Body)
	}
	for _, o := range list.Objects() {
		isOwn := o["account"].(map[string]any)["id"] == own
		if o["role"] != "owner" || o["is_default"] != isOwn {
			t.Errorf("membership %v", o)
		}
	}
	anon.Must(200, "PUT", "/v1/me/default-account", map[string]string{"account_id": second})
	if got := anon.Must(200, "GET", "/v1/me", nil).Str("default_account_id"); got != second {
		t.Errorf("default = %s, want %s", got, second)
	}
	anon.Refused(404, "not_found", "PUT", "/v1/me/default-account", map[string]string{"account_id": "MA0000000000000000XX"})

	anon.Must(204, "POST", "/v1/logout", nil)
	anon.Refused(401, "unauthenticated", "GET", "/v1/me", nil)
}

func TestSignup_Refusals(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.Client(t)
	cases := []struct {
		name, email, password, userName string
		status                          int
		code                            string
	}{
		{"personal domain", "bob@gmail.com", servertest.Password, "Bob", 422, "personal_email_domain"},
		{"personal domain any case", "bob@GMAIL.COM", servertest.Password, "Bob", 422, "personal_email_domain"},
		{"not an address", "bob-at-example.com", servertest.Password, "Bob", 400, "invalid_request"},
		{"header injection", "bob@example.com\r\nBcc: x@example.com", servertest.Password, "Bob", 400, "invalid_request"},
		{"short password", "bob@example-corp.com", "short", "Bob", 400, "invalid_request"},
		{"no name", "bob@example-corp.com", servertest.Password, "  ", 400, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.Refused(tc.status, tc.code, "POST", "/v1/signup", map[string]string{"email": tc.email, "password": tc.password, "name": tc.userName})
		})
	}
	c.Refused(400, "invalid_request", "POST", "/v1/signup", `{"email": "x@example-corp.com", "password": "`+servertest.Password+`", "name": "X", "admin": true}`)
	c.Refused(400, "invalid_request", "POST", "/v1/signup", `{not json`)
	c.Refused(413, "request_too_large", "POST", "/v1/signup", `{"name": "`+strings.Repeat("a", 2<<20)+`"}`)
	// Nothing was created: no mail went out, and none of these can log in.
	if n := len(e.Mail.Messages()); n != 0 {
		t.Errorf("%d mails sent for refused sign-ups", n)
	}
	var users int
	e.Server.DB.SQL().QueryRow(`SELECT COUNT(*) FROM users`).Scan(&users)
	if users != 0 {
		t.Errorf("%d users after refused sign-ups", users)
	}
}

func TestSignup_RegisteredAddressIsNotRevealed(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	e.SignUp(t, "ada@example-corp.com", "Ada")
	later(e, 2*time.Minute) // past the address's one-mail-a-minute limit
	c := e.Client(t)
	first := c.Must(201, "POST", "/v1/signup", map[string]string{"email": "ada@example-corp.com", "password": "another password 1", "name": "Mallory"})
	fresh := c.Must(201, "POST", "/v1/signup", map[string]string{"email": "new@example-corp.com", "password": servertest.Password, "name": "New"})
	if first.Str("status") != fresh.Str("status") {
		t.Errorf("answers differ: %s vs %s", first.Body, fresh.Body)
	}
	// The owner of the address is told instead; the password did not change.
	m := e.Mail.WaitFor(t, "ada@example-corp.com", 2, 10*time.Second)
	if !strings.Contains(m.Subject, "tried to sign up") {
		t.Errorf("second mail to ada: %q", m.Subject)
	}
	c.Refused(401, "unauthenticated", "POST", "/v1/login", map[string]string{"email": "ada@example-corp.com", "password": "another password 1"})
	c.Must(200, "POST", "/v1/login", map[string]string{"email": "ada@example-corp.com", "password": servertest.Password})
}

// TestTeam_Lifecycle walks one account through the plan, invitations of
// every role, role changes and deletion, checking each refusal on the way.
func TestTeam_Lifecycle(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Olga Owner")
	inv := "/v1/accounts/" + acct + "/invitations"

	// Standard plan: no team.
	owner.Refused(403, "plan_required", "POST", inv, map[string]string{"email": "dev@acme-corp.com", "role": "developer"})
	if owner.Must(200, "GET", inv, nil).Total() != 0 || servertest.MailCount(e.Mail, "dev@acme-corp.com") != 0 {
		t.Fatal("a refused invitation left something behind")
	}

	// Only the operator sets plans, and only valid ones.
	owner.Refused(401, "unauthenticated", "PUT", "/v1/admin/accounts/"+acct+"/plan", map[string]any{"plan": "committed", "monthly_commitment_usd": 1000, "contract_months": 12})
	op := e.Operator(t)
	op.Refused(400, "invalid_request", "PUT", "/v1/admin/accounts/"+acct+"/plan", map[string]any{"plan": "committed", "monthly_commitment_usd": 749, "contract_months": 12})
	op.Refused(400, "invalid_request", "PUT", "/v1/admin/accounts/"+acct+"/plan", map[string]any{"plan": "committed", "monthly_commitment_usd": 750, "contract_months": 11})
	op.Refused(400, "invalid_request", "PUT", "/v1/admin/accounts/"+acct+"/plan", map[string]any{"plan": "gold"})
	op.Refused(404, "not_found", "PUT", "/v1/admin/accounts/MA000000000000000000/plan", map[string]any{"plan": "standard"})
	if owner.Must(200, "GET", "/v1/accounts/"+acct, nil).Str("plan") != "standard" {
		t.Fatal("a refused plan change changed the plan")
	}
	e.Commit(t, acct)

	// Invitation refusals.
	for _, tc := range []struct {
		email, role string
		status      int
		code        string
	}{
		{"x@acme-corp.com", "owner", 403, "owner_immutable"},
		{"x@acme-corp.com", "superuser", 400, "invalid_request"},
		{"x@hotmail.com", "developer", 422, "personal_email_domain"},
		{"not-an-address", "developer", 400, "invalid_request"},
		{"OWNER@acme-corp.com", "admin", 409, "already_member"},
	} {
		owner.Refused(tc.status, tc.code, "POST", inv, map[string]string{"email": tc.email, "role": tc.role})
	}
	if owner.Must(200, "GET", inv, nil).Total() != 0 {
		t.Fatal("refused invitations were stored")
	}

	// One of each role joins through the mailed link.
	users := map[string]*servertest.Client{}
	ids := map[string]int64{}
	for _, role := range []string{"admin", "developer", "finance_analyst", "support"} {
		users[role], ids[role] = e.Join(t, owner, acct, role+"@acme-corp.com", role)
		got := users[role].Must(200, "GET", "/v1/accounts/"+acct, nil)
		if got.Str("role") != role {
			t.Errorf("%s sees role %s", role, got.Str("role"))
		}
		// An invitee gets no account of their own.
		if n := users[role].Must(200, "GET", "/v1/me/accounts", nil).Total(); n != 1 {
			t.Errorf("%s belongs to %d accounts, want 1", role, n)
		}
	}
	members := owner.Must(200, "GET", "/v1/accounts/"+acct+"/members", nil)
	if members.Total() != 5 || members.Objects()[0]["role"] != "owner" {
		t.Fatalf("members = %s", members.Body)
	}

	// A pending invitation blocks a second one to the same address.
	_, pendingID := e.InviteToken(t, owner, acct, "later@acme-corp.com", "support")
	owner.Refused(409, "invitation_pending", "POST", inv, map[string]string{"email": "Later@ACME-corp.com", "role": "admin"})

	// Team management is owner and admin only.
	for _, role := range []string{"developer", "finance_analyst", "support"} {
		users[role].Refused(403, "forbidden", "GET", "/v1/accounts/"+acct+"/members", nil)
		users[role].Refused(403, "forbidden", "POST", inv, map[string]string{"email": "esc@acme-corp.com", "role": "admin"})
		users[role].Refused(403, "forbidden", "PATCH", fmt.Sprintf("/v1/accounts/%s/members/%d", acct, ids[role]), map[string]string{"role": "admin"})
		users[role].Refused(403, "forbidden", "GET", "/v1/accounts/"+acct+"/audit", nil)
	}
	if got := users["developer"].Must(200, "GET", "/v1/accounts/"+acct, nil).Str("role"); got != "developer" {
		t.Fatalf("developer escalated to %s", got)
	}

	// The owner cannot be re-roled, deleted, or leave; no one becomes owner.
	ownerID := int64(owner.Must(200, "GET", "/v1/me", nil).JSON["id"].(float64))
	admin := users["admin"]
	admin.Refused(403, "owner_immutable", "PATCH", fmt.Sprintf("/v1/accounts/%s/members/%d", acct, ownerID), map[string]string{"role": "admin"})
	admin.Refused(403, "owner_immutable", "DELETE", fmt.Sprintf("/v1/accounts/%s/members/%d", acct, ownerID), nil)
	admin.Refused(403, "owner_immutable", "PATCH", fmt.Sprintf("/v1/accounts/%s/members/%d", acct, ids["developer"]), map[string]string{"role": "owner"})
	owner.Refused(403, "owner_immutable", "DELETE", "/v1/accounts/"+acct+"/members/me", nil)
	admin.Refused(404, "not_found", "PATCH", fmt.Sprintf("/v1/accounts/%s/members/%d", acct, 999999), map[string]string{"role": "admin"})

	// An admin manages the team, other admins included.
	r := admin.Must(200, "PATCH", fmt.Sprintf("/v1/accounts/%s/members/%d", acct, ids["support"]), map[string]string{"role": "developer"})
	if r.Str("role") != "developer" {
		t.Errorf("role change answered %s", r.Body)
	}
	users["support"].Must(200, "GET", "/v1/accounts/"+acct, nil)
	if got := users["support"].Must(200, "GET", "/v1/accounts/"+acct, nil).Str("role"); got != "developer" {
		t.Errorf("re-roled member sees %s", got)
	}
	admin.Must(200, "PATCH", fmt.Sprintf("/v1/accounts/%s/invitations/%d", acct, pendingID), map[string]string{"role": "finance_analyst"})
	admin.Refused(403, "owner_immutable", "PATCH", fmt.Sprintf("/v1/accounts/%s/invitations/%d", acct, pendingID), map[string]string{"role": "owner"})

	// Delete: access ends on the very next request, and only in this account.
	dev := users["developer"]
	devOwn := dev.Must(201, "POST", "/v1/accounts", map[string]string{"name": "Dev's own"}).Str("id")
	admin.Must(204, "DELETE", fmt.Sprintf("/v1/accounts/%s/members/%d", acct, ids["developer"]), nil)
	dev.Refused(404, "not_found", "GET", "/v1/accounts/"+acct, nil)
	dev.Must(200, "GET", "/v1/accounts/"+devOwn, nil)
	admin.Refused(404, "not_found", "DELETE", fmt.Sprintf("/v1/accounts/%s/members/%d", acct, ids["developer"]), nil)

	// Any member but the owner may leave.
	users["finance_analyst"].Must(204, "DELETE", "/v1/accounts/"+acct+"/members/me", nil)
	users["finance_analyst"].Refused(404, "not_found", "GET", "/v1/accounts/"+acct, nil)

	// The audit log saw it all, newest first.
	audit := owner.Must(200, "GET", "/v1/accounts/"+acct+"/audit?limit=100", nil)
	actions := map[string]bool{}
	for _, ev := range audit.Objects() {
		actions[ev["action"].(string)] = true
		if ev["ip"] == "" {
			t.Errorf("audit event without IP: %v", ev)
		}
	}
	for _, a := range []string{"account.plan", "invitation.create", "invitation.accept", "member.role", "member.delete", "member.leave", "invitation.role", "user.login"} {
		if !actions[a] {
			t.Errorf("audit has no %s event", a)
		}
	}
	if audit.Objects()[0]["action"] != "member.leave" {
		t.Errorf("newest audit event is %v", audit.Objects()[0]["action"])
	}
}

func TestInvitation_ExistingUserAcceptsAndOthersCannot(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	carol, carolOwn := e.SignUp(t, "carol@partner-corp.com", "Carol")
	mallory, _ := e.SignUp(t, "mallory@partner-corp.com", "Mallory")

	token, _ := e.InviteToken(t, owner, acct, "carol@partner-corp.com", "support")
	prev := e.Client(t).Must(200, "GET", "/v1/invitations/"+token, nil)
	if prev.JSON["user_exists"] != true || prev.Str("role") != "support" || prev.Str("email") != "carol@partner-corp.com" {
		t.Errorf("preview = %s", prev.Body)
	}
	// Signing up again from the link is refused: the address has a login.
	e.Client(t).Refused(409, "conflict", "POST", "/v1/signup", map[string]string{"password": servertest.Password, "name": "C", "invitation_token": token})
	e.Client(t).Refused(401, "unauthenticated", "POST", "/v1/invitations/"+token+"/accept", nil)
	mallory.Refused(403, "forbidden", "POST", "/v1/invitations/"+token+"/accept", nil)
	mallory.Refused(404, "not_found", "GET", "/v1/accounts/"+acct, nil)

	carol.Must(200, "POST", "/v1/invitations/"+token+"/accept", nil)
	carol.Refused(410, "invitation_invalid", "POST", "/v1/invitations/"+token+"/accept", nil)
	e.Client(t).Refused(410, "invitation_invalid", "GET", "/v1/invitations/"+token, nil)
	list := carol.Must(200, "GET", "/v1/me/accounts", nil)
	if list.Total() != 2 {
		t.Fatalf("carol's accounts = %s", list.Body)
	}
	// Her default stays her own account.
	if carol.Must(200, "GET", "/v1/me", nil).Str("default_account_id") != carolOwn {
		t.Error("accepting changed the default account")
	}
}

func TestInvitation_ResendRevokeAndExpiry(t *testing.T) {
	t.Parallel()
	e := servertest.New(t, servertest.Options{Tweak: nil})
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	old, id := e.InviteToken(t, owner, acct, "dan@acme-corp.com", "developer")
	base := fmt.Sprintf("/v1/accounts/%s/invitations/%d", acct, id)

	// Resend is rate-limited per invitation.
	r := owner.Refused(429, "rate_limited", "POST", base+"/resend", nil)
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	e.Server.Service.Config.ResendInterval = 0
	owner.Must(200, "POST", base+"/resend", nil)
	m := e.Mail.WaitFor(t, "dan@acme-corp.com", 2, 10*time.Second)
	fresh := strings.TrimPrefix(mailtest.Link(t, m.Text, e.URL+"/invite/"), e.URL+"/invite/")
	if fresh == old {
		t.Fatal("resend reused the token")
	}
	e.Client(t).Refused(410, "invitation_invalid", "GET", "/v1/invitations/"+old, nil)
	got := owner.Must(200, "GET", "/v1/accounts/"+acct+"/invitations", nil).Objects()[0]
	if got["send_count"].(float64) != 2 {
		t.Errorf("send_count = %v", got["send_count"])
	}

	// Revoke: the link stops working; revoking twice is not found.
	owner.Must(204, "DELETE", base, nil)
	e.Client(t).Refused(410, "invitation_invalid", "GET", "/v1/invitations/"+fresh, nil)
	e.Client(t).Refused(410, "invitation_invalid", "POST", "/v1/signup", map[string]string{"password": servertest.Password, "name": "D", "invitation_token": fresh})
	owner.Refused(404, "not_found", "DELETE", base, nil)
	owner.Refused(404, "not_found", "POST", base+"/resend", nil)

	// Expiry: an expired link is refused, and a new invitation can be sent.
	expTok, _ := e.InviteToken(t, owner, acct, "eve@acme-corp.com", "support")
	e.Server.DB.Now = func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }
	e.Client(t).Refused(410, "invitation_invalid", "GET", "/v1/invitations/"+expTok, nil)
	// Eight days on, the owner's session has ended (12 h without use): log in again.
	owner.Must(200, "POST", "/v1/login", map[string]string{"email": "owner@acme-corp.com", "password": servertest.Password})
	owner.Must(201, "POST", "/v1/accounts/"+acct+"/invitations", map[string]string{"email": "eve@acme-corp.com", "role": "support"})
}

func TestPlan_DowngradeSuspendsAndUpgradeRestores(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	dev, devID := e.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	pending, _ := e.InviteToken(t, owner, acct, "later@acme-corp.com", "support")
	platform := e.Platform(t)
	check := map[string]any{"account_id": acct, "user_id": devID, "permission": "numbers.edit"}
	if r := platform.Must(200, "POST", "/v1/authz/check", check); r.JSON["allowed"] != true {
		t.Fatalf("check before downgrade = %s", r.Body)
	}

	e.Operator(t).Must(200, "PUT", "/v1/admin/accounts/"+acct+"/plan", map[string]any{"plan": "standard"})
	r := platform.Must(200, "POST", "/v1/authz/check", check)
	if r.JSON["allowed"] != false || r.Str("reason") != "suspended" || r.Str("role") != "developer" {
		t.Errorf("check after downgrade = %s", r.Body)
	}
	dev.Refused(403, "plan_required", "GET", "/v1/accounts/"+acct+"/members", nil)
	if got := dev.Must(200, "GET", "/v1/accounts/"+acct, nil); got.Str("status") != "suspended" || len(got.JSON["permissions"].([]any)) != 0 {
		t.Errorf("suspended member sees %s", got.Body)
	}
	e.Client(t).Refused(410, "invitation_invalid", "GET", "/v1/invitations/"+pending, nil)
	ms := owner.Must(200, "GET", "/v1/accounts/"+acct+"/members", nil).Objects()
	if ms[1]["status"] != "suspended" || ms[0]["status"] != "active" {
		t.Errorf("members after downgrade: %v", ms)
	}

	e.Commit(t, acct)
	if r := platform.Must(200, "POST", "/v1/authz/check", check); r.JSON["allowed"] != true {
		t.Errorf("check after upgrade = %s", r.Body)
	}
	e.Client(t).Must(200, "GET", "/v1/invitations/"+pending, nil)
}

func TestAuthzCheck(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	_, finID := e.Join(t, owner, acct, "fin@acme-corp.com", "finance_analyst")
	p := e.Platform(t)
	for _, tc := range []struct {
		perm    string
		allowed bool
		reason  string
	}{
		{"billing.edit", true, "allowed"},
		{"pricing.view", true, "allowed"},
		{"numbers.view", false, "missing_permission"},
		{"team.view", false, "missing_permission"},
	} {
		r := p.Must(200, "POST", "/v1/authz/check", map[string]any{"account_id": acct, "user_id": finID, "permission": tc.perm})
		if r.JSON["allowed"] != tc.allowed || r.Str("reason") != tc.reason || r.Str("role") != "finance_analyst" {
			t.Errorf("%s: %s", tc.perm, r.Body)
		}
	}
	r := p.Must(200, "POST", "/v1/authz/check", map[string]any{"account_id": "MA000000000000000000", "user_id": finID, "permission": "billing.view"})
	if r.JSON["allowed"] != false || r.Str("reason") != "not_member" {
		t.Errorf("unknown account: %s", r.Body)
	}
	p.Refused(400, "invalid_request", "POST", "/v1/authz/check", map[string]any{"account_id": acct, "user_id": finID, "permission": "billing.delete"})
	p.Refused(400, "invalid_request", "POST", "/v1/authz/check", map[string]any{"account_id": acct, "permission": "billing.view"})
	e.Client(t).Refused(401, "unauthenticated", "POST", "/v1/authz/check", map[string]any{"account_id": acct, "user_id": finID, "permission": "billing.view"})
	owner.Refused(401, "unauthenticated", "POST", "/v1/authz/check", map[string]any{"account_id": acct, "user_id": finID, "permission": "billing.view"})
}

func TestCrossAccount_NotFound(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	a, acctA := e.SignUp(t, "a@alpha-corp.com", "A")
	_, acctB := e.SignUp(t, "b@beta-corp.com", "B")
	e.Commit(t, acctB)
	for _, path := range []string{"", "/members", "/invitations", "/audit"} {
		a.Refused(404, "not_found", "GET", "/v1/accounts/"+acctB+path, nil)
		// Unknown and foreign answer alike.
		a.Refused(404, "not_found", "GET", "/v1/accounts/MA000000000000000000"+path, nil)
	}
	a.Refused(404, "not_found", "POST", "/v1/accounts/"+acctB+"/invitations", map[string]string{"email": "x@alpha-corp.com", "role": "admin"})
	a.Refused(404, "not_found", "PUT", "/v1/me/default-account", map[string]string{"account_id": acctB})
	a.Must(200, "GET", "/v1/accounts/"+acctA, nil)
}

func TestCrossOriginUnsafeRequestRefused(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c, _ := e.SignUp(t, "a@alpha-corp.com", "A")
	c.Header.Set("Sec-Fetch-Site", "cross-site")
	c.Refused(403, "forbidden", "POST", "/v1/accounts", map[string]string{"name": "Evil"})
	c.Header.Del("Sec-Fetch-Site")
	if n := c.Must(200, "GET", "/v1/me/accounts", nil).Total(); n != 1 {
		t.Errorf("cross-origin request created an account: %d accounts", n)
	}
}

func TestConcurrent_AcceptOnceAndInviteOnce(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	const n = 12

	// The same invitation token, accepted by many sign-ups at once.
	token, _ := e.InviteToken(t, owner, acct, "racer@acme-corp.com", "support")
	statuses := parallel(n, func(i int) int {
		return e.Client(t).Do("POST", "/v1/signup", map[string]string{"password": servertest.Password, "name": fmt.Sprint("R", i), "invitation_token": token}).Status
	})
	if statuses[201] != 1 {
		t.Errorf("concurrent accepts: %v, want exactly one 201", statuses)
	}
	members := owner.Must(200, "GET", "/v1/accounts/"+acct+"/members", nil)
	if members.Total() != 2 {
		t.Errorf("%d members after concurrent accepts, want 2", members.Total())
	}

	// The same address invited many times at once.
	statuses = parallel(n, func(i int) int {
		return owner.Do("POST", "/v1/accounts/"+acct+"/invitations", map[string]string{"email": "dup@acme-corp.com", "role": "developer"}).Status
	})
	if statuses[201] != 1 || statuses[409] != n-1 {
		t.Errorf("concurrent invites: %v, want one 201 and %d 409", statuses, n-1)
	}
	if got := owner.Must(200, "GET", "/v1/accounts/"+acct+"/invitations", nil).Total(); got != 1 {
		t.Errorf("%d pending invitations, want 1", got)
	}
}

func parallel(n int, f func(i int) int) map[int]int {
	var mu sync.Mutex
	out := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			st := f(i)
			mu.Lock()
			out[st]++
			mu.Unlock()
		}(i)
	}
	close(start)
	wg.Wait()
	return out
}

func TestPagination(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c, _ := e.SignUp(t, "a@alpha-corp.com", "A")
	for i := 0; i < 4; i++ {
		c.Must(201, "POST", "/v1/accounts", map[string]string{"name": fmt.Sprint("Acct ", i)})
	}
	r := c.Must(200, "GET", "/v1/me/accounts?limit=2&offset=1", nil)
	meta := r.JSON["meta"].(map[string]any)
	if meta["limit"].(float64) != 2 || meta["offset"].(float64) != 1 || r.Total() != 5 || len(r.Objects()) != 2 {
		t.Errorf("page = %s", r.Body)
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "offset=-1"} {
		c.Refused(400, "invalid_request", "GET", "/v1/me/accounts?"+q, nil)
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	resp, err := http.Get(e.URL + "/v1/nothing-here")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("unknown route: %d", resp.StatusCode)
	}
}

func TestSignup_AgainBeforeVerifyingSendsANewLink(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.Client(t)
	body := map[string]string{"email": "late@acme-corp.com", "password": servertest.Password, "name": "Late"}
	c.Must(201, "POST", "/v1/signup", body)
	first := e.Mail.WaitFor(t, "late@acme-corp.com", 1, 10*time.Second)
	later(e, 2*time.Minute)
	c.Must(201, "POST", "/v1/signup", body)
	m := e.Mail.WaitFor(t, "late@acme-corp.com", 2, 10*time.Second)
	if m.Subject != "Verify your email address" {
		t.Fatalf("second mail: %q", m.Subject)
	}
	link := mailtest.Link(t, m.Text, e.URL+"/verify/")
	c.Must(200, "POST", "/v1/verify-email", map[string]string{"token": strings.TrimPrefix(link, e.URL+"/verify/")})
	c.Must(200, "POST", "/v1/login", map[string]string{"email": "late@acme-corp.com", "password": servertest.Password})
	if n := c.Must(200, "GET", "/v1/me/accounts", nil).Total(); n != 1 {
		t.Errorf("signing up twice made %d accounts", n)
	}
	// Verifying one link ended the other.
	old := mailtest.Link(t, first.Text, e.URL+"/verify/")
	c.Refused(400, "invalid_request", "POST", "/v1/verify-email", map[string]string{"token": strings.TrimPrefix(old, e.URL+"/verify/")})
}

// later moves the server's clock forward by d.
func later(e *servertest.Env, d time.Duration) {
	now := e.Server.DB.Now()
	e.Server.DB.Now = func() time.Time { return now.Add(d) }
}

// Twenty writers on one row (the account's plan, one member's role) all
// succeed: conflicts are retried with jittered back-off, never a 5xx.
func TestConcurrent_TwentyWritersOnOneRowAllSucceed(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	_, devID := e.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	op := e.Operator(t)
	plans := parallel(20, func(i int) int {
		body := map[string]any{"plan": "committed", "monthly_commitment_usd": 1000 + i, "contract_months": 12}
		return op.Do("PUT", "/v1/admin/accounts/"+acct+"/plan", body).Status
	})
	if plans[200] != 20 {
		t.Errorf("20 concurrent plan changes: %v, want 20 × 200", plans)
	}
	roles := []string{"admin", "developer", "finance_analyst", "support"}
	changes := parallel(20, func(i int) int {
		return owner.Do("PATCH", fmt.Sprintf("/v1/accounts/%s/members/%d", acct, devID), map[string]string{"role": roles[i%4]}).Status
	})
	if changes[200] != 20 {
		t.Errorf("20 concurrent role changes of one member: %v, want 20 × 200", changes)
	}
	// The answer of each write was its own: the member list agrees with the
	// audit log's last word.
	m := owner.Must(200, "GET", "/v1/accounts/"+acct+"/members", nil)
	if m.Total() != 2 {
		t.Errorf("members: %s", m.Body)
	}
}
