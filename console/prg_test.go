package console_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster/console"
	"github.com/rosterhq/roster/server/servertest"
)

// fillPattern makes a path of a route pattern: the account, and IDs that
// name nothing (a form about a thing that is not there is refused).
func fillPattern(pattern, acct string) string {
	path := strings.SplitN(pattern, " ", 2)[1]
	r := strings.NewReplacer("{id}", acct, "{uid}", "999999", "{inv}", "999999", "{number}", "+15555550100",
		"{app}", "999999", "{wh}", "999999", "{pm}", "999999", "{dom}", "999999", "{cid}", "999999", "{token}", "no-such-token")
	path = r.Replace(path)
	if strings.HasPrefix(path, "/profile/sessions/") {
		path = strings.Replace(path, acct, "999999", 1)
	}
	return path
}

// TestPRG_EveryFormAnswersWithARedirectToAPage posts every form of the
// page tables (empty, so most are refused) and holds each answer to
// post/redirect/get: a 303 to a page (a GET route of the tables), never a
// page rendered at the form's URL, unless the request itself is refused
// before any form (a thing that does not exist: the error page). A
// refusal changes nothing (the audit log and the form states hold no
// more than one pending state), and the page it goes to shows its
// message with the refusal's status, once: a reload is the plain page.
func TestPRG_EveryFormAnswersWithARedirectToAPage(t *testing.T) {
	f := newAccessFixture(t)
	anon := newFormClient(t, f.e, f.e.Client(t))
	forms := console.FormRoutes()
	if len(forms) < 40 {
		t.Fatalf("only %d forms in the tables", len(forms))
	}
	redirected := 0
	for _, fr := range forms {
		path := fillPattern(fr.Pattern, f.acct)
		if path == "/logout" {
			continue // ends the session the other forms use; TestConsole_* log out
		}
		if path == "/sso/saml/acs" {
			continue // the identity provider's form, not ours: a refusal is a 401 page (TestSAML_*)
		}
		t.Run(path, func(t *testing.T) {
			k := f.owner
			if strings.HasPrefix(path, "/login") || strings.HasPrefix(path, "/signup") || strings.HasPrefix(path, "/forgot") ||
				strings.HasPrefix(path, "/reset-password") || strings.HasPrefix(path, "/verify") || strings.HasPrefix(path, "/invite/") {
				k = anon
			}
			if k == f.owner {
				k.get("/profile") // the CSRF token
			}
			audit := f.e.Count(t, "SELECT COUNT(*) FROM audit_events")
			form := url.Values{"csrf": {k.csrf}}
			if k == anon {
				form = url.Values{}
			}
			resp, err := k.c.HTTP.PostForm(f.e.URL+path, form)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				// Refused before any form: only a thing that is not there.
				if resp.StatusCode != 404 && resp.StatusCode != 410 {
					t.Fatalf("POST %s answered %d, want 303 to a page", path, resp.StatusCode)
				}
				return
			}
			redirected++
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil || !console.IsPage(loc.Path) {
				t.Fatalf("POST %s: 303 to %q, not a page", path, resp.Header.Get("Location"))
			}
			if loc.Path == path && !fr.HasGET {
				t.Fatalf("POST %s: redirected to itself, a form-only URL", path)
			}
			pg := k.get(loc.RequestURI())
			if pg.Status == 405 || !strings.Contains(pg.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("GET %s after the form: %d %s", loc, pg.Status, pg.Header.Get("Content-Type"))
			}
			if pg.Status >= 400 {
				// A refusal: the message is on the page, nothing changed,
				// and a reload shows the plain page.
				if !strings.Contains(pg.Body, `role="alert"`) && !strings.Contains(pg.Body, `class="field-error"`) {
					t.Errorf("GET %s after a refused form (%d): no message on the page", loc, pg.Status)
				}
				if got := f.e.Count(t, "SELECT COUNT(*) FROM audit_events"); got != audit {
					t.Errorf("a refused POST %s wrote %d audit events", path, got-audit)
				}
				if again := k.get(loc.RequestURI()); again.Status >= 400 && again.Status != 410 {
					t.Errorf("reloading %s after a refusal: %d, want the page without the message", loc, again.Status)
				}
			}
		})
	}
	if redirected < 30 {
		t.Errorf("only %d forms answered with a redirect", redirected)
	}
}

// TestPRG_NoPasswordOrCodeIsKept: a refused form's state holds what was
// typed but never a password, a code or a card number, in the database
// or on the page.
func TestPRG_NoPasswordOrCodeIsKept(t *testing.T) {
	f := newAccessFixture(t)
	anon := newFormClient(t, f.e, f.e.Client(t))
	const secret = "Very-Secret-Typed-123"
	raw := func(k *formClient, path string, form url.Values) {
		t.Helper()
		resp, err := k.c.HTTP.PostForm(f.e.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 303 {
			t.Fatalf("POST %s: %d, want 303", path, resp.StatusCode)
		}
		if n := f.e.Count(t, "SELECT COUNT(*) FROM form_states"); n == 0 {
			t.Fatalf("POST %s kept no form state", path)
		}
		if n := f.e.Count(t, "SELECT COUNT(*) FROM form_states WHERE data LIKE ?", "%"+secret+"%"); n != 0 {
			t.Errorf("POST %s kept a secret in its form state", path)
		}
	}
	raw(anon, "/signup", url.Values{"email": {"typed@gmail.com"}, "name": {"Typed Name"}, "password": {secret}})
	a := anon.get("/signup")
	a.want(t, "sign-up refused", 422, `value="typed@gmail.com"`, `value="Typed Name"`)
	if strings.Contains(a.Body, secret) {
		t.Error("the sign-up page showed the password typed")
	}
	anon.get("/signup").want(t, "sign-up reloaded", 200)

	raw(anon, "/login", url.Values{"email": {"olga@acme-corp.com"}, "password": {secret}})
	anon.get("/login").want(t, "login refused", 401, `value="olga@acme-corp.com"`, "Wrong email or password")

	f.owner.get("/profile")
	raw(f.owner, "/profile/password", url.Values{"csrf": {f.owner.csrf}, "current_password": {secret}, "new_password": {secret + "x"}})
	f.owner.get("/profile").want(t, "password change refused", 401, `id="current-password-error"`)

	f.owner.get(f.path("/billing"))
	raw(f.owner, f.path("/billing/payment-methods"), url.Values{"csrf": {f.owner.csrf}, "card_number": {"4111" + secret}, "exp_month": {"12"}, "exp_year": {"2030"}})
	a = f.owner.get(f.path("/billing"))
	a.want(t, "card refused", 400, `value="12"`)
	if strings.Contains(a.Body, secret) {
		t.Error("the billing page showed the card number typed")
	}
}

// TestPRG_UnknownPagesAndWrongMethods: the console answers its own 404
// and 405 pages (Allow on the 405), and /v1/ the JSON error envelope,
// instead of Go's plain text; what routes still answers as before.
func TestPRG_UnknownPagesAndWrongMethods(t *testing.T) {
	e := servertest.New(t)
	c := e.Client(t)
	c.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	do := func(method, path string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, e.URL+path, nil)
		resp, err := c.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for _, tc := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/no-such-page", 404, "not_found", ""},
		{"GET", "/accounts/MA000/no-such-page", 404, "not_found", ""},
		{"GET", "/profile/mfa/setup", 405, "method_not_allowed", "POST"},
		{"GET", "/accounts/MA000/team/invite-batch", 405, "method_not_allowed", "POST"},
		{"DELETE", "/login", 405, "method_not_allowed", "GET, HEAD, POST"},
	} {
		resp, body := do(tc.method, tc.path)
		if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(body, `id="route-error" data-code="`+tc.code+`"`) || !strings.Contains(body, `id="home-link"`) ||
			!strings.Contains(body, `<link rel="stylesheet"`) {
			t.Errorf("%s %s: %d %s\n%s", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if got := resp.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/v1/no-such-route", 404, "not_found"},
		{"GET", "/v1", 404, "not_found"},
		{"GET", "/v1/login", 405, "method_not_allowed"},
		{"PATCH", "/v1/me", 405, "method_not_allowed"},
	} {
		resp, body := do(tc.method, tc.path)
		var env struct {
			Error struct{ Code, Message string }
		}
		if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
			json.Unmarshal([]byte(body), &env) != nil || env.Error.Code != tc.code || env.Error.Message == "" {
			t.Errorf("%s %s: %d %s %s", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if tc.status == 405 && resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: no Allow header", tc.method, tc.path)
		}
	}
	// What routes is untouched: the health check, the static files, a page.
	if resp, body := do("GET", "/healthz"); resp.StatusCode != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz: %d %q", resp.StatusCode, body)
	}
	if resp, _ := do("GET", "/static/app.js"); resp.StatusCode != 200 {
		t.Errorf("/static/app.js: %d", resp.StatusCode)
	}
	if resp, _ := do("GET", "/static/"); resp.StatusCode != 404 {
		t.Errorf("/static/: %d, want 404 (no listing)", resp.StatusCode)
	}
	if resp, _ := do("GET", "/login"); resp.StatusCode != 200 {
		t.Errorf("/login: %d", resp.StatusCode)
	}
}

// TestPRG_TwoFactorSetUpKeepsItsKeyUntilCancelled: the set-up's key is
// the same on every visit of the session that started it, another
// session never sees it, and Cancel forgets it.
func TestPRG_TwoFactorSetUpKeepsItsKeyUntilCancelled(t *testing.T) {
	e := servertest.New(t)
	api, _ := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	k := newFormClient(t, e, api)
	k.get("/profile")
	a := k.post("/profile/mfa/setup", url.Values{"password": {servertest.Password}})
	key := secretRE.FindStringSubmatch(a.Body)
	if a.Via == "" || key == nil {
		t.Fatalf("set-up: %s, no key on the page", a.Via)
	}
	for range 2 {
		if again := secretRE.FindStringSubmatch(k.get("/profile").Body); again == nil || again[1] != key[1] {
			t.Fatalf("the key changed on a visit: %v", again)
		}
	}
	other := e.Client(t)
	other.Must(200, "POST", "/v1/login", map[string]string{"email": "olga@acme-corp.com", "password": servertest.Password})
	if o := newFormClient(t, e, other).get("/profile"); strings.Contains(o.Body, key[1]) || !strings.Contains(o.Body, `id="setup-form"`) {
		t.Error("another session was shown the key being set up")
	}
	k.post("/profile/mfa/cancel", url.Values{}).want(t, "cancel", 303)
	if p := k.get("/profile"); strings.Contains(p.Body, key[1]) || !strings.Contains(p.Body, `id="setup-form"`) {
		t.Error("the key was shown after Cancel")
	}
	if n := e.Count(t, "SELECT COUNT(*) FROM users WHERE totp_secret IS NOT NULL"); n != 0 {
		t.Errorf("%d pending keys after Cancel", n)
	}
}
