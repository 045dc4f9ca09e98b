package console_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

// A removed member may have read the Auth Token: the removal confirmation
// says so for a role that can view credentials, with what the audit log
// shows, and offers rotation; the credentials page lists the former
// members who may hold the token in use until it is rotated out.
func TestCredentials_RemovedMembersWhoCouldReadTheToken(t *testing.T) {
	e := servertest.New(t)
	api, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	devC, devID := e.Join(t, api, acct, "dev@acme-corp.com", "developer")
	dev2C, dev2ID := e.Join(t, api, acct, "dev2@acme-corp.com", "developer")
	_, supID := e.Join(t, api, acct, "sup@acme-corp.com", "support")
	owner, dev, dev2 := newFormClient(t, e, api), newFormClient(t, e, devC), newFormClient(t, e, dev2C)
	path := func(rest string) string { return "/accounts/" + acct + rest }
	members := func() int { return api.Must(200, "GET", "/v1/accounts/"+acct+"/members", nil).Total() }

	// No token yet: nothing to warn of.
	owner.get(path(fmt.Sprintf("/team/members/%d/delete", devID))).want(t, "before any token", 200, "Remove Invitee from this account?")
	if a := owner.get(path(fmt.Sprintf("/team/members/%d/delete", devID))); strings.Contains(a.Body, `id="confirm-warning"`) {
		t.Errorf("a warning before the account has a token")
	}
	// The developer reveals the token (audited), twice.
	dev.get(path("/credentials"))
	dev.post(path("/credentials/reveal"), url.Values{}).want(t, "reveal", 200, `id="auth-token"`)
	dev.post(path("/credentials/reveal"), url.Values{}).want(t, "reveal again", 200, `id="auth-token"`)

	// Removing the developer: the confirmation warns, from the audit log,
	// and offers the rotation; it changes nothing.
	a := owner.get(path(fmt.Sprintf("/team/members/%d/delete", devID)))
	a.want(t, "confirm removing a reader", 200, `id="confirm-warning"`, "is a Developer, a role that can view the account&#39;s Auth Token.",
		"reading the Auth Token in use now twice, last on ", "rotate it after removing them",
		`href="`+path("/credentials/rotate")+`" id="rotate-token"`)
	oneH1(t, "the removal confirmation", a)
	// A developer who never revealed it: the role could; the log shows none.
	owner.get(path(fmt.Sprintf("/team/members/%d/delete", dev2ID))).want(t, "confirm removing a developer who did not read", 200,
		`id="confirm-warning"`, "a role that can view the account&#39;s Auth Token", "shows no reading of the Auth Token in use now")
	// Support cannot view credentials: no warning.
	if a := owner.get(path(fmt.Sprintf("/team/members/%d/delete", supID))); a.Status != 200 || strings.Contains(a.Body, `id="confirm-warning"`) {
		t.Errorf("removing support: %d, warning shown: %v", a.Status, strings.Contains(a.Body, `id="confirm-warning"`))
	}
	if n := members(); n != 4 {
		t.Fatalf("the confirmations changed the team: %d members", n)
	}
	owner.get(path("/credentials")).want(t, "credentials before any removal", 200)
	if a := owner.get(path("/credentials")); strings.Contains(a.Body, `id="token-readers"`) {
		t.Errorf("the credentials page warns while every reader is a member")
	}

	// Removed: the message says so; the credentials page names them (to
	// the owner, who may read the audit log) and offers the rotation.
	owner.get(path(fmt.Sprintf("/team/members/%d/delete", devID)))
	owner.post(path(fmt.Sprintf("/team/members/%d/delete", devID)), url.Values{})
	owner.get(path("/team")).want(t, "after removing", 200, "Their role could view the Auth Token: the Credentials page offers rotating it.")
	owner.get(path("/credentials")).want(t, "credentials after removing a reader", 200, `id="token-readers"`,
		`data-reader="dev@acme-corp.com"`, "Developer", "removed on ", "read it twice by the audit log",
		`href="`+path("/credentials/rotate")+`" id="rotate-for-readers"`)
	// A developer may rotate but not read the audit log: how many, not who.
	a = dev2.get(path("/credentials"))
	a.want(t, "credentials to a developer", 200, `id="token-readers"`, "Someone who is no longer in the team could have read", `id="rotate-for-readers"`)
	if strings.Contains(a.Body, "dev@acme-corp.com") {
		t.Errorf("the credentials page names a former member to someone without audit.view")
	}
	// The rotation's confirmation says what a grace period means for them.
	owner.get(path("/credentials/rotate")).want(t, "rotate confirmation", 200, `id="confirm-warning"`,
		"1 person no longer in the team may hold the Auth Token in use now")

	// Rotated with a grace period, the old token still works: still listed.
	owner.post(path("/credentials/rotate"), url.Values{"keep_old_for": {"24h"}})
	owner.get(path("/credentials")).want(t, "during the grace period", 200, `data-reader="dev@acme-corp.com"`)
	// Rotated with the old token stopped: no one outside holds a working token.
	owner.get(path("/credentials/rotate"))
	owner.post(path("/credentials/rotate"), url.Values{"keep_old_for": {"0"}})
	if a := owner.get(path("/credentials")); a.Status != 200 || strings.Contains(a.Body, `id="token-readers"`) {
		t.Errorf("after rotating the old token out: %d, still warned: %v", a.Status, strings.Contains(a.Body, `id="token-readers"`))
	}
	// Leaving counts as going: the second developer leaves; their role
	// could read the new token, though the log shows no reading.
	dev2.get(path("/leave"))
	dev2.post(path("/leave"), url.Values{})
	owner.get(path("/credentials")).want(t, "after a developer left", 200, `data-reader="dev2@acme-corp.com"`,
		"left on ", "their role could view it; the audit log shows no reading")
}

// The settings form takes the one rule for names: a link is refused at the
// field and nothing changes; the owner's own domain is a name.
func TestSettings_NameRule(t *testing.T) {
	e := servertest.New(t)
	api, acct := e.SignUp(t, "ana@voxly.io", "Ana")
	k := newFormClient(t, e, api)
	path := "/accounts/" + acct + "/settings"
	k.get(path)
	a := k.post(path, url.Values{"name": {"Claim at evil.com"}, "company": {""}, "address": {""}, "timezone": {"UTC"}})
	a.want(t, "a link in the name", 400, `id="s-name-error"`, "cannot contain a web address or link", `value="Claim at evil.com"`)
	if got := api.Must(200, "GET", "/v1/accounts/"+acct+"/settings", nil).Str("name"); got != "Ana's account" {
		t.Errorf("the refused form changed the name to %q", got)
	}
	k.get(path)
	if a := k.post(path, url.Values{"name": {"Voxly.io"}, "company": {""}, "address": {""}, "timezone": {"UTC"}}); a.Status != 303 {
		t.Fatalf("the owner's domain: %d", a.Status)
	}
	if got := api.Must(200, "GET", "/v1/accounts/"+acct+"/settings", nil).Str("name"); got != "Voxly.io" {
		t.Errorf("name %q", got)
	}
}

// The numbers form: a number another account holds is refused (409) at
// the field, and nothing is added.
func TestNumbers_AnotherAccountsNumberRefused(t *testing.T) {
	e := servertest.New(t)
	ana, a := e.SignUp(t, "ana@acme-corp.com", "Ana")
	ben, b := e.SignUp(t, "ben@beta-corp.com", "Ben")
	ana.Must(201, "POST", "/v1/accounts/"+a+"/numbers", map[string]string{"number": "+14155550142"})
	k := newFormClient(t, e, ben)
	k.get("/accounts/" + b + "/numbers")
	k.post("/accounts/"+b+"/numbers", url.Values{"number": {"+14155550142"}, "alias": {"Mine"}}).want(t, "another account's number", 409,
		`id="number-error"`, "belongs to another account")
	if n := ben.Must(200, "GET", "/v1/accounts/"+b+"/numbers", nil).Total(); n != 0 {
		t.Errorf("the refused form added %d numbers", n)
	}
}

// The team page: past the account's invitation mail budget the invite and
// the batch are refused with 429, Retry-After and a message that says why
// and when; nothing is created or sent.
func TestTeam_InvitationBudgetSaidPlainly(t *testing.T) {
	e := servertest.New(t)
	e.Server.Service.Config.InviteMailsPerHour = 2 // before anything reads it
	api, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	k := newFormClient(t, e, api)
	team := "/accounts/" + acct + "/team"
	k.get(team)
	for _, who := range []string{"a", "b"} {
		if a := k.post(team+"/invite", url.Values{"email": {who + "@acme-corp.com"}, "role": {"support"}}); a.Status != 303 {
			t.Fatalf("invite %s: %d", who, a.Status)
		}
		k.get(team)
	}
	a := k.post(team+"/invite", url.Values{"email": {"c@acme-corp.com"}, "role": {"support"}})
	a.want(t, "an invite past the budget", 429, `id="team-error"`, "This account sent 2 invitation mails in the last hour",
		"nothing was sent to c@acme-corp.com: try again in ")
	if a.Header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
	a = k.post(team+"/invite-batch", url.Values{"invitations": {"d@acme-corp.com\ne@acme-corp.com, developer"}})
	a.want(t, "a batch past the budget", 429, `id="team-error"`, "No invitation of this batch was sent")
	if n := api.Must(200, "GET", "/v1/accounts/"+acct+"/invitations", nil).Total(); n != 2 {
		t.Errorf("%d pending invitations, want 2", n)
	}
	for _, to := range []string{"c@acme-corp.com", "d@acme-corp.com", "e@acme-corp.com"} {
		if n := servertest.MailCount(e.Mail, to); n != 0 {
			t.Errorf("a refused invitation mailed %s", to)
		}
	}
}

// The webhooks list says who made each webhook.
func TestWebhooks_ListSaysWhoMadeThem(t *testing.T) {
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) { c.WebhookAllowPrivate = true }})
	api, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	admin, _ := e.Join(t, api, acct, "adam@acme-corp.com", "admin")
	admin.Must(201, "POST", "/v1/accounts/"+acct+"/webhooks", map[string]any{"url": "http://127.0.0.1:9/in", "events": []string{"member.joined"}})
	newFormClient(t, e, api).get("/accounts/"+acct+"/webhooks").want(t, "webhooks", 200,
		`data-created-by="adam@acme-corp.com">by adam@acme-corp.com</span>`)
}
