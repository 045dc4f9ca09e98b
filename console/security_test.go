package console_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/rosterhq/roster/mail/mailtest"
	"github.com/rosterhq/roster/server/servertest"
)

// answer is one answer of the console over plain HTTP (no redirect followed).
type answer struct {
	Status int
	Header http.Header
	Body   string
	// Via is the form's own answer when it carried a one-time form state
	// (a refusal, an outcome) and was followed to its page, as a browser
	// does: "303 /accounts/.../team"; "" otherwise.
	Via string
}

// formClient is a person using the console without a browser: their cookies
// and the CSRF token of the last page that had one.
type formClient struct {
	t    *testing.T
	e    *servertest.Env
	c    *servertest.Client
	csrf string
}

func newFormClient(t *testing.T, e *servertest.Env, c *servertest.Client) *formClient {
	c.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &formClient{t: t, e: e, c: c}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (k *formClient) keep(resp *http.Response, err error) answer {
	k.t.Helper()
	if err != nil {
		k.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindStringSubmatch(string(b)); m != nil {
		k.csrf = m[1]
	}
	if resp.StatusCode == http.StatusSeeOther && (keptState(resp) || samePage(resp)) {
		// Post/redirect/get: the page the form sent the browser to shows
		// what it said.
		via := "303 " + resp.Header.Get("Location")
		loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			k.t.Fatalf("a form's redirect: %v", err)
		}
		loc.Fragment = ""
		a := k.keep(k.c.HTTP.Get(loc.String()))
		a.Via = via
		return a
	}
	return answer{resp.StatusCode, resp.Header, string(b), ""}
}

// samePage reports whether a form's answer sends the browser to the
// form's own URL as a page (GET) with what was chosen, as the role
// preview does (?role=).
func samePage(resp *http.Response) bool {
	loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
	return err == nil && resp.Request.Method == http.MethodPost && loc.Path == resp.Request.URL.Path && loc.RawQuery != ""
}

// keptState reports whether a form's answer kept a one-time form state
// for its page (it set the form-state cookie).
func keptState(resp *http.Response) bool {
	for _, c := range resp.Cookies() {
		if c.Name == "roster_form" && c.Value != "" {
			return true
		}
	}
	return false
}

func (k *formClient) get(path string) answer {
	k.t.Helper()
	return k.keep(k.c.HTTP.Get(k.e.URL + path))
}

// post sends a form with the CSRF token of the last page (none when
// form has "csrf" set to "").
func (k *formClient) post(path string, form url.Values) answer {
	k.t.Helper()
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", k.csrf)
	}
	return k.keep(k.c.HTTP.PostForm(k.e.URL+path, form))
}

// want fails unless the answer has the status and every piece of text.
func (a answer) want(t *testing.T, what string, status int, texts ...string) {
	t.Helper()
	if a.Status != status {
		t.Errorf("%s: status %d, want %d", what, a.Status, status)
	}
	for _, s := range texts {
		if !strings.Contains(a.Body, s) {
			t.Errorf("%s: the page lacks %q", what, s)
		}
	}
}

// canLogIn reports whether the address logs in with the password (over
// the API, from a fresh client).
func canLogIn(t *testing.T, e *servertest.Env, email, password string) bool {
	return e.Client(t).Do("POST", "/v1/login", map[string]string{"email": email, "password": password}).Status == 200
}

// serverClock is the server's clock, run ahead of the real one when the
// test says: past the one-mail-a-minute limit after the sign-up mail, or
// to the next 30-second step of two-factor codes, without waiting.
type serverClock struct{ off atomic.Int64 }

func newServerClock(e *servertest.Env) *serverClock {
	c := &serverClock{}
	e.Server.DB.Now = func() time.Time { return time.Now().Add(time.Duration(c.off.Load())) }
	return c
}

func (c *serverClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *serverClock) advance(d time.Duration) { c.off.Add(int64(d)) }

var secretRE = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)

// Every security form refuses what it must, says why next to the field
// (status, message, aria), and changes nothing.
func TestConsole_SecurityFormsRefuse(t *testing.T) {
	e := servertest.New(t)
	clk := newServerClock(e)
	api, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	dev, _ := e.Join(t, api, acct, "dev@acme-corp.com", "developer")
	k := newFormClient(t, e, api)
	const email = "olga@acme-corp.com"

	// The login page leads to the reset; the profile page is linked from every page.
	k.get("/login").want(t, "login page", 200, `href="/forgot-password"`, "Forgot password?")
	p := k.get("/profile")
	p.want(t, "profile", 200, "<h1>Profile &amp; security</h1>", `id="mfa-state">Off`, `data-current`, "This session")
	if strings.Count(p.Body, "<h1") != 1 {
		t.Error("the profile page has more than one h1")
	}
	k.get("/accounts").want(t, "any page", 200, `href="/profile"`)
	if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data:") {
		t.Errorf("CSP %q does not allow the QR code", csp)
	}

	// Logged out, the profile sends you to log in.
	anon := newFormClient(t, e, e.Client(t))
	if a := anon.get("/profile"); a.Status != 303 || a.Header.Get("Location") != "/login?next=/profile" {
		t.Errorf("logged out /profile: %d %s", a.Status, a.Header.Get("Location"))
	}

	// Change password: no CSRF token, wrong current password, weak new one.
	k.get("/profile")
	k.post("/profile/password", url.Values{"csrf": {""}, "current_password": {servertest.Password}, "new_password": {"another long password"}}).
		want(t, "password change without CSRF", 403, "This form expired")
	a := k.post("/profile/password", url.Values{"current_password": {"not my password"}, "new_password": {"another long password"}})
	a.want(t, "wrong current password", 401, `id="current-password-error" role="alert">Wrong password`,
		`aria-invalid="true" aria-describedby="current-password-error"`)
	if strings.Contains(a.Body, "not my password") || strings.Contains(a.Body, "another long password") {
		t.Error("a refused password form showed a password it was sent")
	}
	k.post("/profile/password", url.Values{"current_password": {servertest.Password}, "new_password": {"short"}}).
		want(t, "weak new password", 400, `id="new-password-error" role="alert">Password must be at least 10 characters`,
			`aria-describedby="new-password-error"`)
	if !canLogIn(t, e, email, servertest.Password) || canLogIn(t, e, email, "another long password") {
		t.Error("a refused password change changed the password")
	}

	// Two-factor: nothing to turn off or renew while it is off.
	k.get("/profile")
	k.post("/profile/mfa/disable", url.Values{"password": {servertest.Password}}).
		want(t, "turn off while off", 409, `id="mfa-error"`, "off already")
	k.post("/profile/mfa/recovery-codes", url.Values{"password": {servertest.Password}}).
		want(t, "recovery codes while off", 409, `id="mfa-error"`, "Turn on two-factor sign-in first")
	k.post("/profile/mfa/confirm", url.Values{"otp": {"123456"}, "password": {servertest.Password}}).
		want(t, "confirm before set-up", 409, `id="mfa-error"`, "Set up an authenticator first")

	// Set-up needs the password: none, or a wrong one, shows no key.
	a = k.post("/profile/mfa/setup", url.Values{})
	a.want(t, "set up without a password", 401, `id="setup-password-error" role="alert">Enter your current password`,
		`aria-describedby="setup-password-error"`)
	if strings.Contains(a.Body, `id="totp-secret"`) {
		t.Error("a set-up without the password showed a key")
	}
	a = k.post("/profile/mfa/setup", url.Values{"password": {"not my password"}})
	a.want(t, "set up with a wrong password", 401, `id="setup-password-error" role="alert">Wrong password`)
	if strings.Contains(a.Body, `id="totp-secret"`) || strings.Contains(a.Body, "not my password") {
		t.Error("a set-up with a wrong password showed a key or the password")
	}
	k.post("/profile/mfa/confirm", url.Values{"otp": {"123456"}, "password": {servertest.Password}}).
		want(t, "confirm after refused set-ups", 409, "Set up an authenticator first")

	// Set-up shows a QR code made here and the key; a wrong code keeps the same key on the page.
	a = k.post("/profile/mfa/setup", url.Values{"password": {servertest.Password}})
	a.want(t, "set up", 200, `src="data:image/png;base64,`, `id="totp-secret"`, `id="totp-code"`, `id="confirm-password"`)
	secret := secretRE.FindStringSubmatch(a.Body)
	if secret == nil {
		t.Fatalf("no key on the set-up page:\n%s", a.Body)
	}
	wrong := "000000"
	if now, _ := totp.GenerateCode(secret[1], clk.Now()); now == wrong {
		wrong = "111111"
	}
	otpauth := formValue(a.Body, "otpauth")
	a = k.post("/profile/mfa/confirm", url.Values{"otp": {wrong}, "otpauth": {otpauth}, "password": {servertest.Password}})
	a.want(t, "wrong code", 401, `id="totp-code-error" role="alert">Wrong two-factor code`, `aria-describedby="totp-code-error"`,
		`id="totp-secret">`+secret[1]+`<`)
	right, _ := totp.GenerateCode(secret[1], clk.Now())
	a = k.post("/profile/mfa/confirm", url.Values{"otp": {right}, "otpauth": {otpauth}, "password": {"not my password"}})
	a.want(t, "confirm with a wrong password", 401, `id="confirm-password-error" role="alert">Wrong password`,
		`aria-describedby="confirm-password-error"`, `id="totp-secret">`+secret[1]+`<`)
	k.post("/profile/mfa/confirm", url.Values{"otp": {right}, "otpauth": {otpauth}}).
		want(t, "confirm without a password", 401, `id="confirm-password-error" role="alert">Enter your current password`)
	// A key sent by a form is never shown: the page shows the pending
	// key kept by the server (issue 21), the same as before.
	a = k.post("/profile/mfa/confirm", url.Values{"otp": {wrong}, "password": {servertest.Password},
		"otpauth": {"otpauth://totp/Roster:eve@evil.example?secret=JBSWY3DPEHPK3PXP&issuer=Roster"}})
	a.want(t, "foreign key", 401, `id="totp-code-error"`, "Wrong two-factor code", `id="totp-secret">`+secret[1]+`<`)
	if strings.Contains(a.Body, "JBSWY3DPEHPK3PXP") {
		t.Error("the page showed a key sent by the form")
	}
	if api.Must(200, "GET", "/v1/me", nil).JSON["mfa_enabled"] != false {
		t.Error("a wrong code turned two-factor on")
	}

	// Sessions: ending one that is not yours, or none, changes nothing.
	before := api.Must(200, "GET", "/v1/me/sessions", nil).Total()
	k.get("/profile")
	k.post("/profile/sessions/999999/end", url.Values{}).want(t, "end no such session", 404, `id="sessions-error"`, "No such session")
	devSessions := dev.Must(200, "GET", "/v1/me/sessions", nil).Objects()
	devID := int64(devSessions[0]["id"].(float64))
	k.post("/profile/sessions/"+itoa(devID)+"/end", url.Values{}).want(t, "end another user's session", 404, "No such session")
	k.post("/profile/sessions/end-others", url.Values{"csrf": {""}}).want(t, "end others without CSRF", 403)
	if after := api.Must(200, "GET", "/v1/me/sessions", nil).Total(); after != before {
		t.Errorf("refused session forms ended sessions: %d -> %d", before, after)
	}
	dev.Must(200, "GET", "/v1/me", nil)

	// Account settings: the requirement needs the admin's own two-factor
	// (409 next to the checkbox), and team.edit (403).
	k.get("/accounts/"+acct+"/settings").want(t, "settings", 200, `id="require-mfa"`, `id="members-without-mfa"`,
		"dev@acme-corp.com", "olga@acme-corp.com", "Not required")
	a = k.post("/accounts/"+acct+"/settings/security", url.Values{"require_mfa": {"on"}})
	a.want(t, "require without own two-factor", 409, `id="require-mfa-error" role="alert">Turn on two-factor sign-in for yourself first`,
		`aria-invalid="true"`, `value="on" checked`, `value="Olga Owner&#39;s account"`, `href="/profile#mfa"`)
	if api.Must(200, "GET", "/v1/accounts/"+acct, nil).JSON["require_mfa"] != false {
		t.Error("the refused form required two-factor sign-in")
	}
	kd := newFormClient(t, e, dev)
	kd.get("/accounts/"+acct+"/settings").want(t, "developer's settings", 200, `id="require-mfa-state"`)
	if strings.Contains(kd.get("/accounts/"+acct+"/settings").Body, `id="security-form"`) {
		t.Error("a developer sees the two-factor requirement form")
	}
	kd.post("/accounts/"+acct+"/settings/security", url.Values{"require_mfa": {"on"}}).want(t, "developer requires", 403, "team.edit")

	// Password reset: an empty address; the same answer for a stranger and a user.
	k.post("/forgot-password", url.Values{"email": {""}}).want(t, "forgot, empty", 400, `id="email-error"`, `aria-invalid="true"`)
	clk.advance(2 * time.Minute) // past the one-mail-a-minute limit of the sign-up mail
	n := servertest.MailCount(e.Mail, email)
	stranger := k.post("/forgot-password", url.Values{"email": {"nobody@acme-corp.com"}})
	known := k.post("/forgot-password", url.Values{"email": {email}})
	stranger.want(t, "forgot, stranger", 200, "Check your inbox")
	if strings.ReplaceAll(stranger.Body, "nobody@acme-corp.com", email) != known.Body {
		t.Error("the reset answers a stranger and a user differently")
	}
	m := e.Mail.WaitFor(t, email, n+1, 10*time.Second)
	token := strings.TrimPrefix(mailtest.Link(t, m.Text, e.URL+"/reset-password/"), e.URL+"/reset-password/")
	if servertest.MailCount(e.Mail, "nobody@acme-corp.com") != 0 {
		t.Error("a stranger's address got mail")
	}

	// A bad link says so at once; a weak password keeps the link usable.
	k.get("/reset-password/not-a-token").want(t, "bad reset link", 410, `id="reset-invalid"`, "invalid, used or expired", `href="/forgot-password"`)
	k.post("/reset-password/not-a-token", url.Values{"password": {"another long password"}}).want(t, "bad reset link, posted", 410, "invalid, used or expired")
	k.get("/reset-password/"+token).want(t, "reset link", 200, `id="reset-form"`)
	k.post("/reset-password/"+token, url.Values{"password": {"short"}}).
		want(t, "weak reset password", 400, `id="password-error" role="alert">Password must be at least 10 characters`, `aria-invalid="true"`)
	k.get("/reset-password/"+token).want(t, "reset link after a refusal", 200, `id="reset-form"`)
	if !canLogIn(t, e, email, servertest.Password) {
		t.Error("a refused reset changed the password")
	}
	api.Must(200, "GET", "/v1/me", nil) // and signed no one out
}

// The successes over plain HTTP: two-factor on (10 codes, once, with a
// download link), then required by the account; sessions ended; a reset
// that signs everyone out and says so on the login page.
func TestConsole_SecurityFormsSucceed(t *testing.T) {
	e := servertest.New(t)
	clk := newServerClock(e)
	api, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	dev, _ := e.Join(t, api, acct, "dev@acme-corp.com", "developer")
	other := e.Client(t)
	other.Must(200, "POST", "/v1/login", map[string]string{"email": "olga@acme-corp.com", "password": servertest.Password})
	third := e.Client(t)
	third.Must(200, "POST", "/v1/login", map[string]string{"email": "olga@acme-corp.com", "password": servertest.Password})
	k := newFormClient(t, e, api)

	k.get("/profile")
	a := k.post("/profile/mfa/setup", url.Values{"password": {servertest.Password}})
	secret := secretRE.FindStringSubmatch(a.Body)[1]
	code, step := freshCode(t, clk, secret, 0)
	a = k.post("/profile/mfa/confirm", url.Values{"otp": {code}, "otpauth": {formValue(a.Body, "otpauth")}, "password": {servertest.Password}})
	a.want(t, "confirm", 200, "shown only now", `download="roster-recovery-codes.txt"`, `href="data:text/plain;charset=utf-8,`, `id="mfa-state">On`,
		"Every other session was signed out.")
	if n := strings.Count(a.Body, "<li><code>"); n != 10 {
		t.Errorf("%d recovery codes shown, want 10", n)
	}
	if strings.Contains(k.get("/profile").Body, "shown only now") {
		t.Error("the recovery codes showed again")
	}
	// Turning two-factor on signed the other sessions out; sign in again
	// from two more places, with codes.
	other.Refused(401, "unauthenticated", "GET", "/v1/me", nil)
	third.Refused(401, "unauthenticated", "GET", "/v1/me", nil)
	for _, c := range []*servertest.Client{other, third} {
		code, step = freshCode(t, clk, secret, step)
		c.Must(200, "POST", "/v1/login", map[string]string{"email": "olga@acme-corp.com", "password": servertest.Password, "otp": code})
	}

	k.get("/accounts/" + acct + "/settings")
	if a := k.post("/accounts/"+acct+"/settings/security", url.Values{"require_mfa": {"on"}}); a.Status != 303 {
		t.Fatalf("require two-factor: %d", a.Status)
	}
	k.get("/accounts/"+acct+"/settings").want(t, "settings after", 200, "now required for every member", `value="on" checked`)
	if api.Must(200, "GET", "/v1/accounts/"+acct, nil).JSON["require_mfa"] != true {
		t.Error("the account does not require two-factor sign-in")
	}
	if strings.Contains(k.get("/accounts/"+acct+"/settings").Body, `data-member="olga@acme-corp.com"`) {
		t.Error("the owner is listed without two-factor")
	}
	kd := newFormClient(t, e, dev)
	kd.get("/accounts/"+acct+"/numbers").want(t, "developer without two-factor", 403, `href="/profile#mfa"`)
	kd.get("/accounts/"+acct).want(t, "developer's overview", 200, `id="mfa-required"`)

	// Sign out one session by its row, then everywhere else: the others
	// end, this one stays.
	var thirdID int64
	for _, s := range third.Must(200, "GET", "/v1/me/sessions", nil).Objects() {
		if s["current"] == true {
			thirdID = int64(s["id"].(float64))
		}
	}
	k.get("/profile").want(t, "three sessions", 200, `data-end-session="`+itoa(thirdID)+`"`, `id="end-others"`)
	if a := k.post("/profile/sessions/"+itoa(thirdID)+"/end", url.Values{}); a.Status != 303 || a.Header.Get("Location") != "/profile" {
		t.Fatalf("end a session: %d %s", a.Status, a.Header.Get("Location"))
	}
	third.Refused(401, "unauthenticated", "GET", "/v1/me", nil)
	other.Must(200, "GET", "/v1/me", nil)
	k.get("/profile").want(t, "after ending one", 200, "The session of Go client from 127.0.0.1 is signed out.")
	if a := k.post("/profile/sessions/end-others", url.Values{}); a.Status != 303 {
		t.Fatalf("end others: %d", a.Status)
	}
	other.Refused(401, "unauthenticated", "GET", "/v1/me", nil)
	k.get("/profile").want(t, "after end others", 200, "Signed out 1 other session: only this one is left.", `id="sessions-only"`)

	// Reset: the link signs every session out and the login page says so.
	anon := newFormClient(t, e, e.Client(t))
	clk.advance(2 * time.Minute) // past the one-mail-a-minute limit
	n := servertest.MailCount(e.Mail, "olga@acme-corp.com")
	anon.post("/forgot-password", url.Values{"email": {"olga@acme-corp.com"}})
	m := e.Mail.WaitFor(t, "olga@acme-corp.com", n+1, 10*time.Second)
	link := strings.TrimPrefix(mailtest.Link(t, m.Text, e.URL+"/reset-password/"), e.URL)
	if a := anon.post(link, url.Values{"password": {"a brand new passphrase"}}); a.Status != 303 || a.Header.Get("Location") != "/login" {
		t.Fatalf("reset: %d %s", a.Status, a.Header.Get("Location"))
	}
	anon.get("/login").want(t, "login after reset", 200, "every session was signed out")
	api.Refused(401, "unauthenticated", "GET", "/v1/me", nil)
	anon.get(link).want(t, "used reset link", 410, "invalid, used or expired")
}

func formValue(body, name string) string {
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#39;", "'", "&#34;", `"`).Replace(m[1])
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// freshCode returns the authenticator's code at the server's time, in a
// 30-second step after the last one used (a code is accepted once per
// step): when the step has not changed yet, the server's clock moves on
// to the next one rather than the test waiting for it.
func freshCode(t *testing.T, clk *serverClock, secret string, lastStep int64) (string, int64) {
	t.Helper()
	if step := clk.Now().Unix() / 30; step <= lastStep {
		clk.advance(time.Duration(lastStep+1-step) * 30 * time.Second)
	}
	now := clk.Now()
	code, err := totp.GenerateCode(secret, now)
	if err != nil {
		t.Fatal(err)
	}
	return code, now.Unix() / 30
}

// TestConsole_TwoFactorAndResetInChromium: a person signs up from the
// mailed link, sets up two-factor sign-in on Profile & security from the
// key on the page, gets 10 recovery codes once, logs out and back in with
// a fresh code on the second step, requires two-factor in their account,
// then resets a forgotten password from the mailed link and logs in with
// the new one and a code.
func TestConsole_TwoFactorAndResetInChromium(t *testing.T) {
	browser := newBrowser(t)
	e := servertest.New(t)
	clk := newServerClock(e)
	const email = "olga@acme-corp.com"
	b := newTab(t, browser, e.URL, "olga")

	// Sign up, verify from the mail, log in.
	b.open("/signup")
	b.fill("#name", "Olga Owner")
	b.fill("#email", email)
	b.fill("#password", servertest.Password)
	b.submit("button[type=submit]")
	m := e.Mail.WaitFor(t, email, 1, 10*time.Second)
	b.open(strings.TrimPrefix(mailtest.Link(t, m.Text, e.URL+"/verify/"), e.URL))
	b.submit("button.primary")
	b.fill("#email", email)
	b.fill("#password", servertest.Password)
	b.submit("button.primary")
	acct := strings.TrimPrefix(b.path(), "/accounts/")
	if len(acct) != 20 {
		t.Fatalf("not logged in: %s", b.location())
	}

	// Profile & security, from the header.
	if st := b.submit("#profile-link"); st != 200 || b.path() != "/profile" {
		t.Fatalf("Profile & security: %d %s", st, b.location())
	}
	if got := b.text("h1"); got != "Profile & security" {
		t.Errorf("h1 %q", got)
	}
	if got := b.text("#mfa-state"); got != "Off" {
		t.Errorf("two-factor state %q, want Off", got)
	}
	var thisSession bool
	b.eval(`document.querySelectorAll('#sessions-table tbody tr').length === 1 && !!document.querySelector('tr[data-current]')`, &thisSession)
	if !thisSession {
		t.Error("the sessions table does not show this session alone")
	}
	b.screenshot("20-profile")

	// Set up, with the password: the QR code (a PNG the CSP lets in) and
	// the key; confirm with the password and a code.
	b.fill("#setup-password", servertest.Password)
	b.submit("#setup-form button")
	var qr bool
	b.eval(`(() => { const i = document.querySelector('#totp-qr'); return i.complete && i.naturalWidth === 200 && i.src.startsWith('data:image/png;base64,') })()`, &qr)
	if !qr {
		t.Error("the QR code did not load")
	}
	secret := b.text("#totp-secret")
	b.screenshot("21-mfa-setup")
	// The pages of the two-factor states the walk does not reach (set-up,
	// on, a refused form) hold to the same checks: no sideways scrolling,
	// one h1, no axe violation.
	axe, _ := axeSource(t)
	checkBoth := func(what, shot string) {
		t.Helper()
		for _, v := range []viewport{desktop, phone} {
			b.viewport(v)
			b.checkPage(axe, v, what, shot)
		}
		b.viewport(desktop)
	}
	checkBoth("profile, setting up two-factor", "mfa-setup")
	code, step := freshCode(t, clk, secret, 0)
	b.fill("#confirm-password", servertest.Password)
	b.fill("#totp-code", code)
	b.submit("#confirm-form button.primary")
	var codes []string
	b.eval(`[...document.querySelectorAll('#codes-list li')].map(l => l.textContent.trim())`, &codes)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown, want 10: %s", len(codes), b.text("main"))
	}
	if !strings.Contains(b.text("#recovery-codes"), "shown only now") {
		t.Error("the page does not say the codes are shown only now")
	}
	var download bool
	b.eval(`(() => { const a = document.querySelector('#download-codes'); return a.getAttribute('download') === 'roster-recovery-codes.txt' &&
		decodeURIComponent(a.href.slice('data:text/plain;charset=utf-8,'.length)).includes(`+"`"+codes[9]+"`"+`) })()`, &download)
	if !download {
		t.Error("the download link does not hold the codes")
	}
	if got := b.text("#mfa-state"); got != "On" {
		t.Errorf("two-factor state %q, want On", got)
	}
	b.screenshot("22-recovery-codes")
	b.open("/profile")
	if strings.Contains(b.text("main"), codes[0]) {
		t.Error("the recovery codes showed again")
	}
	checkBoth("profile, two-factor on", "mfa-on")
	// Turning it off with a wrong recovery code: refused, said next to it.
	b.fill("#disable-password", servertest.Password)
	b.run("open the recovery code", chromedp.Click(chromedp.CSS("#disable-form summary")))
	b.fill("#disable-recovery-code", "aaaaa-bbbbb-ccccc-ddddd-eeeeee")
	b.submit("#disable-form button.danger")
	if got := b.text("#disable-recovery-code-error"); !strings.Contains(got, "Wrong or used recovery code") {
		t.Errorf("turning off with a wrong recovery code: %q", got)
	}
	if got := b.text("#mfa-state"); got != "On" {
		t.Errorf("two-factor state %q after a refused turn-off, want On", got)
	}
	checkBoth("profile, a refused turn-off", "mfa-refused-off")

	// Log out, log in: the second step takes a fresh code.
	b.submit("form[action='/logout'] button")
	b.fill("#email", email)
	b.fill("#password", servertest.Password)
	b.submit("button.primary")
	if got := b.text("h1"); got != "Two-factor sign-in" {
		t.Fatalf("after the password: %q", b.text("main"))
	}
	b.screenshot("23-login-code")
	code, step = freshCode(t, clk, secret, step)
	b.fill("#otp", code)
	b.submit("#code-form button.primary")
	if b.path() != "/accounts/"+acct {
		t.Fatalf("after the code: %s %s", b.location(), b.text("main"))
	}

	// The account requires two-factor sign-in now that its owner has it.
	b.open("/accounts/" + acct + "/settings")
	b.run("check", chromedp.Click(chromedp.CSS("#require-mfa")))
	b.submit("#security-form button.primary")
	if !strings.Contains(b.text(".notice"), "now required") || !strings.Contains(b.text("#require-mfa-state"), "Required") {
		t.Errorf("requiring two-factor: %s", b.text("main"))
	}
	b.screenshot("24-settings-require-mfa")

	// Forgot password? The mailed link sets a new one and signs everyone out.
	b.submit("form[action='/logout'] button")
	b.submit("#forgot-link")
	clk.advance(2 * time.Minute) // past the one-mail-a-minute limit of the last mail
	n := servertest.MailCount(e.Mail, email)
	b.fill("#email", email)
	b.submit("#forgot-form button.primary")
	if !strings.Contains(b.text("main"), "Check your inbox") {
		t.Fatalf("after asking for a reset: %s", b.text("main"))
	}
	m = e.Mail.WaitFor(t, email, n+1, 10*time.Second)
	b.open(strings.TrimPrefix(mailtest.Link(t, m.Text, e.URL+"/reset-password/"), e.URL))
	const newPassword = "a brand new passphrase"
	b.fill("#password", newPassword)
	b.screenshot("25-reset-password")
	b.submit("#reset-form button.primary")
	if b.path() != "/login" || !strings.Contains(b.text(".notice"), "every session was signed out") {
		t.Fatalf("after the reset: %s %s", b.location(), b.text("main"))
	}
	b.screenshot("26-login-after-reset")
	b.fill("#email", email)
	b.fill("#password", newPassword)
	b.submit("button.primary")
	code, _ = freshCode(t, clk, secret, step)
	b.fill("#otp", code)
	b.submit("#code-form button.primary")
	if b.path() != "/accounts/"+acct {
		t.Fatalf("logging in with the new password: %s %s", b.location(), b.text("main"))
	}
	b.open("/profile")
	b.screenshot("27-profile-after-reset")
}
