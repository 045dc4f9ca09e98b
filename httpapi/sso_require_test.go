package httpapi_test

import (
	"context"
	"encoding/base64"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/server/servertest"
	"github.com/rosterhq/roster/store"
)

// auditCount counts the account's audit events with the action.
func ssoAuditCount(t *testing.T, c *servertest.Client, acct, action string) int {
	t.Helper()
	n := 0
	for _, ev := range c.Must(200, "GET", "/v1/accounts/"+acct+"/audit?limit=100&action="+action, nil).Objects() {
		if ev["action"] == action {
			n++
		}
	}
	return n
}

// mailsAbout counts the mails to the address whose subject holds s.
func ssoMails(e *servertest.Env, to, s string) int {
	n := 0
	for _, m := range e.Mail.Messages() {
		for _, addr := range m.To {
			if strings.EqualFold(addr, to) && strings.Contains(m.Subject, s) {
				n++
			}
		}
	}
	return n
}

// page gets a console page with the client's cookies (the console is not
// in the API description) and returns its status and body.
func ssoPage(t *testing.T, e *servertest.Env, c *servertest.Client, path string) (int, string) {
	t.Helper()
	resp, err := c.HTTP.Get(e.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// check asks the check API and returns allowed and reason.
func ssoCheck(t *testing.T, e *servertest.Env, body map[string]any) (bool, string) {
	t.Helper()
	r := e.Platform(t).Must(200, "POST", "/v1/authz/check", body)
	allowed, _ := r.JSON["allowed"].(bool)
	return allowed, r.Str("reason")
}

// waitFor polls cond for a few seconds (a replica follows the change log).
func ssoWaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// Turning the requirement on is refused, changing nothing, without a
// verified domain (409 domain_unverified), without an enabled connection
// (409 conflict), to an admin it would lock out of their session (409
// conflict), to a member without team.edit (403) and without a value (400).
func TestRequireSSO_RefusalsChangeNothing(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Olga")
	e.Commit(t, acct)
	admin, _ := e.Join(t, owner, acct, "admin@acme-corp.com", "admin")
	dev, _ := e.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	security := "/v1/accounts/" + acct + "/security"
	on := map[string]bool{"require_sso": true}
	unchanged := func(when string) {
		t.Helper()
		if r := owner.Must(200, "GET", "/v1/accounts/"+acct, nil); r.JSON["require_sso"] != false {
			t.Fatalf("%s: the requirement is on: %s", when, r.Body)
		}
		if n := e.Count(t, `SELECT COUNT(*) FROM audit_events WHERE action = 'account.require_sso'`); n != 0 {
			t.Fatalf("%s: %d audit events", when, n)
		}
		if n := ssoMails(e, "owner@acme-corp.com", "single sign-on"); n != 0 {
			t.Fatalf("%s: %d mails", when, n)
		}
	}

	r := owner.Refused(409, "domain_unverified", "PATCH", security, on)
	if !strings.Contains(string(r.Body), "Verify a domain first") {
		t.Errorf("message: %s", r.Body)
	}
	unchanged("no domain")
	// A pending domain is not enough either.
	seq := int64(e.Count(t, `SELECT id FROM accounts WHERE auth_id = ?`, acct))
	if err := e.Server.DB.Transact(context.Background(), func(tx *store.Tx) error {
		_, err := tx.CreateDomain(context.Background(), seq, "acme-corp.com", "tok")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	owner.Refused(409, "domain_unverified", "PATCH", security, on)
	unchanged("pending domain")
	// Verified, but no connection (a disabled one does not count).
	conn := e.SSOConnection(t, acct, "acme-corp.com", "Okta", false)
	if err := e.Server.DB.Transact(context.Background(), func(tx *store.Tx) error {
		c, err := tx.SSOConnection(context.Background(), seq, conn)
		if err != nil {
			return err
		}
		c.Enabled = false
		return tx.UpdateSSOConnection(context.Background(), c)
	}); err != nil {
		t.Fatal(err)
	}
	r = owner.Refused(409, "conflict", "PATCH", security, on)
	if !strings.Contains(string(r.Body), "connection") {
		t.Errorf("message: %s", r.Body)
	}
	unchanged("no enabled connection")
	e.SSOConnection(t, acct, "acme-corp.com", "Okta", false)
	// An admin on the domain, signed in with a password, would lock
	// themselves out of this session.
	admin.Refused(409, "conflict", "PATCH", security, on)
	dev.Refused(403, "forbidden", "PATCH", security, on)
	owner.Refused(400, "invalid_request", "PATCH", security, map[string]any{})
	owner.Refused(400, "invalid_request", "PATCH", security, map[string]any{"require_sso": "yes"})
	unchanged("refused callers")
}

// The requirement, end to end on one server: who is bound, by which
// credential, in the API, the console and the check.
func TestRequireSSO_BindsMembersOnTheDomain(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Olga")
	e.Commit(t, acct)
	admin, _ := e.Join(t, owner, acct, "admin@acme-corp.com", "admin")
	dev, devID := e.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	contractor, conID := e.Join(t, owner, acct, "pat@contractor-firm.com", "developer")
	key := dev.Must(201, "POST", "/v1/me/api-keys", map[string]string{"account_id": acct, "name": "ci"}).Str("key")
	conKey := contractor.Must(201, "POST", "/v1/me/api-keys", map[string]string{"account_id": acct, "name": "ci"}).Str("key")
	conn := e.SSOConnection(t, acct, "acme-corp.com", "Okta", false)
	numbers := "/v1/accounts/" + acct + "/numbers"

	// Before the requirement, everyone is as ever.
	dev.Must(200, "GET", numbers, nil)
	if ok, reason := ssoCheck(t, e, map[string]any{"account_id": acct, "user_id": devID, "permission": "numbers.view"}); !ok {
		t.Fatalf("check before the requirement: %s", reason)
	}

	r := owner.Must(200, "PATCH", "/v1/accounts/"+acct+"/security", map[string]bool{"require_sso": true})
	if r.JSON["require_sso"] != true {
		t.Fatalf("PATCH: %s", r.Body)
	}
	if n := ssoAuditCount(t, owner, acct, "account.require_sso"); n != 1 {
		t.Errorf("require_sso audited %d times", n)
	}
	for _, to := range []string{"owner@acme-corp.com", "admin@acme-corp.com"} {
		e.Mail.WaitFor(t, to, servertest.MailCount(e.Mail, to), 10*time.Second)
		if n := ssoMails(e, to, "now requires single sign-on"); n != 1 {
			t.Errorf("%s got %d mails of the requirement", to, n)
		}
	}
	if n := ssoMails(e, "dev@acme-corp.com", "requires single sign-on"); n != 0 {
		t.Errorf("a developer was mailed of the requirement")
	}

	// The developer on the domain, with a password session: refused in
	// the API (in words naming the provider) and in the console; the
	// account itself still answers, saying why nothing is held.
	r = dev.Refused(403, "sso_required", "GET", numbers, nil)
	if msg := string(r.Body); !strings.Contains(msg, "requires single sign-on through Okta") || !strings.Contains(msg, "sign in with single sign-on") {
		t.Errorf("message: %s", r.Body)
	}
	if r := dev.Must(200, "GET", "/v1/accounts/"+acct, nil); r.JSON["reason"] != "sso_required" {
		t.Errorf("account view: %s", r.Body)
	}
	if status, body := ssoPage(t, e, dev, "/accounts/"+acct+"/numbers"); status != 403 || !strings.Contains(body, "requires single sign-on") {
		t.Errorf("console page: %d", status)
	}
	// The admin too (by session); the developer's key always.
	admin.Refused(403, "sso_required", "GET", "/v1/accounts/"+acct+"/members", nil)
	byKey := e.Client(t)
	byKey.Header.Set("Authorization", "Bearer "+key)
	byKey.Refused(403, "sso_required", "GET", numbers, nil)

	// The check: by key, sso_required; by user ID, sso_required until the
	// member has signed in through the account's single sign-on once.
	if ok, reason := ssoCheck(t, e, map[string]any{"account_id": acct, "api_key": key, "permission": "numbers.view"}); ok || reason != "sso_required" {
		t.Errorf("check by key: %v %s", ok, reason)
	}
	if ok, reason := ssoCheck(t, e, map[string]any{"account_id": acct, "user_id": devID, "permission": "numbers.view"}); ok || reason != "sso_required" {
		t.Errorf("check by user before single sign-on: %v %s", ok, reason)
	}

	// Through the account's single sign-on: allowed, in the API and the
	// console; the check by user ID allows; the key stays refused.
	devSSO := e.SSOSession(t, "dev@acme-corp.com", conn, true)
	devSSO.Must(200, "GET", numbers, nil)
	if status, _ := ssoPage(t, e, devSSO, "/accounts/"+acct+"/numbers"); status != 200 {
		t.Errorf("console page through single sign-on: %d", status)
	}
	if ok, reason := ssoCheck(t, e, map[string]any{"account_id": acct, "user_id": devID, "permission": "numbers.view"}); !ok {
		t.Errorf("check by user after single sign-on: %s", reason)
	}
	if ok, reason := ssoCheck(t, e, map[string]any{"account_id": acct, "api_key": key, "permission": "numbers.view"}); ok || reason != "sso_required" {
		t.Errorf("check by key after single sign-on: %v %s", ok, reason)
	}
	byKey.Refused(403, "sso_required", "GET", numbers, nil)
	dev.Refused(403, "sso_required", "GET", numbers, nil) // the password session still is not it
	// The member list shows who came through it.
	for _, m := range owner.Must(200, "GET", "/v1/accounts/"+acct+"/members", nil).Objects() {
		if want := m["email"] == "dev@acme-corp.com"; m["sso"] != want {
			t.Errorf("member %v: sso %v", m["email"], m["sso"])
		}
	}

	// A contractor on another domain is not bound, by session, key or check.
	contractor.Must(200, "GET", numbers, nil)
	conByKey := e.Client(t)
	conByKey.Header.Set("Authorization", "Bearer "+conKey)
	conByKey.Must(200, "GET", numbers, nil)
	if ok, reason := ssoCheck(t, e, map[string]any{"account_id": acct, "user_id": conID, "permission": "numbers.view"}); !ok {
		t.Errorf("contractor's check: %s", reason)
	}
	// Account credentials are a machine credential: not affected.
	creds := owner.Must(200, "GET", "/v1/accounts/"+acct+"/credentials", nil)
	basic := e.Client(t)
	basic.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(acct+":"+creds.Str("auth_token"))))
	basic.Must(200, "GET", numbers, nil)

	// The owner keeps a password path: audited once for the session and
	// mailed to the admins once, however many requests it makes.
	for range 3 {
		owner.Must(200, "GET", numbers, nil)
	}
	if n := ssoAuditCount(t, owner, acct, "login.sso_bypass"); n != 1 {
		t.Errorf("the owner's password path audited %d times, want 1", n)
	}
	e.Mail.WaitFor(t, "admin@acme-corp.com", servertest.MailCount(e.Mail, "admin@acme-corp.com"), 10*time.Second)
	if n := ssoMails(e, "admin@acme-corp.com", "signed in without single sign-on"); n != 1 {
		t.Errorf("the admin got %d mails of the owner's password path, want 1", n)
	}
	// Another password session of the owner is audited again.
	owner2 := e.Client(t)
	owner2.Must(200, "POST", "/v1/login", map[string]string{"email": "owner@acme-corp.com", "password": servertest.Password})
	owner2.Must(200, "GET", numbers, nil)
	if n := ssoAuditCount(t, owner, acct, "login.sso_bypass"); n != 2 {
		t.Errorf("a second session: audited %d times, want 2", n)
	}

	// Turning it off (an admin, through single sign-on) frees everyone at once.
	e.SSOSession(t, "admin@acme-corp.com", conn, false).Must(200, "PATCH", "/v1/accounts/"+acct+"/security", map[string]bool{"require_sso": false})
	dev.Must(200, "GET", numbers, nil)
	byKey.Must(200, "GET", numbers, nil)
	if n := ssoMails(e, "owner@acme-corp.com", "no longer requires single sign-on"); n != 1 {
		t.Errorf("owner got %d mails of turning it off", n)
	}
}

// Deleting the verified domain unbinds its members at once (the domain's
// change reloads the account's entries in the index).
func TestRequireSSO_DomainDeletedUnbinds(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Olga")
	e.Commit(t, acct)
	dev, devID := e.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	e.SSOConnection(t, acct, "acme-corp.com", "Okta", false)
	owner.Must(200, "PATCH", "/v1/accounts/"+acct+"/security", map[string]bool{"require_sso": true})
	dev.Refused(403, "sso_required", "GET", "/v1/accounts/"+acct+"/numbers", nil)
	seq := int64(e.Count(t, `SELECT id FROM accounts WHERE auth_id = ?`, acct))
	did := int64(e.Count(t, `SELECT id FROM domains WHERE account_id = ?`, seq))
	if err := e.Server.DB.Transact(context.Background(), func(tx *store.Tx) error {
		return tx.DeleteDomain(context.Background(), seq, did)
	}); err != nil {
		t.Fatal(err)
	}
	ssoWaitFor(t, "the index to unbind the member", func() bool {
		ok, _ := ssoCheck(t, e, map[string]any{"account_id": acct, "user_id": devID, "permission": "numbers.view"})
		return ok
	})
	dev.Must(200, "GET", "/v1/accounts/"+acct+"/numbers", nil)
}

// A connection that counts as two-factor sign-in satisfies the account's
// two-factor requirement for its sessions in that account; another
// connection's sessions and password sessions do not.
func TestRequireSSO_ConnectionCountsAsMFA(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Olga")
	e.Commit(t, acct)
	dev, _ := e.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	strong := e.SSOConnection(t, acct, "acme-corp.com", "Okta with MFA", true)
	weak := e.SSOConnection(t, acct, "acme-corp.com", "Okta without", false)
	seq := int64(e.Count(t, `SELECT id FROM accounts WHERE auth_id = ?`, acct))
	if err := e.Server.DB.Transact(context.Background(), func(tx *store.Tx) error {
		return tx.SetRequireMFA(context.Background(), seq, true)
	}); err != nil {
		t.Fatal(err)
	}
	e.Reload(t)
	numbers := "/v1/accounts/" + acct + "/numbers"
	dev.Refused(403, "mfa_required", "GET", numbers, nil)
	e.SSOSession(t, "dev@acme-corp.com", weak, false).Refused(403, "mfa_required", "GET", numbers, nil)
	e.SSOSession(t, "dev@acme-corp.com", strong, false).Must(200, "GET", numbers, nil)
}

// A session that came through a provider presented no second factor of
// the user's own: with two-factor on, the user's password session passes
// an account that requires it, but a session through this account's
// connection (not counting as two-factor) or another account's connection
// does not, and says how to get in.
func TestRequireSSO_SSOSessionCarriesNoOwnSecondFactor(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Olga")
	e.Commit(t, acct)
	dev, _ := e.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	// A second account, of another company, where dev is a member too and
	// two-factor is required.
	other, acct2 := e.SignUp(t, "boss@globex.com", "Boss")
	e.Commit(t, acct2)
	inv, _ := e.InviteToken(t, other, acct2, "dev@acme-corp.com", "developer")
	dev.Must(200, "POST", "/v1/invitations/"+inv+"/accept", nil)
	conn := e.SSOConnection(t, acct, "acme-corp.com", "Okta", false)
	now := time.Now().UTC().Truncate(30 * time.Second)
	clock(e, now)
	enroll(t, e, dev, now)
	for _, a := range []string{acct, acct2} {
		seq := int64(e.Count(t, `SELECT id FROM accounts WHERE auth_id = ?`, a))
		if err := e.Server.DB.Transact(context.Background(), func(tx *store.Tx) error {
			return tx.SetRequireMFA(context.Background(), seq, true)
		}); err != nil {
			t.Fatal(err)
		}
	}
	e.Reload(t)

	for _, a := range []string{acct, acct2} {
		dev.Must(200, "GET", "/v1/accounts/"+a+"/numbers", nil) // password + code
	}
	sso := e.SSOSession(t, "dev@acme-corp.com", conn, true)
	for _, a := range []string{acct, acct2} {
		r := sso.Refused(403, "mfa_required", "GET", "/v1/accounts/"+a+"/numbers", nil)
		if !strings.Contains(string(r.Body), "password and two-factor code") {
			t.Errorf("%s: %s", a, r.Body)
		}
	}
}
