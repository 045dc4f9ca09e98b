package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

// Passkeys (issue 24) in Chromium with its virtual authenticator (the
// DevTools WebAuthn domain): a platform authenticator that keeps resident
// keys and verifies its user, presence simulated, so create() and get()
// answer without a person. The server's base URL is http://localhost:port:
// WebAuthn refuses an IP address as the relying party's ID, and localhost
// is a secure context without TLS.

// newPasskeyEnv starts a server at http://localhost:port, its base URL and
// the address every client of the test uses.
func newPasskeyEnv(t *testing.T) *servertest.Env {
	t.Helper()
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) {
		c.BaseURL = strings.Replace(c.BaseURL, "127.0.0.1", "localhost", 1)
	}})
	e.URL = strings.Replace(e.URL, "127.0.0.1", "localhost", 1)
	return e
}

// authenticator gives the tab a virtual authenticator and returns its id.
func (b *tab) authenticator() webauthn.AuthenticatorID {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		b.t.Fatalf("%s: WebAuthn.enable: %v", b.name, err)
	}
	res, err := chromedp.Call(b.ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
			Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true, IsUserVerified: true,
			AutomaticPresenceSimulation: true}})
	if err != nil {
		b.t.Fatalf("%s: WebAuthn.addVirtualAuthenticator: %v", b.name, err)
	}
	return res.AuthenticatorID
}

// credentials are the passkeys the tab's authenticator holds.
func (b *tab) credentials(id webauthn.AuthenticatorID) []*webauthn.Credential {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		b.t.Fatalf("%s: WebAuthn.getCredentials: %v", b.name, err)
	}
	return res.Credentials
}

// addPasskey adds a passkey on Profile & security, with the password (and
// code, when not ""), and returns the page's notice.
func (b *tab) addPasskey(name, code string) string {
	b.t.Helper()
	b.open("/profile")
	b.fill("#passkey-name", name)
	b.fill("#passkey-password", servertest.Password)
	if code != "" {
		b.fill("#passkey-otp", code)
	}
	b.submit("#passkey-add")
	if b.path() != "/profile" {
		b.t.Fatalf("%s: adding a passkey led to %s", b.name, b.location())
	}
	var notice string
	b.evalString(`(document.querySelector('.notice') || {textContent: ''}).textContent + ' ' + ((document.querySelector('#passkeys-error, #passkey-add-error:not([hidden])') || {textContent: ''}).textContent)`, &notice)
	return strings.TrimSpace(notice)
}

func (b *tab) evalString(js string, out *string) {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("%s: eval %s: %v", b.name, js, err)
	}
	*out = s
}

// passkeyRows are the names in the passkeys table.
func (b *tab) passkeyRows() []string {
	var rows []string
	b.eval(`[...document.querySelectorAll('#passkeys-table tbody tr td.passkey-name')].map(td => td.childNodes[0].textContent.trim())`, &rows)
	return rows
}

// logout logs the tab out with the header's button.
func (b *tab) logout() {
	b.t.Helper()
	b.submit(`form[action="/logout"] button`)
	if b.path() != "/login" {
		b.t.Fatalf("%s: logging out led to %s", b.name, b.location())
	}
}

// noAutofillScript makes a page see no autofill offer for passkeys.
const noAutofillScript = `if (window.PublicKeyCredential) { PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false); }`

// noAutofill makes the tab a browser without the address field's
// autofill offer (no conditional mediation), from its next page on: where
// a refused passkey sends the browser back to the login page, the
// virtual authenticator would answer the page's new offer at once, again
// and again, as no person would.
func (b *tab) noAutofill() {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: noAutofillScript}); err != nil {
		b.t.Fatalf("%s: Page.addScriptToEvaluateOnNewDocument: %v", b.name, err)
	}
}

// presence turns the authenticator's simulated user presence on or off:
// off, a request waits for a touch that never comes.
func (b *tab) presence(id webauthn.AuthenticatorID, on bool) {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, webauthn.SetAutomaticPresenceSimulation,
		webauthn.SetAutomaticPresenceSimulationParams{AuthenticatorID: id, Enabled: on}); err != nil {
		b.t.Fatalf("%s: WebAuthn.setAutomaticPresenceSimulation: %v", b.name, err)
	}
}

// openLogin opens the login page with the authenticator's presence off,
// so the address field's autofill offer (conditional mediation, which
// the virtual authenticator answers as soon as presence is on) waits.
func (b *tab) openLogin(id webauthn.AuthenticatorID) {
	b.t.Helper()
	b.presence(id, false)
	b.open("/login")
	b.waitVisible("#passkey-signin")
}

// withoutAutofill runs f with the tab's pages offering no autofill
// (conditional mediation), as noAutofill, and offering it again after.
// With the offer waiting on the login page, the virtual authenticator
// answers it as soon as its presence is on: before the button is pressed,
// the offer could sign in first and the click find no button (CI,
// 2026-12-06).
func (b *tab) withoutAutofill(f func()) {
	b.t.Helper()
	added, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: noAutofillScript})
	if err != nil {
		b.t.Fatalf("%s: Page.addScriptToEvaluateOnNewDocument: %v", b.name, err)
	}
	defer func() {
		if _, err := chromedp.Call(b.ctx, page.RemoveScriptToEvaluateOnNewDocument, page.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: added.Identifier}); err != nil {
			b.t.Errorf("%s: Page.removeScriptToEvaluateOnNewDocument: %v", b.name, err)
		}
	}()
	f()
}

// passkeySignIn opens the login page and presses "Sign in with a
// passkey" (the address field offering no autofill meanwhile); it returns
// the path the browser landed on.
func (b *tab) passkeySignIn(id webauthn.AuthenticatorID) string {
	b.t.Helper()
	b.withoutAutofill(func() {
		// Presence on only once the page without an offer replaced the
		// last one: a login page's offer waits for it.
		b.presence(id, false)
		b.open("/login")
		b.waitVisible("#passkey-signin")
		b.presence(id, true)
		b.submit("#passkey-signin")
	})
	return b.path()
}

// waitVisible waits for an element the page script shows.
func (b *tab) waitVisible(sel string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("%s: %s never showed (at %s): %v", b.name, sel, b.location(), err)
	}
}

// loginError is the login page's message, "" when none.
func (b *tab) loginError() string {
	var s string
	b.evalString(`(document.querySelector('#login-error') || {textContent: ''}).textContent.trim()`, &s)
	return s
}

// signedIn reports whether the tab's session opens Profile & security.
func (b *tab) signedIn() bool {
	b.t.Helper()
	b.open("/profile")
	return b.path() == "/profile"
}

// TestPasskeys_RegisterAndSignInInChromium: a person adds a passkey on
// Profile & security (after the password), sees it listed with its name,
// when it was added and that it was never used, renames it, logs out and
// signs in with it from the login page's button, without an address or a
// password, landing where a password login lands; its last use is shown
// then. Profile & security with a passkey and the login page pass axe.
func TestPasskeys_RegisterAndSignInInChromium(t *testing.T) {
	browser := newBrowser(t)
	axe, _ := axeSource(t)
	e := newPasskeyEnv(t)
	const email = "olga@acme-corp.com"
	_, acct := e.SignUp(t, email, "Olga Owner")
	b := newTab(t, browser, e.URL, "olga")
	auth := b.authenticator()
	b.login(email)

	b.open("/profile")
	if got := b.text("#passkeys-empty"); !strings.Contains(got, "no passkey") {
		t.Errorf("profile without passkeys says %q", got)
	}
	if notice := b.addPasskey("Work laptop", ""); !strings.Contains(notice, "Work laptop") || !strings.Contains(notice, "added") {
		t.Fatalf("adding a passkey: the page says %q", notice)
	}
	if rows := b.passkeyRows(); len(rows) != 1 || rows[0] != "Work laptop" {
		t.Fatalf("passkeys listed: %q, want [Work laptop]", rows)
	}
	if got := b.text(`#passkeys-table tbody tr td:nth-child(3)`); got != "Never" {
		t.Errorf("a new passkey's last use: %q, want Never", got)
	}
	creds := b.credentials(auth)
	if len(creds) != 1 || !creds[0].IsResidentCredential {
		t.Fatalf("the authenticator holds %d credentials (want 1, resident)", len(creds))
	}
	for _, v := range []viewport{desktop, phone} {
		b.viewport(v)
		b.checkPage(axe, v, "profile with a passkey", "passkeys-profile")
	}
	b.viewport(desktop)

	// Rename, from the row's menu.
	b.run("open the row menu", chromedp.Click(chromedp.CSS(`#passkeys-table details.row-menu summary`)))
	b.fill(`#passkeys-table input[name=name]`, "Olga's laptop")
	b.submit(`#passkeys-table [data-rename-passkey]`)
	if rows := b.passkeyRows(); len(rows) != 1 || rows[0] != "Olga's laptop" {
		t.Errorf("after renaming: %q", rows)
	}

	b.presence(auth, false)
	b.logout()
	b.openLogin(auth)
	var autofill bool
	b.eval(`document.querySelector('#email').autocomplete === 'username webauthn'`, &autofill)
	if !autofill {
		t.Error(`the address field does not offer passkeys (autocomplete="username webauthn")`)
	}
	for _, v := range []viewport{desktop, phone} {
		b.viewport(v)
		b.checkPage(axe, v, "login page with the passkey button", "passkeys-login")
	}
	b.viewport(desktop)
	if got := b.passkeySignIn(auth); got != "/accounts/"+acct {
		t.Fatalf("signing in with the passkey landed on %s (%s), want /accounts/%s", b.location(), b.loginError(), acct)
	}
	b.open("/profile")
	if got := b.text(`#passkeys-table tbody tr td:nth-child(3)`); got == "Never" || got == "" {
		t.Errorf("the passkey's last use after signing in with it: %q", got)
	}

	// The address field's autofill offer (conditional mediation): the
	// virtual authenticator answers an offer made while its presence is
	// on, as a person picking the passkey from the field's list would.
	// The login page logging out lands on is left first (its offer, made
	// late on a loaded machine, could sign in while the next page loads:
	// net::ERR_ABORTED), and the next one is asked for by the page itself,
	// not waited for: its offer may sign in before it has loaded.
	b.presence(auth, false)
	b.logout()
	b.run("leave the login page", chromedp.Navigate("about:blank"))
	b.presence(auth, true)
	b.run("ask for the login page", chromedp.Evaluate[chromedp.Void](`location.href = `+strconv.Quote(b.base+"/login")))
	deadline := time.Now().Add(15 * time.Second)
	for b.path() != "/accounts/"+acct {
		if time.Now().After(deadline) {
			t.Fatalf("the autofill offer did not sign in: at %s (%s)", b.location(), b.loginError())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPasskeys_SecondFactorInChromium: a person with two-factor sign-in
// adds a passkey (the password and a code, as every step-up asks), then
// logs in with the password: the second step offers the passkey beside
// the code, and the passkey completes the sign-in.
func TestPasskeys_SecondFactorInChromium(t *testing.T) {
	browser := newBrowser(t)
	axe, _ := axeSource(t)
	e := newPasskeyEnv(t)
	clk := newServerClock(e)
	const email = "olga@acme-corp.com"
	api, acct := e.SignUp(t, email, "Olga Owner")
	secret, _, step := consoleEnroll(t, newFormClient(t, e, api), clk)

	b := newTab(t, browser, e.URL, "olga")
	auth := b.authenticator()
	b.open("/login")
	b.fill("#email", email)
	b.fill("#password", servertest.Password)
	b.submit("button.primary")
	if b.path() != "/login/code" {
		t.Fatalf("the password led to %s, want the second step", b.location())
	}
	code, step := freshCode(t, clk, secret, step)
	b.fill("#otp", code)
	b.submit("#code-form button.primary")
	code, _ = freshCode(t, clk, secret, step)
	if notice := b.addPasskey("Phone", code); !strings.Contains(notice, "added") {
		t.Fatalf("adding a passkey with the password and a code: the page says %q", notice)
	}

	b.presence(auth, false) // the login page's autofill offer waits
	b.logout()
	b.open("/login")
	b.fill("#email", email)
	b.fill("#password", servertest.Password)
	b.submit("button.primary")
	if b.path() != "/login/code" {
		t.Fatalf("the password led to %s, want the second step", b.location())
	}
	b.presence(auth, true)
	b.waitVisible("#passkey-verify")
	if got := b.text("#passkey-verify"); got != "Use a passkey" {
		t.Errorf("the second step's passkey button says %q", got)
	}
	b.checkPage(axe, desktop, "second step with the passkey offer", "passkeys-second-step")
	b.submit("#passkey-verify")
	if got := b.path(); got != "/accounts/"+acct {
		t.Fatalf("the passkey as the second factor landed on %s, want /accounts/%s", b.location(), acct)
	}
}

// TestPasskeys_RequireMFASatisfiedInChromium: in an account that requires
// two-factor sign-in, a member without an authenticator app holds nothing
// after a password login; once they sign in with a passkey (user
// verification: two factors), the account's pages open.
func TestPasskeys_RequireMFASatisfiedInChromium(t *testing.T) {
	browser := newBrowser(t)
	e := newPasskeyEnv(t)
	clk := newServerClock(e)
	owner, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	consoleEnroll(t, newFormClient(t, e, owner), clk)
	owner.Must(200, "PATCH", "/v1/accounts/"+acct+"/security", map[string]bool{"require_mfa": true})
	const dev = "dev@acme-corp.com"
	e.Join(t, owner, acct, dev, "developer")

	b := newTab(t, browser, e.URL, "dev")
	auth := b.authenticator()
	b.login(dev)
	if st := b.open("/accounts/" + acct + "/numbers"); st != http.StatusForbidden {
		t.Fatalf("numbers after a password login, under require_mfa: %d, want 403", st)
	}
	if notice := b.addPasskey("Laptop", ""); !strings.Contains(notice, "added") {
		t.Fatalf("adding a passkey: the page says %q", notice)
	}
	b.presence(auth, false)
	b.logout()
	if got := b.passkeySignIn(auth); !strings.HasPrefix(got, "/accounts") {
		t.Fatalf("signing in with the passkey landed on %s (%s)", b.location(), b.loginError())
	}
	if st := b.open("/accounts/" + acct + "/numbers"); st != http.StatusOK {
		t.Errorf("numbers after a passkey sign-in, under require_mfa: %d, want 200", st)
	}
	var offered bool
	b.eval(`!!document.querySelector('#nav-enrol-mfa')`, &offered)
	if offered {
		t.Error("after a passkey sign-in the sidebar still offers to turn two-factor sign-in on")
	}
}

// TestPasskeys_RemovedPasskeyRefusedInChromium: removing a passkey asks
// for the password on its confirmation page (a wrong one is refused next
// to its field, and nothing is removed); once removed, the authenticator's
// copy no longer signs in, and the login page says so in words.
func TestPasskeys_RemovedPasskeyRefusedInChromium(t *testing.T) {
	browser := newBrowser(t)
	axe, _ := axeSource(t)
	e := newPasskeyEnv(t)
	const email = "olga@acme-corp.com"
	e.SignUp(t, email, "Olga Owner")
	b := newTab(t, browser, e.URL, "olga")
	auth := b.authenticator()
	b.login(email)
	if notice := b.addPasskey("Old laptop", ""); !strings.Contains(notice, "added") {
		t.Fatalf("adding a passkey: the page says %q", notice)
	}

	b.run("open the row menu", chromedp.Click(chromedp.CSS(`#passkeys-table details.row-menu summary`)))
	b.submit(`#passkeys-table [data-remove-passkey]`)
	if !strings.HasSuffix(b.path(), "/remove") || !strings.Contains(b.text("h1"), "Old laptop") {
		t.Fatalf("the removal's confirmation: %s, %q", b.location(), b.text("h1"))
	}
	b.checkPage(axe, desktop, "passkey removal confirmation", "passkeys-remove")
	b.fill("#remove-password", "not my password")
	if st := b.submit("#confirm-remove-passkey"); st != http.StatusUnauthorized {
		t.Errorf("a wrong password: %d, want 401", st)
	}
	if got := b.text("#remove-password-error"); got == "" {
		t.Error("a wrong password is not said next to its field")
	}
	b.fill("#remove-password", servertest.Password)
	b.submit("#confirm-remove-passkey")
	if b.path() != "/profile" || !strings.Contains(b.text(".notice"), "removed") {
		t.Fatalf("after removing: %s, %q", b.location(), b.text("main"))
	}
	if rows := b.passkeyRows(); len(rows) != 0 {
		t.Errorf("passkeys listed after removing: %q", rows)
	}

	b.presence(auth, false)
	b.noAutofill()
	b.logout()
	if n := len(b.credentials(auth)); n != 1 {
		t.Fatalf("the authenticator holds %d credentials, want its copy of the removed one", n)
	}
	if got := b.passkeySignIn(auth); got != "/login" || b.loginError() == "" {
		t.Fatalf("signing in with a removed passkey: %s, message %q; want the login page and a message", b.location(), b.loginError())
	}
	if b.signedIn() {
		t.Error("a removed passkey signed in")
	}
}

// TestPasskeys_ClonedAuthenticatorRefusedInChromium: a copy of a passkey
// in a second authenticator whose signature counter is behind the one
// Roster saw last (a cloned authenticator) is refused, in words.
func TestPasskeys_ClonedAuthenticatorRefusedInChromium(t *testing.T) {
	browser := newBrowser(t)
	e := newPasskeyEnv(t)
	const email = "olga@acme-corp.com"
	_, acct := e.SignUp(t, email, "Olga Owner")
	a := newTab(t, browser, e.URL, "olga")
	authA := a.authenticator()
	a.login(email)
	if notice := a.addPasskey("Security key", ""); !strings.Contains(notice, "added") {
		t.Fatalf("adding a passkey: the page says %q", notice)
	}
	a.presence(authA, false)
	a.logout()
	if got := a.passkeySignIn(authA); got != "/accounts/"+acct {
		t.Fatalf("signing in with the passkey: %s (%s)", a.location(), a.loginError())
	}
	creds := a.credentials(authA)
	if len(creds) != 1 || creds[0].SignCount < 1 {
		t.Fatalf("the authenticator's credentials: %d, counter %v", len(creds), creds)
	}

	// The same key, user and ID; the counter back at 0. (cdproto's
	// Credential always sends the CMTG fields, which this authenticator
	// refuses: the parameters are written out here.)
	c := creds[0]
	type credential struct {
		CredentialID         []byte `json:"credentialId"`
		IsResidentCredential bool   `json:"isResidentCredential"`
		RpID                 string `json:"rpId"`
		PrivateKey           []byte `json:"privateKey"`
		UserHandle           []byte `json:"userHandle"`
		SignCount            int    `json:"signCount"`
	}
	type addCredential struct {
		AuthenticatorID webauthn.AuthenticatorID `json:"authenticatorId"`
		Credential      credential               `json:"credential"`
	}
	m := newTab(t, browser, e.URL, "mallory")
	m.noAutofill()
	authM := m.authenticator()
	add := cdp.Command[addCredential, cdp.Empty]{Method: webauthn.CommandAddCredential}
	if _, err := chromedp.Call(m.ctx, add, addCredential{AuthenticatorID: authM, Credential: credential{CredentialID: c.CredentialID,
		IsResidentCredential: true, RpID: c.RpID, PrivateKey: c.PrivateKey, UserHandle: c.UserHandle, SignCount: 0}}); err != nil {
		t.Fatalf("WebAuthn.addCredential: %v", err)
	}
	if got := m.passkeySignIn(authM); got != "/login" || m.loginError() == "" {
		t.Fatalf("the cloned passkey: %s, message %q; want the login page and a message", m.location(), m.loginError())
	}
	if m.signedIn() {
		t.Error("the cloned passkey signed in")
	}
}

// TestPasskeys_ReplayedAssertionRefused: a passkey sign-in's assertion,
// captured as the page posts it, signs in once; posted again (same flow)
// or with a new flow's challenge it is refused, and no session is made.
func TestPasskeys_ReplayedAssertionRefused(t *testing.T) {
	browser := newBrowser(t)
	e := newPasskeyEnv(t)
	const email = "olga@acme-corp.com"
	_, acct := e.SignUp(t, email, "Olga Owner")
	b := newTab(t, browser, e.URL, "olga")
	auth := b.authenticator()
	b.login(email)
	if notice := b.addPasskey("Laptop", ""); !strings.Contains(notice, "added") {
		t.Fatalf("adding a passkey: the page says %q", notice)
	}
	b.presence(auth, false)
	b.logout()

	// The page's form, as it is submitted, copied into localStorage.
	b.withoutAutofill(func() {
		b.open("/login")
		b.waitVisible("#passkey-signin")
		b.presence(auth, true)
		b.run("capture", chromedp.Evaluate[chromedp.Void](`(() => {
		const submit = HTMLFormElement.prototype.submit;
		HTMLFormElement.prototype.submit = function () {
			if (this.id === 'passkey-login-form') {
				localStorage.setItem('captured', JSON.stringify({flow: this.elements.namedItem('flow').value,
					credential: this.elements.namedItem('credential').value}));
			}
			return submit.call(this);
		};
	})()`))
		b.submit("#passkey-signin")
	})
	if b.path() != "/accounts/"+acct {
		t.Fatalf("signing in with the passkey: %s (%s)", b.location(), b.loginError())
	}
	var flow, credential string
	b.evalString(`JSON.parse(localStorage.getItem('captured')).flow`, &flow)
	b.evalString(`JSON.parse(localStorage.getItem('captured')).credential`, &credential)
	if flow == "" || credential == "" {
		t.Fatal("the assertion was not captured")
	}

	sessions := e.Count(t, "SELECT COUNT(*) FROM sessions")
	replay := func(what, flow string) {
		t.Helper()
		k := newFormClient(t, e, e.Client(t))
		a := k.post("/login/passkey", url.Values{"flow": {flow}, "credential": {credential}})
		if a.Status < 400 || !strings.HasPrefix(a.Via, "303 /login") || !strings.Contains(a.Body, `role="alert"`) {
			t.Errorf("%s: %d via %q, want a refusal on the login page", what, a.Status, a.Via)
		}
		for _, c := range k.c.HTTP.Jar.Cookies(mustURL(t, e.URL)) {
			if c.Name == "roster_session" && c.Value != "" {
				t.Errorf("%s: a session cookie was set", what)
			}
		}
	}
	replay("the same flow again", flow)
	// A new flow: its challenge is not the one the assertion signed.
	c := e.Client(t)
	req, _ := http.NewRequest("POST", e.URL+"/login/passkey/options", strings.NewReader(""))
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var opts struct {
		Flow string `json:"flow"`
	}
	decodeJSON(t, resp, &opts)
	if opts.Flow == "" || opts.Flow == flow {
		t.Fatalf("a new flow: %q", opts.Flow)
	}
	replay("a new flow's challenge", opts.Flow)
	if got := e.Count(t, "SELECT COUNT(*) FROM sessions"); got != sessions {
		t.Errorf("the replays made %d sessions", got-sessions)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func decodeJSON(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %d, not JSON: %v", resp.Request.URL.Path, resp.StatusCode, err)
	}
}
