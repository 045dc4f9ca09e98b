package console_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

// ssoUIFixture is a committed account of olga@acme-corp.com (the owner)
// with a developer, on a server that may reach the in-process OpenID
// provider on 127.0.0.1; the domain is not verified yet.
type ssoUIFixture struct {
	e     *servertest.Env
	op    *servertest.OIDCProvider
	acct  string
	api   *servertest.Client
	owner *formClient
	dev   *formClient
}

func newSSOUIFixture(t *testing.T) *ssoUIFixture {
	t.Helper()
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) { c.SSOAllowPrivate = true }})
	op := servertest.NewOIDCProvider(t, e.URL+"/sso/oidc/callback")
	api, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	dev, _ := e.Join(t, api, acct, "dev@acme-corp.com", "developer")
	return &ssoUIFixture{e: e, op: op, acct: acct, api: api, owner: newFormClient(t, e, api), dev: newFormClient(t, e, dev)}
}

// postDone posts a form that succeeds (303 with a flash) and follows it
// to its page, as a browser does.
func postDone(t *testing.T, k *formClient, path string, form url.Values) answer {
	t.Helper()
	a := k.post(path, form)
	if a.Status != http.StatusSeeOther || a.Via != "" {
		return a // a refusal, already followed: its status says so
	}
	loc, _, _ := strings.Cut(a.Header.Get("Location"), "#")
	return k.get(loc)
}

func (f *ssoUIFixture) sso() string { return "/accounts/" + f.acct + "/settings/sso" }

// oidcForm is the add form of an OIDC connection to the fixture's provider.
func (f *ssoUIFixture) oidcForm(name, role string) url.Values {
	return url.Values{"type": {"oidc"}, "oidc_name": {name}, "oidc_issuer": {f.op.Issuer}, "oidc_client_id": {f.op.ClientID},
		"oidc_client_secret": {f.op.ClientSecret}, "oidc_default_role": {role}}
}

// connect adds an OIDC connection through the page and returns its ID.
func (f *ssoUIFixture) connect(t *testing.T, name, role string) string {
	t.Helper()
	f.owner.get(f.sso())
	postDone(t, f.owner, f.sso()+"/connections", f.oidcForm(name, role)).want(t, "add connection", 200, name+" added")
	m := regexp.MustCompile(`data-connection="(\d+)"`).FindAllStringSubmatch(f.owner.get(f.sso()).Body, -1)
	if len(m) == 0 {
		t.Fatal("no connection on the page after adding one")
	}
	return m[len(m)-1][1]
}

// The connections section: refused before a domain is verified (the
// section says to verify one first), refusals at their field with what
// was typed kept and never the secret, a connection added with the values
// to paste into the provider, edited, disabled and enabled, deleted from
// its confirmation page; a developer cannot.
func TestConsole_SSOConnectionsSection(t *testing.T) {
	f := newSSOUIFixture(t)
	sso, conns := f.sso(), f.sso()+"/connections"
	count := func() int { return f.e.Count(t, `SELECT COUNT(*) FROM sso_connections`) }

	a := f.owner.get(sso)
	a.want(t, "no domain", 200, `id="connections-need-domain"`, "Verify a domain first", `id="require-not-ready"`, `id="require-save" disabled`)
	if strings.Contains(a.Body, `id="oidc-form"`) {
		t.Error("the add form is offered before a domain is verified")
	}
	const secret = "a-typed-secret-never-shown-4711"
	form := f.oidcForm("Okta", "developer")
	form.Set("oidc_client_secret", secret)
	a = f.owner.post(conns, form)
	a.want(t, "no domain: refused", 409, `id="connections-error"`, "Verify a domain first: single sign-on signs in only addresses")
	if !strings.HasPrefix(a.Via, "303 "+sso) || strings.Contains(a.Body, secret) || count() != 0 {
		t.Errorf("refused without a domain: via %q, secret shown %v, %d connections", a.Via, strings.Contains(a.Body, secret), count())
	}

	f.e.VerifyDomain(t, f.api, f.acct, "acme-corp.com")
	a = f.owner.get(sso)
	a.want(t, "verified", 200, `id="connections-empty"`, `id="oidc-form"`, `id="saml-form"`, `name="oidc_client_secret"`,
		"None — people who are not members ask an admin", `<code>`+f.e.URL+`/sso/oidc/callback</code>`, `<code>`+f.e.URL+`/sso/saml/acs</code>`)

	// A provider that is not there: sso_invalid at the issuer, the name,
	// issuer and role kept, the secret not.
	form.Set("oidc_issuer", "http://127.0.0.1:1")
	a = f.owner.post(conns, form)
	a.want(t, "unreachable issuer", 422, `id="oidc-issuer-error"`, "discovery document could not be used", `value="Okta"`,
		`value="http://127.0.0.1:1"`, `<option value="developer" selected>`, `<details class="conn-add" open id="add-oidc">`)
	if strings.Contains(a.Body, secret) || count() != 0 {
		t.Errorf("refused issuer: secret shown %v, %d connections", strings.Contains(a.Body, secret), count())
	}
	// A missing secret: at its field.
	form = f.oidcForm("Okta", "none")
	form.Del("oidc_client_secret")
	f.owner.post(conns, form).want(t, "no secret", 400, `id="oidc-client-secret-error"`, "The client secret is required")
	// SAML metadata that is not metadata: at its field.
	f.owner.post(conns, url.Values{"type": {"saml"}, "saml_name": {"Entra"}, "saml_metadata_xml": {"<nope/>"}}).
		want(t, "bad metadata", 422, `id="saml-metadata-xml-error"`, `value="Entra"`, "&lt;nope/&gt;", `<details class="conn-add" open id="add-saml">`)
	if count() != 0 {
		t.Fatalf("refusals left %d connections", count())
	}

	// Added: its values to paste, each with a copy button.
	id := f.connect(t, "Okta", "developer")
	a = f.owner.get(sso)
	a.want(t, "added", 200, `id="connection-`+id+`"`, `data-type="oidc"`, ">OIDC<", `data-enabled="true"`, `data-default-role="developer"`,
		`data-counts-as-mfa="false"`, `<code id="redirect-uri-`+id+`">`+f.e.URL+`/sso/oidc/callback</code>`, `data-copy="redirect-uri-`+id+`"`,
		`<code>`+f.op.Issuer+`</code>`, `href="`+sso+`/connections/`+id+`/delete"`)
	if strings.Contains(a.Body, f.op.ClientSecret) {
		t.Error("the page shows the client secret")
	}
	oneH1(t, "the single sign-on page", a)

	// Edited: renamed, no default role, counts as two-factor; the secret
	// kept when none is typed.
	edit := sso + "/connections/" + id
	postDone(t, f.owner, edit, url.Values{"name": {"Okta (prod)"}, "default_role": {"none"}, "counts_as_mfa": {"on"}, "enabled": {"on"}, "client_secret": {""}}).
		want(t, "edit", 200, "Okta (prod) saved.", `data-default-role="none"`, `data-counts-as-mfa="true"`, `data-enabled="true"`)
	if n := f.e.Count(t, `SELECT COUNT(*) FROM sso_connections WHERE name = 'Okta (prod)' AND client_secret = ? AND counts_as_mfa`, f.op.ClientSecret); n != 1 {
		t.Errorf("after the edit %d connections as saved, want 1", n)
	}
	// A refused edit: at its field in the connection's form, kept open,
	// the new secret not echoed.
	a = f.owner.post(edit, url.Values{"name": {""}, "default_role": {"owner"}, "enabled": {"on"}, "client_secret": {secret}})
	a.want(t, "refused edit", 400, `id="c`+id+`-name-error"`, "is required", `<details class="conn-edit" open>`)
	if strings.Contains(a.Body, secret) {
		t.Error("a refused edit shows the typed secret")
	}
	f.owner.post(edit, url.Values{"name": {"Okta (prod)"}, "default_role": {"owner"}, "enabled": {"on"}}).
		want(t, "owner as default role", 400, `id="c`+id+`-role-error"`, "cannot make anyone the owner")

	// Disabled and enabled again.
	postDone(t, f.owner, edit+"/enabled", url.Values{"enabled": {"false"}}).want(t, "disable", 200, "is off", `data-enabled="false"`, `data-enable-connection="`+id+`"`)
	postDone(t, f.owner, edit+"/enabled", url.Values{"enabled": {"true"}}).want(t, "enable", 200, "is on", `data-enabled="true"`, `data-disable-connection="`+id+`"`)

	// A developer may not.
	f.dev.get(sso).want(t, "developer's page", 403)
	f.dev.post(conns, f.oidcForm("Mine", "admin")).want(t, "developer's add", 403)
	f.dev.post(edit+"/enabled", url.Values{"enabled": {"false"}}).want(t, "developer's disable", 403)

	// Deleted from its confirmation page.
	f.owner.get(edit+"/delete").want(t, "confirm delete", 200, "Delete the connection Okta (prod)?", `id="confirm-delete"`, "sessions it made end")
	postDone(t, f.owner, edit+"/delete", url.Values{}).want(t, "delete", 200, "Okta (prod) deleted")
	if count() != 0 {
		t.Errorf("%d connections after the delete", count())
	}
	f.owner.get(edit+"/delete").want(t, "deleted connection's confirmation", 404)
}

// The require switch: disabled with its reason without an enabled
// connection (and a forced post refused in words), turned on and off
// with a connection; its warning says what it does.
func TestConsole_SSORequireSwitch(t *testing.T) {
	f := newSSOUIFixture(t)
	sso := f.sso()
	require := sso + "/require"
	on := func() int { return f.e.Count(t, `SELECT COUNT(*) FROM accounts WHERE require_sso`) }

	f.owner.get(sso)
	f.owner.post(require, url.Values{"require_sso": {"on"}}).
		want(t, "no domain", 409, `id="require-error"`, "Verify a domain first", `data-require-sso="off"`)
	f.e.VerifyDomain(t, f.api, f.acct, "acme-corp.com")
	f.owner.get(sso).want(t, "no connection", 200, `id="require-not-ready"`, "Add and enable a connection first", `id="require-sso" name="require_sso" value="on" disabled`)
	f.owner.post(require, url.Values{"require_sso": {"on"}}).
		want(t, "no connection: refused", 409, `id="require-error"`, "Add and enable a single sign-on connection first")
	if on() != 0 {
		t.Fatal("a refused switch turned the requirement on")
	}

	id := f.connect(t, "Okta", "developer")
	a := f.owner.get(sso)
	a.want(t, "ready", 200, "Require single sign-on for people on acme-corp.com", "must sign in through your identity provider",
		"personal API keys stop working in this account", "The owner keeps a password path", "mailed to the owner and admins",
		"contractors, are unaffected")
	if strings.Contains(a.Body, `id="require-not-ready"`) || strings.Contains(a.Body, `id="require-save" disabled`) {
		t.Error("the switch is still disabled with an enabled connection")
	}
	postDone(t, f.owner, require, url.Values{"require_sso": {"on"}}).want(t, "on", 200, "Single sign-on is required", `data-require-sso="on"`, `id="require-sso" name="require_sso" value="on" checked`)
	if on() != 1 {
		t.Fatal("the switch did not turn the requirement on")
	}
	// Its only connection's delete confirmation warns.
	f.owner.get(sso+"/connections/"+id+"/delete").want(t, "confirm delete while required", 200, "will have no way to sign in")
	// On without a connection: it may still be turned off.
	f.owner.post(sso+"/connections/"+id+"/enabled", url.Values{"enabled": {"false"}})
	a = f.owner.get(sso)
	if strings.Contains(a.Body, `id="require-save" disabled`) {
		t.Error("a requirement that is on cannot be turned off without a connection")
	}
	postDone(t, f.owner, require, url.Values{}).want(t, "off", 200, "no longer required", `data-require-sso="off"`)
	if on() != 0 {
		t.Fatal("the switch did not turn the requirement off")
	}
	f.dev.post(require, url.Values{"require_sso": {"on"}}).want(t, "developer", 403)
}

// browserClient is a plain HTTP client with a cookie jar that follows
// every redirect, as a browser does.
func browserClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

// A member who signed in through single sign-on shows "SSO" on the team
// list beside their two-factor status; the others do not.
func TestConsole_SSOBadgeOnTheTeamList(t *testing.T) {
	f := newSSOUIFixture(t)
	f.e.VerifyDomain(t, f.api, f.acct, "acme-corp.com")
	f.connect(t, "Okta", "developer")
	f.op.SignInAs("pat@acme-corp.com", true, "Pat", "Person")
	resp, err := browserClient().Get(f.e.URL + "/sso/start?email=pat@acme-corp.com")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Request.URL.Path != "/accounts/"+f.acct {
		t.Fatalf("Pat's sign-in ended at %s (%d)", resp.Request.URL, resp.StatusCode)
	}
	a := f.owner.get("/accounts/" + f.acct + "/team")
	a.want(t, "team", 200, `data-sso="on" title="Signed in through single sign-on">SSO<span class="visually-hidden">: signed in through single sign-on</span>`)
	row := func(email string) string {
		return regexp.MustCompile(`(?s)<tr data-member="` + regexp.QuoteMeta(email) + `">.*?</tr>`).FindString(a.Body)
	}
	if !strings.Contains(row("pat@acme-corp.com"), `data-sso="on"`) {
		t.Errorf("Pat's row has no SSO badge: %s", row("pat@acme-corp.com"))
	}
	if strings.Contains(row("olga@acme-corp.com"), `data-sso`) || strings.Contains(row("dev@acme-corp.com"), `data-sso`) {
		t.Error("a member who never signed in through single sign-on shows the SSO badge")
	}
}

// The login page asks for the address first: an address without single
// sign-on gets the password step with the address filled; one whose
// domain has it is offered "Continue with single sign-on" beside the
// password; one whose account requires it goes straight to the provider
// (the owner keeps ?with=password). A form with the password still logs
// in at once, as before.
func TestConsole_LoginAddressFirst(t *testing.T) {
	f := newSSOUIFixture(t)
	anon := newFormClient(t, f.e, f.e.Client(t))

	a := anon.get("/login")
	a.want(t, "first step", 200, `id="login-continue"`, `<div id="password-step" hidden>`, `id="email"`, `id="forgot-link"`)
	if strings.Contains(a.Body, `id="sso-continue"`) {
		t.Error("the first step offers single sign-on before the address")
	}
	anon.post("/login", url.Values{"email": {""}}).want(t, "no address", 400, `id="login-error"`, "Enter the email address")

	// No single sign-on for the domain: the password step.
	a = anon.post("/login", url.Values{"email": {"olga@acme-corp.com"}})
	a.want(t, "password step", 200, `<div id="password-step">`, `value="olga@acme-corp.com"`, `id="login-submit"`)
	if a.Via != "303 /login" || strings.Contains(a.Body, `id="sso-continue"`) {
		t.Errorf("password step: via %q, offers single sign-on: %v", a.Via, strings.Contains(a.Body, `id="sso-continue"`))
	}
	if b := anon.get("/login"); strings.Contains(b.Body, `value="olga@acme-corp.com"`) {
		t.Error("reloading the password step still shows the address (the state is one-time)")
	}

	// Single sign-on set up: offered beside the password.
	f.e.VerifyDomain(t, f.api, f.acct, "acme-corp.com")
	f.connect(t, "Okta", "developer")
	a = anon.post("/login", url.Values{"email": {"pat@acme-corp.com"}})
	a.want(t, "sso offered", 200, `<div id="password-step">`, `id="sso-continue"`, "Continue with single sign-on",
		`href="/sso/start?email=pat%40acme-corp.com"`, `id="login-submit"`)
	// Another domain: no offer.
	if b := anon.post("/login", url.Values{"email": {"kim@contractor.example"}}); strings.Contains(b.Body, `id="sso-continue"`) || b.Status != 200 {
		t.Errorf("a contractor's address: %d, offers single sign-on: %v", b.Status, strings.Contains(b.Body, `id="sso-continue"`))
	}
	// The offer's link goes to the provider, with the binding cookie.
	toProvider := func(what string) {
		t.Helper()
		a := anon.get("/sso/start?email=pat%40acme-corp.com")
		if loc := a.Header.Get("Location"); a.Status != 303 || !strings.HasPrefix(loc, f.op.Issuer) {
			t.Errorf("%s: %d to %q, want 303 to the provider", what, a.Status, loc)
		}
		if !strings.Contains(strings.Join(a.Header.Values("Set-Cookie"), ";"), "roster_sso=") {
			t.Errorf("%s: no binding cookie set: %v", what, a.Header.Values("Set-Cookie"))
		}
	}
	toProvider("continue with single sign-on")

	// Required: the address goes straight to the provider (the page
	// forwards at once); a contractor's address still gets the password
	// step; the owner's password path.
	f.api.Must(200, "PATCH", "/v1/accounts/"+f.acct+"/security", map[string]any{"require_sso": true})
	a = anon.post("/login", url.Values{"email": {"pat@acme-corp.com"}})
	a.want(t, "required", 200, `id="sso-required"`, "requires single sign-on for pat@acme-corp.com", `href="/sso/start?email=pat%40acme-corp.com"`,
		`href="/login?with=password"`)
	if got := a.Header.Get("Refresh"); got != "0; url=/sso/start?email=pat%40acme-corp.com" {
		t.Errorf("required: Refresh %q, want to /sso/start at once", got)
	}
	if strings.Contains(a.Body, `id="password"`) {
		t.Error("required: the page asks for a password")
	}
	toProvider("required")
	anon.post("/login", url.Values{"email": {"kim@contractor.example"}}).want(t, "contractor while required", 200, `<div id="password-step">`)
	anon.get("/login?with=password").want(t, "owner's password path", 200, `<div id="password-step">`, `id="login-submit"`)

	// A form with the password is the password login, as before.
	owner := newFormClient(t, f.e, f.e.Client(t))
	a = owner.post("/login", url.Values{"email": {"olga@acme-corp.com"}, "password": {servertest.Password}})
	if a.Status != 303 || !strings.HasPrefix(a.Header.Get("Location"), "/accounts/") {
		t.Errorf("password login: %d to %q", a.Status, a.Header.Get("Location"))
	}
	owner.post("/login", url.Values{"email": {"olga@acme-corp.com"}, "password": {"not the password"}}).
		want(t, "wrong password", 401, `id="login-error"`, `<div id="password-step">`, `value="olga@acme-corp.com"`, `id="sso-continue"`)
}

// In Chromium: the single sign-on page with a connection (its edit form
// open) and the login's password step offering single sign-on pass axe at
// desktop and phone sizes; a person on the domain types the address,
// continues with single sign-on and lands on the account (joined with the
// connection's default role).
func TestConsole_SSOInChromium(t *testing.T) {
	chromium := newBrowser(t)
	axe, noAxe := axeSource(t)
	f := newSSOUIFixture(t)
	f.e.VerifyDomain(t, f.api, f.acct, "acme-corp.com")
	id := f.connect(t, "Okta", "developer")

	owner := newTab(t, chromium, f.e.URL, "owner")
	owner.login("olga@acme-corp.com")
	owner.open(f.sso())
	owner.run("open the edit form", chromedp.Click(chromedp.CSS("#connection-"+id+" details.conn-edit summary")))
	for _, v := range []viewport{desktop, phone} {
		owner.viewport(v)
		owner.checkPage(axe, v, "the single sign-on page with a connection", "sso-connections")
	}

	f.op.SignInAs("pat@acme-corp.com", true, "Pat", "Person")
	pat := newTab(t, chromium, f.e.URL, "pat")
	pat.open("/login")
	pat.fill("#email", "pat@acme-corp.com")
	pat.submit("#login-continue")
	if !strings.Contains(pat.text("#sso-continue"), "Continue with single sign-on") {
		t.Fatalf("the password step offers no single sign-on: %s", pat.text("main"))
	}
	for _, v := range []viewport{desktop, phone} {
		pat.viewport(v)
		pat.checkPage(axe, v, "the login's password step with single sign-on", "login-sso")
	}
	pat.viewport(desktop)
	pat.submit("#sso-continue")
	if pat.path() != "/accounts/"+f.acct {
		t.Fatalf("after single sign-on Pat is at %s: %s", pat.location(), pat.text("main"))
	}

	// Required: the address alone takes Pat's next browser straight there.
	f.api.Must(200, "PATCH", "/v1/accounts/"+f.acct+"/security", map[string]any{"require_sso": true})
	again := newTab(t, chromium, f.e.URL, "pat-again")
	again.open("/login")
	again.fill("#email", "pat@acme-corp.com")
	again.submit("#login-continue")
	for i := 0; i < 100 && again.path() != "/accounts/"+f.acct; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if again.path() != "/accounts/"+f.acct {
		t.Fatalf("after single sign-on Pat is at %s: %s", pat.location(), pat.text("main"))
	}
	if n := f.e.Count(t, `SELECT COUNT(*) FROM members m JOIN users u ON u.id = m.user_id WHERE u.email = 'pat@acme-corp.com' AND m.sso_at IS NOT NULL`); n != 1 {
		t.Errorf("Pat joined through single sign-on %d times, want 1", n)
	}
	if noAxe != "" {
		t.Skip(noAxe)
	}
}
