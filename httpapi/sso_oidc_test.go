package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

// ssoEnv is a server that may reach providers on 127.0.0.1, an in-process
// OpenID provider registered for its callback, and an owner of an
// account on acme-corp.com, the domain verified.
type ssoEnv struct {
	e     *servertest.Env
	op    *servertest.OIDCProvider
	owner *servertest.Client
	acct  string
}

func newSSOEnv(t *testing.T) *ssoEnv {
	t.Helper()
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) {
		c.SSOAllowPrivate, c.WebhookAllowPrivate = true, true
	}})
	op := servertest.NewOIDCProvider(t, e.URL+"/sso/oidc/callback")
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.VerifyDomainForTest(t, acct, "acme-corp.com")
	return &ssoEnv{e: e, op: op, owner: owner, acct: acct}
}

func (s *ssoEnv) conns() string { return "/v1/accounts/" + s.acct + "/sso-connections" }

// connect adds an OIDC connection to the provider and returns its ID.
func (s *ssoEnv) connect(t *testing.T, defaultRole string) string {
	t.Helper()
	r := s.owner.Must(201, "POST", s.conns(), map[string]any{"type": "oidc", "name": "Test IdP", "issuer": s.op.Issuer,
		"client_id": s.op.ClientID, "client_secret": s.op.ClientSecret, "default_role": defaultRole})
	return fmt.Sprint(r.JSON["id"])
}

// browser is a plain http.Client with a cookie jar that follows every
// redirect, as a browser does.
func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

// signIn walks /sso/start → provider → callback in b and returns the last
// answer's status, final path and body.
func signIn(t *testing.T, e *servertest.Env, b *http.Client, email string) (int, string, string) {
	t.Helper()
	resp, err := b.Get(e.URL + "/sso/start?email=" + url.QueryEscape(email))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Request.URL.Path, string(body)
}

// me answers GET /v1/me with the browser's cookies.
func me(t *testing.T, e *servertest.Env, b *http.Client) (int, string) {
	t.Helper()
	resp, err := b.Get(e.URL + "/v1/me")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestSSOConnections_OIDCCrud(t *testing.T) {
	t.Parallel()
	s := newSSOEnv(t)
	created := s.owner.Must(201, "POST", s.conns(), map[string]any{"type": "oidc", "name": "Okta", "issuer": s.op.Issuer,
		"client_id": s.op.ClientID, "client_secret": s.op.ClientSecret, "default_role": "developer"})
	for k, want := range map[string]any{"type": "oidc", "name": "Okta", "issuer": s.op.Issuer, "client_id": s.op.ClientID,
		"redirect_uri": s.e.URL + "/sso/oidc/callback", "enabled": true, "default_role": "developer", "counts_as_mfa": false} {
		if got := created.JSON[k]; got != want {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	id := fmt.Sprint(created.JSON["id"])
	path := s.conns() + "/" + id
	got := s.owner.Must(200, "GET", path, nil)
	list := s.owner.Must(200, "GET", s.conns(), nil)
	if n := len(list.Objects()); n != 1 {
		t.Errorf("list has %d connections, want 1", n)
	}
	patched := s.owner.Must(200, "PATCH", path, map[string]any{"name": "Okta (prod)", "default_role": "none", "counts_as_mfa": true,
		"client_secret": "a-new-secret-value"})
	if patched.JSON["name"] != "Okta (prod)" || patched.JSON["default_role"] != nil || patched.JSON["counts_as_mfa"] != true {
		t.Errorf("patched: %v", patched.JSON)
	}
	for _, r := range []servertest.Response{created, got, list, patched} {
		if strings.Contains(string(r.Body), s.op.ClientSecret) || strings.Contains(string(r.Body), "a-new-secret-value") || strings.Contains(string(r.Body), "client_secret") {
			t.Errorf("an answer shows the client secret: %s", r.Body)
		}
	}
	audit := s.owner.Must(200, "GET", "/v1/accounts/"+s.acct+"/audit?action=sso_connection.update", nil)
	if len(audit.Objects()) != 1 {
		t.Errorf("sso_connection.update audited %d times, want 1", len(audit.Objects()))
	}
	s.owner.Must(204, "DELETE", path, nil)
	s.owner.Refused(404, "not_found", "GET", path, nil)
	audit = s.owner.Must(200, "GET", "/v1/accounts/"+s.acct+"/audit?action=sso_connection.delete", nil)
	if len(audit.Objects()) != 1 {
		t.Errorf("sso_connection.delete audited %d times, want 1", len(audit.Objects()))
	}
}

func TestSSOConnections_Refusals(t *testing.T) {
	t.Parallel()
	s := newSSOEnv(t)
	good := func(over map[string]any) map[string]any {
		m := map[string]any{"type": "oidc", "name": "IdP", "issuer": s.op.Issuer, "client_id": s.op.ClientID, "client_secret": s.op.ClientSecret}
		for k, v := range over {
			m[k] = v
		}
		return m
	}
	none := func() {
		t.Helper()
		if n := s.e.Count(t, `SELECT COUNT(*) FROM sso_connections`); n != 0 {
			t.Fatalf("%d connections after a refusal", n)
		}
	}
	// No verified domain: another account.
	other, otherAcct := s.e.SignUp(t, "owner@beta-corp.com", "Beta")
	other.Refused(409, "domain_unverified", "POST", "/v1/accounts/"+otherAcct+"/sso-connections", good(nil))
	none()
	// An issuer that does not answer, or answers no discovery document.
	s.owner.Refused(422, "sso_invalid", "POST", s.conns(), good(map[string]any{"issuer": "http://127.0.0.1:1"}))
	bad := httptest.NewServer(http.NotFoundHandler())
	defer bad.Close()
	r := s.owner.Refused(422, "sso_invalid", "POST", s.conns(), good(map[string]any{"issuer": bad.URL}))
	if !strings.Contains(r.JSON["error"].(map[string]any)["message"].(string), "discovery") {
		t.Errorf("the refusal does not say why: %s", r.Body)
	}
	// The owner role is never given by single sign-on; unknown roles, types, missing fields.
	s.owner.Refused(400, "invalid_request", "POST", s.conns(), good(map[string]any{"default_role": "owner"}))
	s.owner.Refused(400, "invalid_request", "POST", s.conns(), good(map[string]any{"default_role": "boss"}))
	s.owner.Refused(400, "invalid_request", "POST", s.conns(), good(map[string]any{"type": "ldap"}))
	s.owner.Refused(400, "invalid_request", "POST", s.conns(), good(map[string]any{"client_secret": ""}))
	s.owner.Refused(400, "invalid_request", "POST", s.conns(), good(map[string]any{"name": ""}))
	none()
	// Permission: a developer may not (403), another account's owner sees nothing (404).
	s.e.Commit(t, s.acct)
	dev, _ := s.e.Join(t, s.owner, s.acct, "dev@acme-corp.com", "developer")
	dev.Refused(403, "forbidden", "POST", s.conns(), good(nil))
	dev.Refused(403, "forbidden", "GET", s.conns(), nil)
	none()
	id := s.connect(t, "")
	dev.Refused(403, "forbidden", "DELETE", s.conns()+"/"+id, nil)
	other.Refused(404, "not_found", "GET", "/v1/accounts/"+s.acct+"/sso-connections/"+id, nil)
	other.Refused(404, "not_found", "GET", "/v1/accounts/"+otherAcct+"/sso-connections/"+id, nil)
	other.Refused(404, "not_found", "PATCH", "/v1/accounts/"+otherAcct+"/sso-connections/"+id, map[string]any{"enabled": false})
	other.Refused(404, "not_found", "DELETE", "/v1/accounts/"+otherAcct+"/sso-connections/"+id, nil)
	s.owner.Refused(400, "invalid_request", "PATCH", s.conns()+"/"+id, map[string]any{"default_role": "owner"})
	s.owner.Refused(400, "invalid_request", "PATCH", s.conns()+"/"+id, map[string]any{"metadata_xml": "<x/>"})
	if got := s.owner.Must(200, "GET", s.conns()+"/"+id, nil); got.JSON["enabled"] != true || got.JSON["default_role"] != nil {
		t.Errorf("a refused change changed the connection: %s", got.Body)
	}
}

// Without ROSTER_SSO_ALLOW_PRIVATE an issuer must be https on a globally
// reachable address: the in-process provider (http://127.0.0.1) is refused.
func TestSSOConnections_PrivateIssuerRefused(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	op := servertest.NewOIDCProvider(t, e.URL+"/sso/oidc/callback")
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.VerifyDomainForTest(t, acct, "acme-corp.com")
	body := map[string]any{"type": "oidc", "name": "IdP", "issuer": op.Issuer, "client_id": op.ClientID, "client_secret": op.ClientSecret}
	owner.Refused(422, "sso_invalid", "POST", "/v1/accounts/"+acct+"/sso-connections", body)
	body["issuer"] = "https://127.0.0.1:1"
	r := owner.Refused(422, "sso_invalid", "POST", "/v1/accounts/"+acct+"/sso-connections", body)
	if !strings.Contains(string(r.Body), "globally reachable") {
		t.Errorf("the refusal does not say the address is private: %s", r.Body)
	}
}

func TestSSOStart_API(t *testing.T) {
	t.Parallel()
	s := newSSOEnv(t)
	anon := s.e.Client(t)
	anon.Refused(404, "sso_not_configured", "POST", "/v1/sso/start", map[string]string{"email": "pat@acme-corp.com"})
	id := s.connect(t, "")
	anon.Refused(404, "sso_not_configured", "POST", "/v1/sso/start", map[string]string{"email": "pat@unknown-corp.com"})
	anon.Refused(400, "invalid_request", "POST", "/v1/sso/start", map[string]string{"email": "not an address"})
	r := anon.Must(200, "POST", "/v1/sso/start", map[string]string{"email": "Pat@ACME-corp.com"})
	u, err := url.Parse(r.Str("redirect_url"))
	if err != nil || !strings.HasPrefix(r.Str("redirect_url"), s.op.Issuer+"/") {
		t.Fatalf("redirect_url %q is not the provider's", r.Str("redirect_url"))
	}
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("nonce") == "" ||
		q.Get("redirect_uri") != s.e.URL+"/sso/oidc/callback" || q.Get("client_id") != s.op.ClientID {
		t.Errorf("the authorization request lacks PKCE, state, nonce or the client: %v", q)
	}
	if !strings.Contains(r.Header.Get("Set-Cookie"), "roster_sso=") || !strings.Contains(r.Header.Get("Set-Cookie"), "HttpOnly") {
		t.Errorf("no binding cookie: %q", r.Header.Get("Set-Cookie"))
	}
	s.owner.Must(200, "PATCH", s.conns()+"/"+id, map[string]any{"enabled": false})
	anon.Refused(404, "sso_not_configured", "POST", "/v1/sso/start", map[string]string{"email": "pat@acme-corp.com"})
}

// A person who is not a member joins just in time with the connection's
// default role (member.joined, audited), signs in and lands on the
// account; their session works on the API; turning the connection off
// ends it.
func TestSSOOIDC_JustInTimeJoinAndDisable(t *testing.T) {
	t.Parallel()
	s := newSSOEnv(t)
	s.e.Commit(t, s.acct)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer hook.Close()
	wh := s.owner.Must(201, "POST", "/v1/accounts/"+s.acct+"/webhooks", map[string]any{"url": hook.URL, "events": []string{"member.joined"}})
	id := s.connect(t, "developer")
	s.op.SignInAs("pat@acme-corp.com", true, "Pat", "Doe")

	b := browser()
	status, path, body := signIn(t, s.e, b, "pat@acme-corp.com")
	if status != 200 || path != "/accounts/"+s.acct {
		t.Fatalf("landed on %s (%d): %.500s", path, status, body)
	}
	code, meBody := me(t, s.e, b)
	if code != 200 || !strings.Contains(meBody, `"email":"pat@acme-corp.com"`) || !strings.Contains(meBody, `"email_verified":true`) {
		t.Fatalf("/v1/me: %d %s", code, meBody)
	}
	members := s.owner.Must(200, "GET", "/v1/accounts/"+s.acct+"/members?limit=100", nil)
	if !strings.Contains(string(members.Body), `"pat@acme-corp.com"`) || !strings.Contains(string(members.Body), `"developer"`) {
		t.Errorf("pat is not a developer member: %s", members.Body)
	}
	for _, action := range []string{"member.join_sso", "login.sso"} {
		if a := s.owner.Must(200, "GET", "/v1/accounts/"+s.acct+"/audit?action="+action, nil); len(a.Objects()) != 1 {
			t.Errorf("%s audited %d times, want 1", action, len(a.Objects()))
		}
	}
	d := s.owner.Must(200, "GET", fmt.Sprintf("/v1/accounts/%s/webhooks/%v/deliveries", s.acct, wh.JSON["id"]), nil)
	if !strings.Contains(string(d.Body), `"type":"member.joined"`) || !strings.Contains(string(d.Body), `pat@acme-corp.com`) {
		t.Errorf("no member.joined event: %s", d.Body)
	}
	// A made user has no password: logging in with an empty one fails.
	s.e.Client(t).Refused(401, "unauthenticated", "POST", "/v1/login", map[string]string{"email": "pat@acme-corp.com", "password": ""})

	// Signing in again finds the user: no second user, no second join.
	b2 := browser()
	if status, path, _ := signIn(t, s.e, b2, "pat@acme-corp.com"); status != 200 || path != "/accounts/"+s.acct {
		t.Fatalf("second sign-in landed on %s (%d)", path, status)
	}
	if n := s.e.Count(t, `SELECT COUNT(*) FROM users WHERE email = ?`, "pat@acme-corp.com"); n != 1 {
		t.Errorf("%d users for the address", n)
	}

	// Turning the connection off ends both sessions; the password session of the owner stays.
	s.owner.Must(200, "PATCH", s.conns()+"/"+id, map[string]any{"enabled": false})
	for _, c := range []*http.Client{b, b2} {
		if code, _ := me(t, s.e, c); code != 401 {
			t.Errorf("a session of the disabled connection still works: %d", code)
		}
	}
	s.owner.Must(200, "GET", "/v1/me", nil)
}

// Deleting a connection ends its sessions too.
func TestSSOOIDC_DeleteEndsSessions(t *testing.T) {
	t.Parallel()
	s := newSSOEnv(t)
	id := s.connect(t, "")
	s.op.SignInAs("owner@acme-corp.com", true, "Owner", "")
	b := browser()
	if status, path, body := signIn(t, s.e, b, "owner@acme-corp.com"); status != 200 || path != "/accounts/"+s.acct {
		t.Fatalf("the owner landed on %s (%d): %.300s", path, status, body)
	}
	if code, _ := me(t, s.e, b); code != 200 {
		t.Fatalf("/v1/me %d", code)
	}
	s.owner.Must(204, "DELETE", s.conns()+"/"+id, nil)
	if code, _ := me(t, s.e, b); code != 401 {
		t.Errorf("a session of the deleted connection still works: %d", code)
	}
}

// Every refusal of the sign-in is a page in words (401; 403 to ask an
// admin), and nothing is created.
func TestSSOOIDC_Refusals(t *testing.T) {
	t.Parallel()
	s := newSSOEnv(t)
	s.connect(t, "") // no default role: people who are not members ask an admin
	users := func() int { return s.e.Count(t, `SELECT COUNT(*) FROM users`) }
	sessions := func() int { return s.e.Count(t, `SELECT COUNT(*) FROM sessions`) }
	u0, s0 := users(), sessions()
	check := func(name string, status int, words string, gotStatus int, body string) {
		t.Helper()
		if gotStatus != status || !strings.Contains(body, words) {
			t.Errorf("%s: %d, want %d with %q: %.600s", name, gotStatus, status, words, body)
		}
		if users() != u0 || sessions() != s0 {
			t.Errorf("%s created something: users %d→%d, sessions %d→%d", name, u0, users(), s0, sessions())
		}
	}

	s.op.SignInAs("pat@acme-corp.com", true, "Pat", "")
	st, _, body := signIn(t, s.e, browser(), "pat@acme-corp.com")
	check("not a member, no default role", 403, "ask an admin", st, body)

	s.e.Commit(t, s.acct)
	s.op.SignInAs("pat@acme-corp.com", false, "Pat", "")
	st, _, body = signIn(t, s.e, browser(), "pat@acme-corp.com")
	check("email_verified false", 401, "has not verified", st, body)

	s.op.SignInAs("pat@elsewhere-corp.com", true, "Pat", "")
	st, _, body = signIn(t, s.e, browser(), "pat@acme-corp.com")
	check("address on another domain", 401, "not on a domain this account has verified", st, body)

	// The callback in another browser (no binding cookie), then a replay.
	s.op.SignInAs("owner@acme-corp.com", true, "Owner", "")
	jar, _ := cookiejar.New(nil)
	var callback *url.URL
	started := &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if r.URL.Path == "/sso/oidc/callback" {
			callback = r.URL
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := started.Get(s.e.URL + "/sso/start?email=owner@acme-corp.com")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if callback == nil {
		t.Fatal("the provider did not send the browser back")
	}
	get := func(c *http.Client, extra *http.Cookie) (int, string) {
		req, _ := http.NewRequest("GET", callback.String(), nil)
		if extra != nil {
			req.AddCookie(extra)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	st, body = get(&http.Client{CheckRedirect: noRedirect}, nil)
	check("another browser", 401, "did not start this sign-in", st, body)
	var binding *http.Cookie
	for _, ck := range jar.Cookies(&url.URL{Scheme: "http", Host: callback.Host, Path: "/sso/"}) {
		if ck.Name == "roster_sso" {
			binding = ck
		}
	}
	if binding == nil {
		t.Fatal("no binding cookie in the browser that started")
	}
	st, body = get(&http.Client{CheckRedirect: noRedirect}, &http.Cookie{Name: "roster_sso", Value: "forged-" + binding.Value})
	check("a forged binding", 401, "started in another browser", st, body)
	// The browser that started finishes (the other browser's attempt did not use the flow up).
	st, _ = get(&http.Client{Jar: jar, CheckRedirect: noRedirect}, nil)
	if st != http.StatusSeeOther {
		t.Fatalf("the browser that started was refused: %d", st)
	}
	s0 = sessions()
	st, body = get(&http.Client{CheckRedirect: noRedirect}, binding)
	check("state replayed", 401, "used already", st, body)

	// No state at all, and a provider's refusal.
	r, _ := http.Get(s.e.URL + "/sso/oidc/callback?code=x")
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	check("no state", 401, "no state", r.StatusCode, string(b))
}

// Each start stores a flow and asks the provider: a client makes at most
// 300 in ten minutes (guard.FlowStartsPerIP), then 429 with Retry-After,
// and a refused start stores nothing.
func TestSSOStart_ThrottledPerClient(t *testing.T) {
	t.Parallel()
	s := newSSOEnv(t)
	s.connect(t, "")
	anon := s.e.Client(t)
	for i := range 300 {
		anon.Must(200, "POST", "/v1/sso/start", map[string]string{"email": fmt.Sprintf("p%d@acme-corp.com", i)})
	}
	flows := s.e.Count(t, `SELECT COUNT(*) FROM sso_flows`)
	r := anon.Refused(429, "rate_limited", "POST", "/v1/sso/start", map[string]string{"email": "late@acme-corp.com"})
	if wait := retryAfter(t, r, 10*time.Minute); wait <= 0 {
		t.Errorf("Retry-After %s", wait)
	}
	if n := s.e.Count(t, `SELECT COUNT(*) FROM sso_flows`); n != flows {
		t.Errorf("the refused start stored a flow: %d then %d", flows, n)
	}
	// The browser's start (GET /sso/start) counts in the same limit.
	b := s.e.Client(t)
	b.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := b.HTTP.Get(s.e.URL + "/sso/start?email=late@acme-corp.com")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), s.op.Issuer) {
		t.Errorf("the browser's start went to the provider past the limit")
	}
}
