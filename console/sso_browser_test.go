package console_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

// Single sign-on end to end in Chromium (issue 22): real identity
// providers in the test (zitadel's OpenID provider with its own login
// form, crewjam's samlidp), everything set up through the JSON API as an
// admin would, and the browser driven only through the sign-in: it enters
// at /sso/start?email= (what the login page's "Continue with single
// sign-on" leads to), types into the provider's login page and lands on
// the account.

const ssoBrowserDomain = "acme-corp.com"

// ssoBrowserEnv is a server that may reach providers on 127.0.0.1, an
// OpenID provider with a login form, and a committed account on
// acme-corp.com (verified through the in-process DNS server) with its
// owner, a developer who joined with a password, and an OpenID Connect
// connection.
type ssoBrowserEnv struct {
	e     *servertest.Env
	op    *servertest.OIDCProvider
	owner *servertest.Client
	acct  string
	conn  string // the connection's ID
}

func newSSOBrowserEnv(t *testing.T, defaultRole string) *ssoBrowserEnv {
	t.Helper()
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) { c.SSOAllowPrivate = true }})
	op := servertest.NewOIDCProviderWithForm(t, e.URL+"/sso/oidc/callback")
	owner, acct := e.SignUp(t, "olga@"+ssoBrowserDomain, "Olga Owner")
	e.Commit(t, acct)
	e.VerifyDomain(t, owner, acct, ssoBrowserDomain)
	e.Join(t, owner, acct, "dev@"+ssoBrowserDomain, "developer")
	r := owner.Must(201, "POST", "/v1/accounts/"+acct+"/sso-connections", map[string]any{"type": "oidc", "name": "Acme IdP",
		"issuer": op.Issuer, "client_id": op.ClientID, "client_secret": op.ClientSecret, "default_role": defaultRole})
	return &ssoBrowserEnv{e: e, op: op, owner: owner, acct: acct, conn: fmt.Sprint(r.JSON["id"])}
}

// member is the account's member with the address, as the API lists it
// (nil: not a member).
func (s *ssoBrowserEnv) member(t *testing.T, email string) map[string]any {
	t.Helper()
	for _, m := range s.owner.Must(200, "GET", "/v1/accounts/"+s.acct+"/members?limit=100", nil).Objects() {
		if m["email"] == email {
			return m
		}
	}
	return nil
}

// waitPage waits until the tab shows a loaded page at path (after a
// chain of redirects and auto-submitted forms) and returns its status.
func (b *tab) waitPage(path string) int {
	b.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var loaded bool
		b.eval(`document.readyState === 'complete'`, &loaded)
		if loaded && b.path() == path {
			return b.status()
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: never reached %s (at %s)", b.name, path, b.location())
		}
	}
}

// ssoOIDC starts single sign-on for the address and signs in at the
// OpenID provider's login page as a person would, then waits for the page
// Roster answers at path and returns its status.
func (b *tab) ssoOIDC(email, path string) int {
	b.t.Helper()
	b.open("/sso/start?email=" + url.QueryEscape(email))
	if !strings.HasPrefix(b.path(), "/login/username") {
		b.t.Fatalf("%s: /sso/start did not lead to the provider's login page (at %s): %s", b.name, b.location(), b.text("body"))
	}
	b.fill("#username", servertest.OIDCUsername)
	b.fill("#password", servertest.OIDCPassword)
	b.submit("button[type=submit]")
	return b.waitPage(path)
}

// A member signs in at the provider's page and lands on the account,
// which says who they are; a person who is not a member is told to ask an
// admin (403) and nothing is made; once the connection has a default
// role, the same person joins just in time and lands as a developer.
func TestSSOBrowser_OIDCSignInAndJustInTimeJoin(t *testing.T) {
	chromium := newBrowser(t)
	s := newSSOBrowserEnv(t, "")
	home := "/accounts/" + s.acct

	dev := newTab(t, chromium, s.e.URL, "dev")
	s.op.SignInAs("dev@"+ssoBrowserDomain, true, "Dev", "Eloper")
	if st := dev.ssoOIDC("dev@"+ssoBrowserDomain, home); st != 200 {
		t.Fatalf("the member's landing page answered %d: %s", st, dev.text("main"))
	}
	if body := dev.text("body"); !strings.Contains(body, "dev@"+ssoBrowserDomain) || !strings.Contains(body, "Developer") {
		t.Errorf("the account's page does not say who is signed in: %s", body)
	}
	if m := s.member(t, "dev@"+ssoBrowserDomain); m == nil || m["sso"] != true {
		t.Errorf("the member is not marked as signed in through single sign-on: %v", m)
	}
	dev.screenshot("sso-oidc-member")

	// Not a member, no default role: ask an admin; no user, no member.
	users := s.e.Count(t, `SELECT COUNT(*) FROM users`)
	pat := newTab(t, chromium, s.e.URL, "pat")
	s.op.SignInAs("pat@"+ssoBrowserDomain, true, "Pat", "Doe")
	if st := pat.ssoOIDC("pat@"+ssoBrowserDomain, "/sso/oidc/callback"); st != http.StatusForbidden {
		t.Errorf("a person who is not a member: %d, want 403", st)
	}
	if main := pat.text("main"); !strings.Contains(main, "ask an admin") {
		t.Errorf("the page does not say to ask an admin: %s", main)
	}
	if n := s.e.Count(t, `SELECT COUNT(*) FROM users`); n != users {
		t.Errorf("users: %d, were %d", n, users)
	}
	if m := s.member(t, "pat@"+ssoBrowserDomain); m != nil {
		t.Errorf("pat became a member: %v", m)
	}

	// With a default role on a committed account: pat joins just in time.
	s.owner.Must(200, "PATCH", "/v1/accounts/"+s.acct+"/sso-connections/"+s.conn, map[string]any{"default_role": "developer"})
	if st := pat.ssoOIDC("pat@"+ssoBrowserDomain, home); st != 200 {
		t.Fatalf("the just-in-time join landed with %d: %s", st, pat.text("main"))
	}
	if body := pat.text("body"); !strings.Contains(body, "pat@"+ssoBrowserDomain) || !strings.Contains(body, "Developer") {
		t.Errorf("the account's page does not say who joined: %s", body)
	}
	if m := s.member(t, "pat@"+ssoBrowserDomain); m == nil || m["role"] != "developer" || m["sso"] != true {
		t.Errorf("pat is not a developer who came through single sign-on: %v", m)
	}
	pat.screenshot("sso-oidc-joined")
}

// SP-initiated SAML: /sso/start for an address on the domain sends the
// browser to samlidp's login form; after it, the provider's page posts the
// response to the ACS by itself and the member lands on the account.
// (A replayed response cannot be made in a browser: the plain-HTTP tests
// in sso_saml_test.go replay it.)
func TestSSOBrowser_SAMLSignIn(t *testing.T) {
	chromium := newBrowser(t)
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@"+samlDomain, "Owner")
	e.Commit(t, acct)
	e.VerifyDomain(t, owner, acct, samlDomain)
	e.Join(t, owner, acct, samlEmail, "support")
	idp := servertest.NewSAMLIdP(t)
	idp.AddUser(t, samlUser, samlEmail, samlPass)
	conn := owner.Must(201, "POST", "/v1/accounts/"+acct+"/sso-connections", map[string]any{"type": "saml", "name": "Acme SAML",
		"metadata_xml": idp.Metadata(t)})
	// The admin gives the provider Roster's metadata from the link shown.
	resp, err := http.Get(conn.Str("sp_metadata_url"))
	if err != nil {
		t.Fatal(err)
	}
	md, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	idp.RegisterSP(t, "roster", md)

	b := newTab(t, chromium, e.URL, "ada")
	b.open("/sso/start?email=" + url.QueryEscape(samlEmail))
	if !strings.HasPrefix(b.location(), idp.URL) {
		t.Fatalf("/sso/start did not lead to the provider (at %s)", b.location())
	}
	b.fill("input[name=user]", samlUser)
	b.fill("input[name=password]", samlPass)
	b.submit("input[type=submit]")
	if st := b.waitPage("/accounts/" + acct); st != 200 {
		t.Fatalf("landed with %d: %s", st, b.text("main"))
	}
	if body := b.text("body"); !strings.Contains(body, samlEmail) || !strings.Contains(body, "Support") {
		t.Errorf("the account's page does not say who is signed in: %s", body)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM sessions WHERE sso_connection_id IS NOT NULL`); n != 1 {
		t.Errorf("sessions through single sign-on: %d, want 1", n)
	}
	b.screenshot("sso-saml-member")
}

// With single sign-on required, the member on the domain who logged in
// with a password is refused the account's pages (403, saying why); after
// single sign-on in the same browser they are let in. The owner keeps
// their password path.
func TestSSOBrowser_RequireSSO(t *testing.T) {
	chromium := newBrowser(t)
	s := newSSOBrowserEnv(t, "")
	s.owner.Must(200, "PATCH", "/v1/accounts/"+s.acct+"/security", map[string]bool{"require_sso": true})
	numbers := "/accounts/" + s.acct + "/numbers"

	axe, noAxe := axeSource(t)
	b := newTab(t, chromium, s.e.URL, "dev")
	b.login("dev@" + ssoBrowserDomain)
	// The overview answers, saying why nothing else does and offering the
	// way in; any other page is refused with 403.
	for _, path := range []string{"/accounts/" + s.acct, numbers} {
		st := b.open(path)
		if path == numbers && st != http.StatusForbidden {
			t.Errorf("%s with a password session: %d, want 403", path, st)
		}
		if main := b.text("main"); !strings.Contains(main, "requires single sign-on") {
			t.Errorf("%s with a password session does not say single sign-on is required (%d): %s", path, st, main)
		}
		if path != numbers {
			var offered bool
			b.eval(`!!document.querySelector('main a[href^="/sso/start?email="]')`, &offered)
			if !offered {
				t.Errorf("the overview does not offer single sign-on")
			}
		}
		b.checkPage(axe, desktop, path+" under require_sso", "sso-required"+strings.ReplaceAll(strings.TrimPrefix(path, "/accounts/"+s.acct), "/", "-"))
	}

	s.op.SignInAs("dev@"+ssoBrowserDomain, true, "Dev", "Eloper")
	if st := b.ssoOIDC("dev@"+ssoBrowserDomain, "/accounts/"+s.acct); st != 200 {
		t.Fatalf("after single sign-on the account answered %d: %s", st, b.text("main"))
	}
	if st := b.open(numbers); st != 200 {
		t.Errorf("%s after single sign-on: %d, want 200: %s", numbers, st, b.text("main"))
	}
	s.owner.Must(200, "GET", "/v1/accounts/"+s.acct+"/numbers", nil)
	if noAxe != "" {
		t.Skip(noAxe)
	}
}

// Disabling the connection ends the sessions it made: the signed-in
// browser's next page sends it to log in.
func TestSSOBrowser_DisableEndsTheSession(t *testing.T) {
	chromium := newBrowser(t)
	s := newSSOBrowserEnv(t, "")
	b := newTab(t, chromium, s.e.URL, "dev")
	s.op.SignInAs("dev@"+ssoBrowserDomain, true, "Dev", "Eloper")
	if st := b.ssoOIDC("dev@"+ssoBrowserDomain, "/accounts/"+s.acct); st != 200 {
		t.Fatalf("landed with %d", st)
	}
	if st := b.open("/accounts/" + s.acct + "/numbers"); st != 200 {
		t.Fatalf("numbers before the connection is disabled: %d", st)
	}
	s.owner.Must(200, "PATCH", "/v1/accounts/"+s.acct+"/sso-connections/"+s.conn, map[string]any{"enabled": false})
	b.open("/accounts/" + s.acct + "/numbers")
	if b.path() != "/login" {
		t.Errorf("after the connection was disabled the browser is at %s, want the login page", b.location())
	}
	if n := s.e.Count(t, `SELECT COUNT(*) FROM sessions WHERE sso_connection_id IS NOT NULL`); n != 0 {
		t.Errorf("%d sessions of the disabled connection remain", n)
	}
	s.owner.Must(200, "GET", "/v1/me", nil) // the owner's password session stays
}

// The pages a refused sign-in shows, "ask an admin" (403) and a failure
// (401), pass axe at a desktop's and a phone's size, with one h1.
func TestSSOBrowser_RefusalPagesPassAxe(t *testing.T) {
	chromium := newBrowser(t)
	axe, noAxe := axeSource(t)
	s := newSSOBrowserEnv(t, "")
	for _, c := range []struct {
		name     string
		verified bool
		status   int
		words    string
	}{
		{"sso-ask-an-admin", true, http.StatusForbidden, "ask an admin"},
		{"sso-failed", false, http.StatusUnauthorized, "has not verified"},
	} {
		b := newTab(t, chromium, s.e.URL, c.name)
		s.op.SignInAs("pat@"+ssoBrowserDomain, c.verified, "Pat", "Doe")
		if st := b.ssoOIDC("pat@"+ssoBrowserDomain, "/sso/oidc/callback"); st != c.status {
			t.Errorf("%s: %d, want %d", c.name, st, c.status)
		}
		if main := b.text("main"); !strings.Contains(main, c.words) {
			t.Errorf("%s: the page does not say %q: %s", c.name, c.words, main)
		}
		for _, v := range []viewport{desktop, phone} {
			b.viewport(v)
			b.checkPage(axe, v, "the "+c.name+" page", c.name)
		}
	}
	if noAxe != "" {
		t.Skip(noAxe)
	}
}
