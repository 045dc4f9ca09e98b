package client_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/client"
	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

// ssoEnv is a server that may reach identity providers on 127.0.0.1, the
// in-process OpenID provider registered for its callback, and the owner
// of an account on acme-corp.com (committed, the domain not verified
// yet), logged in through the client.
type ssoEnv struct {
	e       *servertest.Env
	op      *servertest.OIDCProvider
	ownerST *servertest.Client
	owner   *client.Client
	acct    string
}

func newSSOEnv(t *testing.T) *ssoEnv {
	t.Helper()
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) { c.SSOAllowPrivate = true }})
	op := servertest.NewOIDCProvider(t, e.URL+"/sso/oidc/callback")
	ownerST, acct := e.SignUp(t, "owner@acme-corp.com", "Olga")
	e.Commit(t, acct)
	owner := newClient(t, e.URL, client.WithSession())
	if _, err := owner.Login(context.Background(), client.LoginRequest{Email: "owner@acme-corp.com", Password: servertest.Password}); err != nil {
		t.Fatal(err)
	}
	return &ssoEnv{e: e, op: op, ownerST: ownerST, owner: owner, acct: acct}
}

func (s *ssoEnv) oidc(defaultRole string) client.OIDCConnection {
	return client.OIDCConnection{Name: "Okta", Issuer: s.op.Issuer, ClientID: s.op.ClientID, ClientSecret: s.op.ClientSecret, DefaultRole: defaultRole}
}

// signIn signs email in through single sign-on with the client:
// StartSSO in a cookie jar (the binding cookie lands in it), then the
// jar's browser follows the provider back to Roster. It returns a client
// on the session that made, and where the browser landed.
func signIn(t *testing.T, s *ssoEnv, email string) (*client.Client, string) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s.e.URL, client.WithCookieJar(jar))
	to, err := c.StartSSO(context.Background(), email)
	if err != nil {
		t.Fatalf("start %s: %v", email, err)
	}
	if !strings.HasPrefix(to, s.op.Issuer+"/") {
		t.Fatalf("redirect_url %q is not the provider's", to)
	}
	resp, err := (&http.Client{Jar: jar}).Get(to)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return c, resp.Request.URL.Path
}

// The connection routes through the client: refused before a domain is
// verified, refused when the provider is unusable, then created, read,
// changed and deleted; every refusal is an *client.Error with its code,
// and none created anything.
func TestClient_SSOConnections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newSSOEnv(t)
	none := func() {
		t.Helper()
		if l, err := s.owner.SSOConnections(ctx, s.acct); err != nil || l.Meta.TotalCount != 0 || len(l.Objects) != 0 {
			t.Fatalf("connections after a refusal: %+v %v", l, err)
		}
	}

	refused(t, mustErr(s.owner.CreateOIDCConnection(ctx, s.acct, s.oidc(""))), 409, client.CodeDomainUnverified)
	none()
	s.e.VerifyDomain(t, s.ownerST, s.acct, "acme-corp.com")

	bad := s.oidc("")
	bad.Issuer = "http://127.0.0.1:1"
	refused(t, mustErr(s.owner.CreateOIDCConnection(ctx, s.acct, bad)), 422, client.CodeSSOInvalid)
	if e := refused(t, mustErr(s.owner.CreateOIDCConnection(ctx, s.acct, s.oidc(client.RoleOwner))), 400, client.CodeInvalidRequest); e.Field != "default_role" {
		t.Errorf("field: %+v", e)
	}
	refused(t, mustErr(s.owner.CreateSAMLConnection(ctx, s.acct, client.SAMLConnection{Name: "Entra", MetadataXML: "<not-metadata/>"})), 422, client.CodeSSOInvalid)
	refused(t, mustErr(s.owner.CreateSAMLConnection(ctx, s.acct, client.SAMLConnection{Name: "Entra"})), 400, client.CodeInvalidRequest)
	none()

	// OpenID Connect: the values to give the provider; never the secret.
	o, err := s.owner.CreateOIDCConnection(ctx, s.acct, s.oidc(client.RoleDeveloper))
	if err != nil || o.ID == 0 || o.Type != client.SSOTypeOIDC || !o.Enabled || o.DefaultRole != client.RoleDeveloper || o.CountsAsMFA ||
		o.Issuer != s.op.Issuer || o.ClientID != s.op.ClientID || o.RedirectURI != s.e.URL+"/sso/oidc/callback" || o.SPEntityID != "" || o.CreatedAt.IsZero() {
		t.Fatalf("oidc: %+v %v", o, err)
	}

	// SAML: metadata from a real identity provider; the values to give it.
	idp := servertest.NewSAMLIdP(t)
	m, err := s.owner.CreateSAMLConnection(ctx, s.acct, client.SAMLConnection{Name: "Entra", MetadataXML: idp.Metadata(t), AllowIdPInitiated: true})
	md := s.e.URL + "/sso/saml/" + strconv.FormatInt(m.ID, 10) + "/metadata"
	if err != nil || m.Type != client.SSOTypeSAML || m.DefaultRole != "" || m.IdPEntityID != idp.EntityID() || m.SPEntityID != md ||
		m.SPMetadataURL != md || m.ACSURL != s.e.URL+"/sso/saml/acs" || !m.AllowIdPInitiated || m.Issuer != "" || m.RedirectURI != "" {
		t.Fatalf("saml: %+v %v", m, err)
	}

	l, err := s.owner.SSOConnections(ctx, s.acct)
	if err != nil || l.Meta.TotalCount != 2 || l.Objects[0].ID != o.ID || l.Objects[1].ID != m.ID {
		t.Fatalf("list: %+v %v", l, err)
	}
	if got, err := s.owner.SSOConnection(ctx, s.acct, o.ID); err != nil || got != o {
		t.Errorf("get: %+v %v, want %+v", got, err, o)
	}
	refused(t, mustErr(s.owner.SSOConnection(ctx, s.acct, m.ID+1000)), 404, client.CodeNotFound)

	name, on, noRole, secret := "Okta (prod)", true, "", "a-new-secret-value"
	u, err := s.owner.UpdateSSOConnection(ctx, s.acct, o.ID, client.SSOConnectionChange{Name: &name, CountsAsMFA: &on, DefaultRole: &noRole, ClientSecret: &secret})
	if err != nil || u.Name != name || !u.CountsAsMFA || u.DefaultRole != "" || !u.Enabled {
		t.Fatalf("update: %+v %v", u, err)
	}
	xml := "<x/>"
	refused(t, mustErr(s.owner.UpdateSSOConnection(ctx, s.acct, o.ID, client.SSOConnectionChange{MetadataXML: &xml})), 400, client.CodeInvalidRequest)
	refused(t, mustErr(s.owner.UpdateSSOConnection(ctx, s.acct, m.ID, client.SSOConnectionChange{MetadataXML: &xml})), 422, client.CodeSSOInvalid)
	if got, err := s.owner.SSOConnection(ctx, s.acct, m.ID); err != nil || got != m {
		t.Errorf("a refused change changed the connection: %+v %v", got, err)
	}

	// A developer may not; another account's owner sees nothing.
	dev, _ := s.e.Join(t, s.ownerST, s.acct, "dev@acme-corp.com", client.RoleDeveloper)
	devC := newClient(t, s.e.URL, client.WithCookieJar(dev.HTTP.Jar))
	refused(t, mustErr(devC.SSOConnections(ctx, s.acct)), 403, client.CodeForbidden)
	refused(t, devC.DeleteSSOConnection(ctx, s.acct, o.ID), 403, client.CodeForbidden)

	if err := s.owner.DeleteSSOConnection(ctx, s.acct, m.ID); err != nil {
		t.Fatal(err)
	}
	refused(t, s.owner.DeleteSSOConnection(ctx, s.acct, m.ID), 404, client.CodeNotFound)
	if l, err := s.owner.SSOConnections(ctx, s.acct); err != nil || l.Meta.TotalCount != 1 {
		t.Errorf("after the delete: %+v %v", l, err)
	}
}

// Signing in through the client (StartSSO, then the provider), just in
// time; requiring single sign-on binds the members on the domain, not
// the owner nor a contractor; turning the connection off ends its
// sessions.
func TestClient_SSOSignInAndRequire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newSSOEnv(t)
	anon := newClient(t, s.e.URL)
	refused(t, mustErr(anon.StartSSO(ctx, "pat@acme-corp.com")), 404, client.CodeSSONotConfigured)
	refused(t, mustErr(anon.StartSSO(ctx, "not an address")), 400, client.CodeInvalidRequest)
	if got, want := anon.SSOStartURL("pat+1@acme-corp.com"), s.e.URL+"/sso/start?email=pat%2B1%40acme-corp.com"; got != want {
		t.Errorf("SSOStartURL = %q, want %q", got, want)
	}

	// Requiring it needs a verified domain, then an enabled connection.
	refused(t, mustErr(s.owner.SetRequireSSO(ctx, s.acct, true)), 409, client.CodeDomainUnverified)
	s.e.VerifyDomain(t, s.ownerST, s.acct, "acme-corp.com")
	refused(t, mustErr(s.owner.SetRequireSSO(ctx, s.acct, true)), 409, client.CodeConflict)
	if a, err := s.owner.Account(ctx, s.acct); err != nil || a.RequireSSO {
		t.Fatalf("a refused requirement changed the account: %+v %v", a, err)
	}
	conn, err := s.owner.CreateOIDCConnection(ctx, s.acct, s.oidc(client.RoleDeveloper))
	if err != nil {
		t.Fatal(err)
	}
	refused(t, mustErr(anon.StartSSO(ctx, "pat@elsewhere-corp.com")), 404, client.CodeSSONotConfigured)

	// Just in time: pat is not a member, and joins as a developer.
	s.op.SignInAs("pat@acme-corp.com", true, "Pat", "Doe")
	pat, landed := signIn(t, s, "pat@acme-corp.com")
	if landed != "/accounts/"+s.acct {
		t.Fatalf("landed on %s", landed)
	}
	if me, err := pat.Me(ctx); err != nil || me.Email != "pat@acme-corp.com" || !me.EmailVerified {
		t.Fatalf("me: %+v %v", me, err)
	}
	var patID int64
	for mb, err := range s.owner.AllMembers(ctx, s.acct) {
		if err != nil {
			t.Fatal(err)
		}
		if mb.Email == "pat@acme-corp.com" {
			patID = mb.UserID
			if mb.Role != client.RoleDeveloper || !mb.SSO {
				t.Errorf("pat: %+v", mb)
			}
		}
	}

	// A developer with a password session and a key, and a contractor on
	// another domain.
	dev, devID := s.e.Join(t, s.ownerST, s.acct, "dev@acme-corp.com", client.RoleDeveloper)
	devC := newClient(t, s.e.URL, client.WithCookieJar(dev.HTTP.Jar))
	key, err := devC.CreateAPIKey(ctx, s.acct, "ci")
	if err != nil {
		t.Fatal(err)
	}
	byKey := newClient(t, s.e.URL, client.WithAPIKey(key.Key))
	contractor, _ := s.e.Join(t, s.ownerST, s.acct, "c@contractor-corp.com", client.RoleDeveloper)
	contractorC := newClient(t, s.e.URL, client.WithCookieJar(contractor.HTTP.Jar))

	a, err := s.owner.SetRequireSSO(ctx, s.acct, true)
	if err != nil || !a.RequireSSO || a.Role != client.RoleOwner {
		t.Fatalf("require: %+v %v", a, err)
	}
	numbers := "/v1/accounts/" + s.acct + "/numbers"
	refused(t, devC.Do(ctx, "GET", numbers, nil, nil), 403, client.CodeSSORequired)
	refused(t, byKey.Do(ctx, "GET", numbers, nil, nil), 403, client.CodeSSORequired)
	if a, err := devC.Account(ctx, s.acct); err != nil || a.Reason != client.ReasonSSORequired || len(a.Permissions) != 0 {
		t.Errorf("the bound developer's view of the account: %+v %v", a, err)
	}
	platform := newClient(t, s.e.URL, client.WithServiceToken(servertest.ServiceToken))
	d, err := platform.Check(ctx, client.CheckRequest{AccountID: s.acct, UserID: devID, Permission: client.PermNumbersView})
	if err != nil || d.Allowed || d.Reason != client.ReasonSSORequired || d.Role != client.RoleDeveloper {
		t.Errorf("check of the bound developer: %+v %v", d, err)
	}
	for who, c := range map[string]*client.Client{"pat through single sign-on": pat, "the contractor": contractorC, "the owner's password session": s.owner} {
		if err := c.Do(ctx, "GET", numbers, nil, nil); err != nil {
			t.Errorf("%s: %v", who, err)
		}
	}
	// The check by user ID sees no session: a bound member who has signed
	// in through single sign-on once counts as through it.
	if d, err := platform.Check(ctx, client.CheckRequest{AccountID: s.acct, UserID: patID, Permission: client.PermNumbersView}); err != nil || !d.Allowed {
		t.Errorf("check of pat: %+v %v", d, err)
	}

	// Turning the connection off ends pat's session.
	off := false
	if _, err := s.owner.UpdateSSOConnection(ctx, s.acct, conn.ID, client.SSOConnectionChange{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	refused(t, mustErr(pat.Me(ctx)), 401, client.CodeUnauthenticated)
	refused(t, mustErr(anon.StartSSO(ctx, "pat@acme-corp.com")), 404, client.CodeSSONotConfigured)

	if a, err := s.owner.SetRequireSSO(ctx, s.acct, false); err != nil || a.RequireSSO {
		t.Fatalf("require off: %+v %v", a, err)
	}
	if err := devC.Do(ctx, "GET", numbers, nil, nil); err != nil {
		t.Errorf("the developer's password session after the requirement is off: %v", err)
	}
}
