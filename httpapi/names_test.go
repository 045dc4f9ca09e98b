package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/server/servertest"
)

// One rule for the names Roster's mail quotes, at sign-up, on creating an
// account and in the settings alike: no link, except the domain of the
// owner's own address.
func TestAccountNames_OneRuleOnSignupCreateAndSettings(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "ana@voxly.io", "Ana")
	e.Commit(t, acct)
	dev, _ := e.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	settings := "/v1/accounts/" + acct + "/settings"
	name := func() string { return owner.Must(200, "GET", settings, nil).Str("name") }

	// The owner's own domain is a name, refused before this rule.
	owner.Must(200, "PATCH", settings, map[string]string{"name": "Voxly.io"})
	if got := name(); got != "Voxly.io" {
		t.Fatalf("name = %q", got)
	}
	// Anything else a mail reader would link is refused, by the owner or a
	// developer (who may edit settings) alike, and nothing changes.
	for _, c := range []*servertest.Client{owner, dev} {
		for _, bad := range []string{
			"evil.com", "Voxly.com", "Visit http://voxly.io", "www.voxly.io", "voxly.io.evil.com", "evil-voxly.io",
			"Pay at EVIL.COM now", "evil\u3002com", "login.xn--80ak6aa92e", "see 203.0.113.9", "acme-corp.com",
		} {
			r := c.Refused(400, "invalid_request", "PATCH", settings, map[string]string{"name": bad})
			if f, _ := r.JSON["error"].(map[string]any)["field"].(string); f != "name" || !strings.Contains(string(r.Body), "link") {
				t.Errorf("%q: %s", bad, r.Body)
			}
		}
	}
	// The rule is the owner's address, whoever edits: the developer may
	// use voxly.io, not their own acme-corp.com (refused above).
	dev.Must(200, "PATCH", settings, map[string]string{"name": "Voxly.io support"})
	if got := name(); got != "Voxly.io support" {
		t.Errorf("name = %q", got)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM audit_events WHERE action = 'settings.update'`); n != 2 {
		t.Errorf("%d settings.update events, want 2 (the refusals changed nothing)", n)
	}

	// Creating an account: the creator's own domain only.
	owner.Must(201, "POST", "/v1/accounts", map[string]string{"name": "Voxly.io EU"})
	before := dev.Must(200, "GET", "/v1/me/accounts", nil).Total()
	dev.Refused(400, "invalid_request", "POST", "/v1/accounts", map[string]string{"name": "Voxly.io"})
	if after := dev.Must(200, "GET", "/v1/me/accounts", nil).Total(); after != before {
		t.Errorf("a refused create made an account (%d -> %d)", before, after)
	}

	// Sign-up: the name also names the first account; the address signing
	// up is the owner. A parent domain down to the registrable one is its
	// own; a public suffix is not.
	anon := e.Client(t)
	for addr, name := range map[string]string{"ben@voxly.io": "Ben (voxly.io)", "ops@eu.voxly.io": "Voxly.io ops"} {
		anon.Must(201, "POST", "/v1/signup", map[string]string{"email": addr, "password": servertest.Password, "name": name})
	}
	users := e.Count(t, `SELECT COUNT(*) FROM users`)
	mails := len(e.Mail.Messages())
	for addr, name := range map[string]string{"cara@voxly.io": "Cara at evil.io", "dan@voxly.co.uk": "Co.uk", "eve@eu.voxly.io": "Eu.voxly.io.evil.com"} {
		anon.Refused(400, "invalid_request", "POST", "/v1/signup", map[string]string{"email": addr, "password": servertest.Password, "name": name})
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM users`); n != users {
		t.Errorf("refused sign-ups made %d users", n-users)
	}
	time.Sleep(100 * time.Millisecond) // a mail would have been sent before the answer; be generous
	if n := len(e.Mail.Messages()); n != mails {
		t.Errorf("refused sign-ups sent %d mails", n-mails)
	}
}

// Mails quote an account's name, and never carry a name a reader would
// link elsewhere: a name stored before the settings had the rule is
// replaced by the Auth ID.
func TestAccountNames_MailsNeverCarryALink(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "ana@voxly.io", "Ana")
	e.Commit(t, acct)
	owner.Must(200, "PATCH", "/v1/accounts/"+acct+"/settings", map[string]string{"name": "Voxly.io"})
	e.InviteToken(t, owner, acct, "first@acme-corp.com", "support")
	m := e.Mail.WaitFor(t, "first@acme-corp.com", 1, 10*time.Second)
	if !strings.Contains(m.Text, `the account "Voxly.io" as Support`) {
		t.Errorf("the invitation does not quote the name:\n%s", m.Text)
	}

	// As the settings stored it before the rule.
	exec(t, e, `UPDATE accounts SET name = 'Claim at evil.example/pay' WHERE auth_id = '`+acct+`'`)
	e.InviteToken(t, owner, acct, "second@acme-corp.com", "support")
	m = e.Mail.WaitFor(t, "second@acme-corp.com", 1, 10*time.Second)
	if strings.Contains(m.Text+m.Subject, "evil.example") || !strings.Contains(m.Text, "join the account "+acct+" as Support") {
		t.Errorf("a name with a link reached the mail:\n%s\n%s", m.Subject, m.Text)
	}
}

func exec(t *testing.T, e *servertest.Env, query string) {
	t.Helper()
	if _, err := e.Server.DB.SQL().Exec(query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}
