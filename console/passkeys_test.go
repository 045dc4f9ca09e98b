package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster/server/servertest"
)

// Passkeys' pages and forms without a browser (issue 24): what the pages
// offer, what a form posted without the page's script says, and the
// refusals that need no authenticator. The ceremonies themselves are in
// passkeys_browser_test.go.

// scriptPost posts form as the page script does (it asks for JSON).
func (k *formClient) scriptPost(path string, form url.Values) (int, string, string) {
	k.t.Helper()
	req, _ := http.NewRequest("POST", k.e.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := k.c.HTTP.Do(req)
	if err != nil {
		k.t.Fatal(err)
	}
	var body struct {
		Error string `json:"error"`
		Input string `json:"input"`
	}
	decodeJSON(k.t, resp, &body)
	return resp.StatusCode, body.Error, body.Input
}

// The pages offer passkeys where the issue puts them, and work without
// the script: Profile & security lists none and has the add form with the
// password (and the code fields once two-factor sign-in is on); the login
// page has the button (hidden until the script shows it) and the address
// field's autofill offer; the second step has "Use a passkey".
func TestPasskeys_PagesOfferThem(t *testing.T) {
	e := servertest.New(t)
	clk := newServerClock(e)
	const email = "olga@acme-corp.com"
	api, _ := e.SignUp(t, email, "Olga Owner")
	k := newFormClient(t, e, api)
	k.get("/profile").want(t, "profile", 200, `id="passkeys"`, `id="passkeys-empty"`, `action="/profile/passkeys/options"`,
		`id="passkey-password"`, `src="/static/passkeys.js"`)
	if p := k.get("/profile"); strings.Contains(p.Body, `id="passkey-otp"`) {
		t.Error("the add form asks for a code without two-factor sign-in")
	}
	anon := newFormClient(t, e, e.Client(t))
	anon.get("/login").want(t, "login page", 200, `autocomplete="username webauthn"`, `id="passkey-login" hidden`,
		`id="passkey-signin"`, `action="/login/passkey"`, `src="/static/passkeys.js"`)

	consoleEnroll(t, k, clk)
	k.get("/profile").want(t, "profile with two-factor on", 200, `id="passkey-otp"`, `id="passkey-recovery-code"`)
	c := e.Client(t)
	c.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.HTTP.PostForm(e.URL+"/login", url.Values{"email": {email}, "password": {servertest.Password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != 303 || !strings.HasPrefix(loc, "/login/code") {
		t.Fatalf("password login: %d %s", resp.StatusCode, loc)
	}
	second := newFormClient(t, e, c)
	second.get("/login/code").want(t, "second step", 200, `id="passkey-second" hidden`, `>Use a passkey</button>`,
		`action="/login/code/passkey"`, `name="pending" value="`)

	// The script is served from the console itself (the CSP allows no
	// other): same origin, JavaScript.
	js := anon.get("/static/passkeys.js")
	if js.Status != 200 || !strings.Contains(js.Header.Get("Content-Type"), "javascript") || !strings.Contains(js.Body, "isConditionalMediationAvailable") {
		t.Errorf("/static/passkeys.js: %d %s", js.Status, js.Header.Get("Content-Type"))
	}
}

// A passkey form posted without the page's script (JavaScript off) is
// answered as every console form: back to its page, which says in words
// that passkeys need JavaScript; nothing is asked of the service.
func TestPasskeys_WithoutScriptSaidInWords(t *testing.T) {
	e := servertest.New(t)
	api, _ := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	k := newFormClient(t, e, api)
	k.get("/profile")
	k.post("/profile/passkeys/options", url.Values{"password": {servertest.Password}}).
		want(t, "add without the script", 400, `id="passkeys-error"`, "Passkeys need JavaScript")
	anon := newFormClient(t, e, e.Client(t))
	a := anon.post("/login/passkey/options", url.Values{})
	a.want(t, "sign in without the script", 400, `id="login-error"`, "Passkeys need JavaScript")
	if a.Via != "303 /login" {
		t.Errorf("sign in without the script: via %q, want 303 /login", a.Via)
	}
}

// The add form's refusals reach the script as words and the input they
// are about: a wrong password (401, next to the password), and the CSRF
// token missing (the wrapper's 403 page, which the script reads as
// "reload"). A passkey form posted with no credential is refused in words
// on its page.
func TestPasskeys_RefusalsInWords(t *testing.T) {
	e := newPasskeyEnv(t) // passkeys need a domain name as the relying party
	api, _ := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	k := newFormClient(t, e, api)
	k.get("/profile")
	st, msg, input := k.scriptPost("/profile/passkeys/options", url.Values{"csrf": {k.csrf}, "password": {"not my password"}})
	if st != 401 || msg == "" || input != "passkey-password" {
		t.Errorf("a wrong password: %d %q %q, want 401, words and passkey-password", st, msg, input)
	}
	k.post("/profile/passkeys", url.Values{"name": {"Laptop"}}).
		want(t, "finish without a credential", 400, `id="passkeys-error"`, "sent no passkey")
	anon := newFormClient(t, e, e.Client(t))
	a := anon.post("/login/passkey", url.Values{"flow": {"no-such-flow"}, "credential": {"not json"}})
	a.want(t, "sign in with garbage", 400, `id="login-error"`, "sent no passkey")
	a = anon.post("/login/code/passkey", url.Values{"pending": {"no-such-token"}, "credential": {`{}`}})
	if a.Status < 400 && !strings.Contains(a.Body, "role=\"alert\"") && a.Status != 303 {
		t.Errorf("second factor with an unknown token: %d", a.Status)
	}
	// Another person's or no passkey: 404, the page says so.
	k.get("/profile/passkeys/999999/remove").want(t, "remove an unknown passkey", 404)
	k.get("/profile/passkeys/abc/remove").want(t, "remove a passkey that is no number", 404)
}
