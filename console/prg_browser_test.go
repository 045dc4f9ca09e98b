package console_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/rosterhq/roster/server/servertest"
)

// navigation is the Navigation Timing entry of the page the tab shows.
type navigation struct{ Type, Name string }

func (b *tab) navigation() navigation {
	b.t.Helper()
	var n []string
	b.eval(`(e => [e.type, e.name])(performance.getEntriesByType('navigation')[0])`, &n)
	if len(n) != 2 {
		b.t.Fatalf("no navigation entry: %v", n)
	}
	return navigation{Type: n[0], Name: n[1]}
}

// afterForm holds the page a form led to to post/redirect/get: the
// browser navigated (type "navigate", not a POST result shown at the
// form's URL) to the GET page path.
func (b *tab) afterForm(what, path string) {
	b.t.Helper()
	n := b.navigation()
	if n.Type != "navigate" || !strings.HasSuffix(n.Name, path) && !strings.Contains(n.Name, path+"#") {
		b.t.Errorf("%s: the page shown is %s (%s), want the GET page %s", what, n.Name, n.Type, path)
	}
}

// reload reloads the page and returns its status.
func (b *tab) reload() int {
	b.t.Helper()
	b.run("mark page", chromedp.Evaluate[chromedp.Void](`window.__before = true`))
	b.run("reload", chromedp.Reload())
	b.waitLoad()
	return b.status()
}

// TestPRG_FormsEndOnAGetPageInChromium submits representative forms in
// Chromium (a login refused, an invitation refused, settings saved,
// two-factor set up, recovery codes) and holds each to post/redirect/get:
// the page shown is a GET page, and reloading it sends nothing again
// (the rows and the audit log are counted before and after). Reloading
// the two-factor set-up keeps the key just scanned; the recovery codes
// are shown once, and a reload says they were.
func TestPRG_FormsEndOnAGetPageInChromium(t *testing.T) {
	browser := newBrowser(t)
	e := servertest.New(t)
	const email = "olga@acme-corp.com"
	api, acct := e.SignUp(t, email, "Olga Owner")
	e.Commit(t, acct)
	_ = api
	b := newTab(t, browser, e.URL, "owner")
	audit := func() int { return e.Count(t, "SELECT COUNT(*) FROM audit_events") }

	// A refused login: the message on GET /login; a reload is the plain form.
	b.open("/login")
	b.fill("#email", email)
	b.fill("#password", "not the password")
	if st := b.submit("button.primary"); st != 401 {
		t.Errorf("refused login: %d, want 401", st)
	}
	b.afterForm("refused login", "/login")
	if !strings.Contains(b.text("#login-error"), "Wrong") {
		t.Errorf("refused login: no message: %s", b.text("main"))
	}
	if v := b.value("#email"); v != email {
		t.Errorf("refused login: the address typed is %q, want %q", v, email)
	}
	if st := b.reload(); st != 200 {
		t.Errorf("reloading after a refused login: %d, want 200 (the form, no message)", st)
	}
	b.login(email)

	// A refused invitation: nothing made, and a reload makes nothing.
	b.open("/accounts/" + acct + "/team/invite")
	b.fill("#invite-email", "bob@gmail.com")
	before := audit()
	if st := b.submit("#invite-form button.primary"); st != 422 {
		t.Errorf("refused invitation: %d, want 422", st)
	}
	b.afterForm("refused invitation", "/accounts/"+acct+"/team/invite")
	if v := b.value("#invite-email"); v != "bob@gmail.com" {
		t.Errorf("refused invitation: the address typed is %q", v)
	}
	b.reload()
	if n := e.Count(t, "SELECT COUNT(*) FROM invitations"); n != 0 || audit() != before {
		t.Errorf("a refused invitation and its reload made %d invitations, %d audit events", n, audit()-before)
	}

	// Settings saved: one audit event, and the reload adds none.
	b.open("/accounts/" + acct + "/settings")
	b.fill("#s-company", "Acme Corp International")
	before = audit()
	if st := b.submit("#s-company ~ button.primary, form:has(#s-company) button.primary"); st != 200 {
		t.Errorf("settings saved: %d", st)
	}
	b.afterForm("settings saved", "/accounts/"+acct+"/settings")
	b.reload()
	if got := audit() - before; got != 1 {
		t.Errorf("saving settings and reloading wrote %d audit events, want 1", got)
	}

	// Two-factor set-up: the key survives reloads.
	b.open("/profile")
	b.fill("#setup-password", servertest.Password)
	b.submit("#setup-form button.primary")
	b.afterForm("two-factor set-up", "/profile")
	key := b.text("#totp-secret")
	if key == "" {
		t.Fatalf("no key after the set-up: %s", b.text("main"))
	}
	for range 2 {
		b.reload()
		if again := b.text("#totp-secret"); again != key {
			t.Fatalf("reloading the set-up changed the key: %s -> %s", key, again)
		}
	}
	code, err := totp.GenerateCode(key, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b.fill("#confirm-password", servertest.Password)
	b.fill("#totp-code", code)
	b.submit("#confirm-form button.primary")
	b.afterForm("two-factor on", "/profile")
	codes := int(b.number(`document.querySelectorAll('#codes-list li').length`))
	if codes != 10 {
		t.Fatalf("%d recovery codes shown, want 10: %s", codes, b.text("main"))
	}
	var href []string
	b.eval(`[document.getElementById('download-codes').getAttribute('href')]`, &href)
	if len(href) != 1 || !strings.HasPrefix(href[0], "data:text/plain") {
		t.Errorf("download link: %.40s", href)
	}
	before = audit()
	hashes := e.Count(t, "SELECT COUNT(*) FROM recovery_codes")
	b.reload()
	codes = int(b.number(`document.querySelectorAll('#codes-list li').length`))
	if codes != 0 || !strings.Contains(b.text("#codes-shown"), "shown once") {
		t.Errorf("after a reload: %d codes shown, and no word that they were", codes)
	}
	if audit() != before || e.Count(t, "SELECT COUNT(*) FROM recovery_codes") != hashes {
		t.Error("reloading the recovery codes' page made codes again")
	}
	b.reload()
	if n := b.number(`document.querySelectorAll('#codes-shown').length`); n != 0 {
		t.Error("the codes' notice outlived its one reload")
	}
}

// TestPRG_NotFoundAndMethodPagesPassAxe: the console's 404 and 405 pages
// at a desktop's and a phone's size: one h1, no sideways scroll, no axe
// violation.
func TestPRG_NotFoundAndMethodPagesPassAxe(t *testing.T) {
	axe, missing := axeSource(t)
	if axe == "" {
		t.Skip(missing)
	}
	browser := newBrowser(t)
	e := servertest.New(t)
	b := newTab(t, browser, e.URL, "visitor")
	for _, pg := range []struct {
		path   string
		status int
	}{{"/no-such-page", 404}, {"/profile/mfa/setup", 405}, {"/accounts/MA000/team/invite-batch", 405}} {
		if st := b.open(pg.path); st != pg.status {
			t.Errorf("%s: %d, want %d", pg.path, st, pg.status)
		}
		for _, v := range []viewport{desktop, phone} {
			b.viewport(v)
			b.checkPage(axe, v, pg.path, "route-"+strings.NewReplacer("/", "-").Replace(strings.Trim(pg.path, "/")))
		}
	}
}
