package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
	"github.com/rosterhq/roster/store/storetest"
)

// An OpenID Connect sign-in's state is used once across replicas on one
// PostgreSQL database: a callback finished on one replica is refused on
// the other, and a sign-in started on one replica finishes on the other
// (the load balancer may send the callback anywhere), once.
func TestSSOOIDC_ReplayRefusedAcrossReplicas(t *testing.T) {
	t.Parallel()
	base, ok := storetest.PostgresBase(t)
	if !ok {
		t.Skip("replicas need PostgreSQL; none reachable")
	}
	dsn := servertest.NewPostgresDatabase(t, base)
	a := servertest.New(t, servertest.Options{Database: dsn, Tweak: func(c *server.Config) { c.SSOAllowPrivate = true }})
	// Behind one load balancer: both replicas have the same public URL.
	b := servertest.New(t, servertest.Options{Database: dsn, Mail: a.Mail, DNS: a.DNS, Tweak: func(c *server.Config) {
		c.SSOAllowPrivate, c.BaseURL = true, a.URL
	}})
	op := servertest.NewOIDCProvider(t, a.URL+"/sso/oidc/callback")
	owner, acct := a.SignUp(t, "owner@acme-corp.com", "Owner")
	a.VerifyDomain(t, owner, acct, "acme-corp.com")
	owner.Must(201, "POST", "/v1/accounts/"+acct+"/sso-connections", map[string]any{"type": "oidc", "name": "Test IdP",
		"issuer": op.Issuer, "client_id": op.ClientID, "client_secret": op.ClientSecret})
	op.SignInAs("owner@acme-corp.com", true, "Owner", "")

	// started begins a sign-in on replica e in a new browser and returns
	// the provider's redirect to the callback, not followed, and the browser.
	started := func(e *servertest.Env) (*url.URL, *http.Client) {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		var callback *url.URL
		hc := &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if r.URL.Path == "/sso/oidc/callback" {
				callback = r.URL
				return http.ErrUseLastResponse
			}
			return nil
		}}
		resp, err := hc.Get(e.URL + "/sso/start?email=owner@acme-corp.com")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if callback == nil {
			t.Fatalf("the provider did not send the browser back (%d at %s)", resp.StatusCode, resp.Request.URL)
		}
		hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return callback, hc
	}
	// finish brings the callback to replica e with the browser's cookies
	// (one site behind the balancer: the cookies of 127.0.0.1 go to both).
	finish := func(e *servertest.Env, callback *url.URL, hc *http.Client) (int, string, string) {
		t.Helper()
		u := *callback
		u.Host = strings.TrimPrefix(e.URL, "http://")
		resp, err := hc.Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(body)
	}
	sessions := func() int { return a.Count(t, `SELECT COUNT(*) FROM sessions WHERE sso_connection_id IS NOT NULL`) }
	replayed := func(e *servertest.Env, name string, callback *url.URL, hc *http.Client) {
		t.Helper()
		n := sessions()
		if st, _, body := finish(e, callback, hc); st != http.StatusUnauthorized || !strings.Contains(body, "used already") {
			t.Errorf("%s: %d, want 401 saying the sign-in was used already: %.500s", name, st, body)
		}
		if sessions() != n {
			t.Errorf("%s made a session", name)
		}
	}
	// The binding cookie is single-use in the browser too: put it back
	// as an attacker holding the whole browser would.
	binding := func(hc *http.Client, e *servertest.Env) *http.Cookie {
		u, _ := url.Parse(e.URL + "/sso/")
		for _, c := range hc.Jar.Cookies(u) {
			if c.Name == "roster_sso" {
				return c
			}
		}
		t.Fatal("no binding cookie")
		return nil
	}

	// Started and finished on A; replayed on B.
	cb, hc := started(a)
	keep := binding(hc, a)
	if st, loc, body := finish(a, cb, hc); st != http.StatusSeeOther || loc != "/accounts/"+acct {
		t.Fatalf("finish on A: %d to %q: %.500s", st, loc, body)
	}
	hc.Jar.SetCookies(&url.URL{Scheme: "http", Host: strings.TrimPrefix(b.URL, "http://"), Path: "/sso/"}, []*http.Cookie{keep})
	replayed(b, "the state replayed on B", cb, hc)

	// Started on B, finished on A (the flow is in the shared database),
	// then replayed on B and on A.
	cb, hc = started(b)
	keep = binding(hc, b)
	if st, loc, body := finish(a, cb, hc); st != http.StatusSeeOther || loc != "/accounts/"+acct {
		t.Fatalf("started on B, finished on A: %d to %q: %.500s", st, loc, body)
	}
	for _, e := range []*servertest.Env{b, a} {
		hc.Jar.SetCookies(&url.URL{Scheme: "http", Host: strings.TrimPrefix(e.URL, "http://"), Path: "/sso/"}, []*http.Cookie{keep})
		replayed(e, fmt.Sprintf("the state replayed on %s", map[*servertest.Env]string{a: "A", b: "B"}[e]), cb, hc)
	}
	if n := sessions(); n != 2 {
		t.Errorf("%d single sign-on sessions, want the 2 sign-ins", n)
	}
}
