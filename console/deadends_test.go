package console_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/mail/mailtest"
	"github.com/rosterhq/roster/password"
	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

// navKeys are the sidebar's account entries of a page (data-nav), in order.
func navKeys(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`data-nav="([a-z-]+)"`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// Under require_mfa a member without two-factor sign-in is offered what
// they can do now: the sidebar has the overview and the way to turn it on
// (no page that would refuse), the overview a button to it; once they
// turn it on, their role's pages are back and the offer is gone.
func TestDeadEnds_TwoFactorRequiredOffersEnrolment(t *testing.T) {
	f := newAccessFixture(t)
	clk := newServerClock(f.e)
	consoleEnroll(t, f.owner, clk)
	f.api.Must(200, "PATCH", "/v1/accounts/"+f.acct+"/security", map[string]bool{"require_mfa": true})

	ov := f.dev.get(f.path(""))
	ov.want(t, "developer's overview", 200, `id="nav-enrol-mfa" class="nav-action"`, `id="enrol-mfa"`, `href="/profile#mfa"`, `id="nav-enrol-note"`)
	if got, want := strings.Join(navKeys(ov.Body), " "), "overview enrol-mfa accounts"; got != want {
		t.Errorf("sidebar of a member without two-factor: %q, want %q", got, want)
	}
	// What the sidebar no longer offers does refuse: the offer is the truth.
	f.dev.get(f.path("/numbers")).want(t, "numbers without two-factor", 403, "requires two-factor sign-in")
	// The profile's two-factor section is where the link lands.
	f.dev.get("/profile").want(t, "profile", 200, `id="mfa"`, `id="setup-form"`)

	// The owner (two-factor on) is offered nothing of the kind.
	if o := f.owner.get(f.path("")); strings.Contains(o.Body, "nav-enrol-mfa") || strings.Contains(o.Body, `id="enrol-mfa"`) {
		t.Error("the owner, with two-factor on, is offered to turn it on")
	}

	consoleEnroll(t, f.dev, clk)
	ov = f.dev.get(f.path(""))
	if strings.Contains(ov.Body, "nav-enrol-mfa") {
		t.Error("the enrolment link stays after enrolling")
	}
	if keys := navKeys(ov.Body); len(keys) < 4 || keys[1] != "numbers" {
		t.Errorf("the developer's pages are not back in the sidebar: %v", keys)
	}
}

// The standard plan's notices (overview, team page) lead somewhere: the
// operator's upgrade page as a button, else their contact address, else
// the account manager in words; a committed account shows none of them.
func TestDeadEnds_StandardPlanLeadsToUpgrade(t *testing.T) {
	for _, tc := range []struct {
		name          string
		upgrade, mail string
		want          []string
		never         []string
	}{
		{"upgrade page", "https://billing.example.com/upgrade?from=roster", "ops@example.com",
			[]string{`class="action-button" href="https://billing.example.com/upgrade?from=roster" id="upgrade-link"`}, []string{`id="support-link"`}},
		{"upgrade by mail", "mailto:sales@example.com", "",
			[]string{`href="mailto:sales@example.com" id="upgrade-link"`}, []string{`id="support-link"`}},
		{"support address only", "", "ops@example.com",
			[]string{`To upgrade, write to <a href="mailto:ops@example.com" id="support-link">ops@example.com</a>`}, []string{`id="upgrade-link"`}},
		{"neither", "", "", []string{"Contact your account manager to upgrade."}, []string{`id="upgrade-link"`, `id="support-link"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) { c.UpgradeURL, c.SupportEmail = tc.upgrade, tc.mail }})
			api, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
			k := newFormClient(t, e, api)
			for _, path := range []string{"/accounts/" + acct, "/accounts/" + acct + "/team"} {
				a := k.get(path)
				a.want(t, path, 200, tc.want...)
				for _, n := range tc.never {
					if strings.Contains(a.Body, n) {
						t.Errorf("%s shows %s", path, n)
					}
				}
			}
			e.Commit(t, acct)
			for _, path := range []string{"/accounts/" + acct, "/accounts/" + acct + "/team"} {
				if a := k.get(path); strings.Contains(a.Body, `id="upgrade-link"`) || strings.Contains(a.Body, `id="plan-upgrade"`) ||
					strings.Contains(a.Body, "to upgrade") {
					t.Errorf("%s of a committed account offers an upgrade", path)
				}
			}
		})
	}
}

// An empty account (no number, no application) lists its first steps on
// the overview, each only to a role that may take it; inviting someone
// ends the first, a number ends the list.
func TestDeadEnds_FirstStepsOnAnEmptyAccount(t *testing.T) {
	e := servertest.New(t)
	api, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	owner := newFormClient(t, e, api)
	path := "/accounts/" + acct
	ov := owner.get(path)
	ov.want(t, "owner's new account", 200, `id="first-steps"`,
		`href="`+path+`/team" id="step-invite"`, `href="`+path+`/numbers" id="step-number"`, `href="`+path+`/credentials" id="step-credentials"`)

	e.Commit(t, acct)
	dev, _ := e.Join(t, api, acct, "dev@acme-corp.com", "developer")
	sup, _ := e.Join(t, api, acct, "sam@acme-corp.com", "support")
	// The owner is not alone now: inviting is done.
	ov = owner.get(path)
	ov.want(t, "owner with a team", 200, `id="step-number"`, `id="step-credentials"`)
	if strings.Contains(ov.Body, `id="step-invite"`) {
		t.Error("the owner of a team is still asked to invite one")
	}
	d := newFormClient(t, e, dev).get(path)
	d.want(t, "developer", 200, `id="step-number"`, `id="step-credentials"`)
	if strings.Contains(d.Body, `id="step-invite"`) {
		t.Error("the developer (no team.edit) is offered to invite")
	}
	// Support may take none of the steps: no list at all.
	if s := newFormClient(t, e, sup).get(path); s.Status != 200 || strings.Contains(s.Body, `id="first-steps"`) {
		t.Errorf("support's overview: %d, first steps shown: %v", s.Status, strings.Contains(s.Body, `id="first-steps"`))
	}

	api.Must(201, "POST", "/v1/accounts/"+acct+"/numbers", map[string]string{"number": "+14155550123", "alias": "Sales"})
	if o := owner.get(path); strings.Contains(o.Body, `id="first-steps"`) {
		t.Error("an account with a number still shows its first steps")
	}
}

// Sign-up shows the password's rules before the first try, and a form
// with several wrong fields comes back with each marked and its message
// next to it, having made nothing; a single wrong field is marked alone.
func TestDeadEnds_SignupShowsEveryErrorAtOnce(t *testing.T) {
	e := servertest.New(t)
	k := newFormClient(t, e, e.Client(t))
	first := k.get("/signup")
	first.want(t, "sign-up page", 200, `id="password-rules"`, `aria-describedby="password-rules"`)
	for _, rule := range password.Rules() {
		if !strings.Contains(first.Body, "<li>"+rule+"</li>") {
			t.Errorf("the sign-up page lacks the rule %q", rule)
		}
	}
	users := func() int { return e.Count(t, `SELECT COUNT(*) FROM users`) }
	before, mails := users(), len(e.Mail.Messages())

	a := k.post("/signup", url.Values{"name": {""}, "email": {"olga@gmail.com"}, "password": {"short"}})
	a.want(t, "three wrong fields", 422, `id="signup-error" class="form-error" role="alert">3 fields need a change`,
		`aria-invalid="true" aria-describedby="name-error"`, `<p class="field-error" id="name-error">`,
		`aria-invalid="true" aria-describedby="email-error"`, `<p class="field-error" id="email-error">The domain gmail.com is a personal email provider`,
		`aria-invalid="true" aria-describedby="password-error password-rules"`, `<p class="field-error" id="password-error">`,
		`value="olga@gmail.com"`, `id="password-rules"`)

	a = k.post("/signup", url.Values{"name": {"Olga"}, "email": {"olga@acme-corp.com"}, "password": {"olga-and-more-words"}})
	a.want(t, "a password with the address's name", 400, "One field needs a change", `id="password-error"`, `value="Olga"`)
	for _, other := range []string{`id="name-error"`, `id="email-error"`} {
		if strings.Contains(a.Body, other) {
			t.Errorf("a good field is marked: %s", other)
		}
	}
	if users() != before {
		t.Error("a refused sign-up made a user")
	}
	time.Sleep(100 * time.Millisecond)
	if len(e.Mail.Messages()) != mails {
		t.Error("a refused sign-up sent mail")
	}
	k.post("/signup", url.Values{"name": {"Olga"}, "email": {"olga@acme-corp.com"}, "password": {servertest.Password}}).
		want(t, "good sign-up", 200, "Check your inbox")
}

// A login refused because the address is not verified offers to send the
// link again. The request answers alike for an unverified, a verified and
// an unknown address, mails a working link only to the first, and past
// the address's limit is refused with 429 and sends nothing.
func TestDeadEnds_LoginOffersTheVerificationLinkAgain(t *testing.T) {
	e := servertest.New(t)
	clk := newServerClock(e) // identity mail to one address: at most one a minute
	stats := &e.Server.Service.Stats
	const una = "una@acme-corp.com"
	k := newFormClient(t, e, e.Client(t))
	k.post("/signup", url.Values{"name": {"Una"}, "email": {una}, "password": {servertest.Password}}).want(t, "sign-up", 200, "Check your inbox")
	e.Mail.WaitFor(t, una, 1, 10*time.Second)

	a := k.post("/login", url.Values{"email": {una}, "password": {servertest.Password}})
	a.want(t, "unverified login", 403, `action="/verify-again"`, `name="email" value="`+una+`"`, `id="verify-again"`, "Send the link again")
	// A wrong password says nothing of the address: no offer.
	if b := k.post("/login", url.Values{"email": {una}, "password": {"not the password"}}); b.Status != 401 || strings.Contains(b.Body, "verify-again") {
		t.Errorf("wrong password: %d, offers the link: %v", b.Status, strings.Contains(b.Body, "verify-again"))
	}

	_, verifiedAcct := e.SignUp(t, "vera@acme-corp.com", "Vera")
	_ = verifiedAcct
	clk.advance(2 * time.Minute)
	answers := map[string]answer{}
	for _, addr := range []string{una, "vera@acme-corp.com", "nobody@acme-corp.com"} {
		done := stats.VerifyAgainDone.Load()
		a := k.post("/verify-again", url.Values{"email": {addr}})
		if a.Status != 303 || a.Header.Get("Location") != "/login" {
			t.Fatalf("%s: %d to %q, want 303 to /login", addr, a.Status, a.Header.Get("Location"))
		}
		answers[addr] = k.get("/login")
		if !eventually(func() bool { return stats.VerifyAgainDone.Load() == done+1 }) {
			t.Fatalf("%s: the request was not worked", addr)
		}
	}
	for addr, a := range answers {
		a.want(t, "login after asking for "+addr, 200, "If that address has a login that is not verified yet, a new link to verify it is on its way")
		if a.Body != answers[una].Body {
			t.Errorf("the answer for %s differs from the one for an unverified address", addr)
		}
	}
	if n := servertest.MailCount(e.Mail, "nobody@acme-corp.com"); n != 0 {
		t.Errorf("an unknown address got %d mails", n)
	}
	if n := servertest.MailCount(e.Mail, "vera@acme-corp.com"); n != 1 { // the sign-up's only
		t.Errorf("a verified address got %d mails, want the sign-up's 1", n)
	}
	m := e.Mail.WaitFor(t, una, 2, 10*time.Second)
	link := strings.TrimPrefix(mailtest.Link(t, m.Text, e.URL+"/verify/"), e.URL)
	k.post(link, url.Values{}).want(t, "the new link", 303)
	if !canLogIn(t, e, una, servertest.Password) {
		t.Fatal("the link sent again did not verify the address with the sign-up's password")
	}

	// Past the address's limit (3 in 15 minutes): refused, with a wait, nothing sent.
	const ivo = "ivo@acme-corp.com"
	k.post("/signup", url.Values{"name": {"Ivo"}, "email": {ivo}, "password": {servertest.Password}}).want(t, "sign-up", 200, "Check your inbox")
	e.Mail.WaitFor(t, ivo, 1, 10*time.Second)
	for i := range 3 {
		clk.advance(2 * time.Minute)
		k.post("/verify-again", url.Values{"email": {ivo}}).want(t, "ask again", 303)
		if !eventually(func() bool { return servertest.MailCount(e.Mail, ivo) == 2+i }) {
			t.Fatalf("ivo got %d mails, want %d", servertest.MailCount(e.Mail, ivo), 2+i)
		}
	}
	clk.advance(2 * time.Minute)
	done, throttled := stats.VerifyAgainDone.Load(), stats.VerifyAgainThrottled.Load()
	r := k.post("/verify-again", url.Values{"email": {ivo}})
	r.want(t, "past the limit", 429, `role="alert" id="login-error">Too many verification links asked for this address: try again in`, `id="verify-again"`)
	if r.Header.Get("Retry-After") == "" {
		t.Error("the refusal has no Retry-After")
	}
	time.Sleep(200 * time.Millisecond)
	if servertest.MailCount(e.Mail, ivo) != 4 || stats.VerifyAgainDone.Load() != done || stats.VerifyAgainThrottled.Load() != throttled+1 {
		t.Errorf("the refused request was worked: mails %d, done %d→%d", servertest.MailCount(e.Mail, ivo), done, stats.VerifyAgainDone.Load())
	}
}

// The invitation page says who invited, by name and address.
func TestDeadEnds_InvitationNamesTheInviter(t *testing.T) {
	f := newAccessFixture(t)
	token, _ := f.e.InviteToken(t, f.api, f.acct, "newbie@acme-corp.com", "support")
	k := newFormClient(t, f.e, f.e.Client(t))
	k.get("/invite/"+token).want(t, "invitation", 200, `<span id="inviter">Olga Owner (olga@acme-corp.com)</span> invited you to <strong>`,
		`id="password-rules"`)
}

// eventually reports whether ok becomes true within 10 seconds.
func eventually(ok func() bool) bool {
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if ok() {
			return true
		}
	}
	return ok()
}

// In Chromium: a member without the two-factor sign-in their account
// requires sees the enrolment link in the sidebar and no link there that
// refuses (each one opens with 200); the overview of that member and of an
// empty account, and a sign-up with every field wrong, pass axe at
// desktop and phone size.
func TestDeadEnds_InChromium(t *testing.T) {
	browser := newBrowser(t)
	axe, noAxe := axeSource(t)
	if noAxe != "" {
		t.Log(noAxe)
	}
	f := newAccessFixture(t)
	clk := newServerClock(f.e)
	consoleEnroll(t, f.owner, clk)
	f.api.Must(200, "PATCH", "/v1/accounts/"+f.acct+"/security", map[string]bool{"require_mfa": true})

	dev := newTab(t, browser, f.e.URL, "mfa-required")
	dev.viewport(desktop)
	dev.login("dev@acme-corp.com")
	if st := dev.open(f.path("")); st != 200 {
		t.Fatalf("overview: %d", st)
	}
	if got := strings.Join(dev.nav(), " "); got != "overview enrol-mfa" {
		t.Errorf("sidebar: %q, want the overview and the enrolment link", got)
	}
	var visible bool
	dev.eval(`(() => { const a = document.querySelector('#nav-enrol-mfa'); const r = a.getBoundingClientRect(); return r.width > 0 && r.height > 0 })()`, &visible)
	if !visible {
		t.Error("the enrolment link is not visible in the sidebar")
	}
	var hrefs []string
	dev.eval(`[...document.querySelectorAll('nav.sidebar a[href]')].map(a => a.getAttribute('href'))`, &hrefs)
	for _, v := range []viewport{desktop, phone} {
		dev.viewport(v)
		dev.checkPage(axe, v, "overview under require_mfa", "deadends-overview-mfa-required")
	}
	dev.viewport(desktop)
	for _, h := range hrefs {
		if st := dev.open(h); st != 200 {
			t.Errorf("the sidebar's %s answers %d", h, st)
		}
	}
	dev.open(f.path(""))
	dev.submit("#nav-enrol-mfa")
	if dev.path() != "/profile" || dev.text("#mfa-state") != "Off" {
		t.Errorf("the enrolment link led to %s", dev.location())
	}

	// An empty account's overview, with its first steps.
	_, acct := f.e.SignUp(t, "nina@initech-labs.com", "Nina New")
	own := newTab(t, browser, f.e.URL, "empty-account")
	own.viewport(desktop)
	own.login("nina@initech-labs.com")
	if st := own.open("/accounts/" + acct); st != 200 {
		t.Fatalf("empty overview: %d", st)
	}
	if n := own.number(`document.querySelectorAll('#first-steps a').length`); n != 3 {
		t.Errorf("first steps: %v links, want 3", n)
	}
	for _, v := range []viewport{desktop, phone} {
		own.viewport(v)
		own.checkPage(axe, v, "empty account's overview", "deadends-overview-empty")
	}

	// Sign-up with every field wrong.
	anon := newTab(t, browser, f.e.URL, "signup-errors")
	anon.viewport(desktop)
	anon.open("/signup")
	anon.fill("#email", "someone@gmail.com")
	anon.fill("#password", "short")
	if st := anon.submit("button.primary"); st != 422 {
		t.Errorf("sign-up with three wrong fields: %d", st)
	}
	if n := anon.number(`document.querySelectorAll('[aria-invalid="true"]').length`); n != 3 {
		t.Errorf("%v fields marked, want 3", n)
	}
	for _, v := range []viewport{desktop, phone} {
		anon.viewport(v)
		anon.checkPage(axe, v, "sign-up with every error", "deadends-signup-errors")
	}
}
