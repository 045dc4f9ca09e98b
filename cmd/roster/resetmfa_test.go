package main

import (
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/rosterhq/roster/server/servertest"
)

// totpCode is the authenticator's code for the secret at t.
func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// An operator clears a locked-out user's second factor with `roster user
// reset-mfa EMAIL`: two-factor sign-in is off (the running server's check
// knows it), every session of the user ends, each of their accounts has
// an audit event by the operator, and the user is mailed. Every refusal
// changes nothing and sends nothing.
func TestCLI_UserResetMFA(t *testing.T) {
	e := servertest.New(t)
	now := time.Now().UTC().Truncate(30 * time.Second)
	e.Server.DB.Now = func() time.Time { return now }
	owner, acme := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acme)
	dev, _ := e.Join(t, owner, acme, "dev@acme-corp.com", "developer")
	own := dev.Must(201, "POST", "/v1/accounts", map[string]string{"name": "Dev's own"}).Str("id")
	enroll := func(c *servertest.Client) string {
		t.Helper()
		secret := c.Must(201, "POST", "/v1/me/mfa/totp", map[string]string{"password": servertest.Password}).Str("secret")
		c.Must(200, "POST", "/v1/me/mfa/totp/confirm", map[string]string{"code": totpCode(t, secret, now), "password": servertest.Password})
		return secret
	}
	enroll(owner)
	secret := enroll(dev)
	owner.Must(200, "PATCH", "/v1/accounts/"+acme+"/security", map[string]bool{"require_mfa": true})
	now = now.Add(30 * time.Second)
	laptop := e.Client(t)
	laptop.Must(200, "POST", "/v1/login", map[string]string{"email": "dev@acme-corp.com", "password": servertest.Password, "otp": totpCode(t, secret, now)})
	laptop.Must(200, "GET", "/v1/accounts/"+acme+"/numbers", nil)

	db := "--database=" + e.DSN
	smtp := "--smtp-url=" + e.Mail.URL()
	devMails, ownerMails := servertest.MailCount(e.Mail, "dev@acme-corp.com"), servertest.MailCount(e.Mail, "owner@acme-corp.com")
	resets := func(c *servertest.Client, acct string) int {
		t.Helper()
		return c.Must(200, "GET", "/v1/accounts/"+acct+"/audit?action=user.mfa_reset", nil).Total()
	}

	// Refusals: no address, not an address, no such user, two-factor off.
	for _, tc := range []struct {
		args  []string
		want  string
		usage bool
	}{
		{[]string{"user", "reset-mfa", db, smtp}, "give one EMAIL", true},
		{[]string{"user", "reset-mfa", "dev@acme-corp.com", "owner@acme-corp.com", db, smtp}, "give one EMAIL", true},
		{[]string{"user", "reset-mfa", "not-an-address", db, smtp}, "not-an-address", true},
		{[]string{"user", "reset-mfa", "nobody@acme-corp.com", db, smtp}, "No user with the address nobody@acme-corp.com", false},
	} {
		_, _, err := runSplit(t, tc.args...)
		_, isUsage := err.(usageError)
		if err == nil || !strings.Contains(err.Error(), tc.want) || isUsage != tc.usage {
			t.Errorf("roster %v: %v, want %q (usage error: %v)", tc.args, err, tc.want, tc.usage)
		}
	}
	// The owner's two-factor is on; a user with it off has nothing to reset.
	plain, _ := e.Join(t, owner, acme, "plain@acme-corp.com", "support")
	plainMails := servertest.MailCount(e.Mail, "plain@acme-corp.com")
	if _, _, err := runSplit(t, "user", "reset-mfa", "plain@acme-corp.com", db, smtp); err == nil || !strings.Contains(err.Error(), "nothing to reset") {
		t.Errorf("reset-mfa of a user without two-factor: %v", err)
	}
	plain.Must(200, "GET", "/v1/me", nil)
	time.Sleep(200 * time.Millisecond) // a mail, had one been sent, would have arrived
	if servertest.MailCount(e.Mail, "plain@acme-corp.com") != plainMails || servertest.MailCount(e.Mail, "dev@acme-corp.com") != devMails ||
		servertest.MailCount(e.Mail, "owner@acme-corp.com") != ownerMails {
		t.Error("a refused reset-mfa sent mail")
	}
	if resets(owner, acme) != 0 {
		t.Error("a refused reset-mfa was audited")
	}
	// Nothing changed for the developer: both sessions, two-factor on, the key.
	if dev.Must(200, "GET", "/v1/me", nil).JSON["mfa_enabled"] != true {
		t.Fatal("a refused reset-mfa turned two-factor off")
	}
	laptop.Must(200, "GET", "/v1/accounts/"+acme+"/numbers", nil)

	// The reset.
	out, _, err := runSplit(t, "user", "reset-mfa", " Dev@ACME-corp.com ", db, smtp)
	if err != nil || !strings.Contains(out, "Two-factor sign-in of dev@acme-corp.com") || !strings.Contains(out, "signed out") {
		t.Fatalf("reset-mfa: %v %q", err, out)
	}
	m := e.Mail.WaitFor(t, "dev@acme-corp.com", devMails+1, 10*time.Second)
	if !strings.Contains(m.Subject, "Two-factor sign-in was reset") || !strings.Contains(m.Text, "every session was signed out") {
		t.Errorf("notice: %q %q", m.Subject, m.Text)
	}
	// Every session of the user ended.
	dev.Refused(401, "unauthenticated", "GET", "/v1/me", nil)
	laptop.Refused(401, "unauthenticated", "GET", "/v1/me", nil)
	// The password alone signs in now; the account that requires two-factor
	// refuses them (the running server's check followed the change).
	back := e.Client(t)
	back.Must(200, "POST", "/v1/login", map[string]string{"email": "dev@acme-corp.com", "password": servertest.Password})
	if back.Must(200, "GET", "/v1/me", nil).JSON["mfa_enabled"] != false {
		t.Error("two-factor is still on")
	}
	// The server follows the database's change log every 50 ms.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if r := back.Do("GET", "/v1/accounts/"+acme+"/numbers", nil); r.Status == 403 && r.Code() == "mfa_required" {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the account that requires two-factor still lets the developer in: %d %s", r.Status, r.Body)
		}
	}
	// No recovery code is left.
	q := `SELECT COUNT(*) FROM recovery_codes r JOIN users u ON u.id = r.user_id WHERE u.email = 'dev@acme-corp.com'`
	var left int
	if err := e.Server.DB.SQL().QueryRow(q).Scan(&left); err != nil || left != 0 {
		t.Errorf("recovery codes left: %d %v", left, err)
	}
	// Audited in each of the developer's accounts, by the operator.
	for _, c := range []struct {
		who  *servertest.Client
		acct string
	}{{owner, acme}, {back, own}} {
		evs := c.who.Must(200, "GET", "/v1/accounts/"+c.acct+"/audit?action=user.mfa_reset", nil).Objects()
		if len(evs) != 1 || evs[0]["target"] != "dev@acme-corp.com" || !strings.Contains(evs[0]["actor_email"].(string), "operator") {
			t.Errorf("audit of %s: %v", c.acct, evs)
		}
	}
	// Once is enough: again, nothing to reset, and no second mail.
	if _, _, err := runSplit(t, "user", "reset-mfa", "dev@acme-corp.com", db, smtp); err == nil || !strings.Contains(err.Error(), "nothing to reset") {
		t.Errorf("second reset-mfa: %v", err)
	}
	back.Must(200, "GET", "/v1/me", nil)
	time.Sleep(200 * time.Millisecond)
	if n := servertest.MailCount(e.Mail, "dev@acme-corp.com"); n != devMails+1 {
		t.Errorf("%d notices, want 1", n-devMails)
	}
}
