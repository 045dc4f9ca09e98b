package console_test

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
	"github.com/rosterhq/roster/store/storetest"
)

// SAML 2.0 sign-in end to end (issue 22): a real identity provider
// (crewjam's samlidp) on its own port, the browser a plain http.Client
// with a cookie jar.

const (
	samlDomain = "acme-saml.com"
	samlUser   = "ada"
	samlEmail  = "ada@acme-saml.com"
	samlPass   = "idp password"
)

type samlEnv struct {
	e    *servertest.Env
	idp  *servertest.SAMLIdP
	acct string
	cid  int64
	off  *atomic.Int64 // moves the server's clock
}

func newSAML(t *testing.T, o servertest.SAMLConnectionOptions) *samlEnv {
	t.Helper()
	// The person signing in is not a member yet: they join just in time
	// as a developer (a connection without a default role sends them to
	// ask an admin, as TestSSOOIDC_Refusals shows).
	if o.DefaultRole == roster.RoleNone {
		o.DefaultRole = roster.RoleDeveloper
	}
	e := servertest.New(t)
	off := new(atomic.Int64)
	e.Server.DB.Now = func() time.Time { return time.Now().Add(time.Duration(off.Load())) } // set once, before the requests
	_, acct := e.SignUp(t, "owner@"+samlDomain, "Owner")
	e.Commit(t, acct)
	idp := servertest.NewSAMLIdP(t)
	idp.AddUser(t, samlUser, samlEmail, samlPass)
	cid := e.SAMLConnection(t, acct, samlDomain, idp, o)
	return &samlEnv{e: e, idp: idp, acct: acct, cid: cid, off: off}
}

func (s *samlEnv) start() string {
	return s.e.URL + "/sso/saml/" + strconv.FormatInt(s.cid, 10) + "/start"
}

// browser is a new browser: its own cookies.
func (s *samlEnv) browser(t *testing.T) *http.Client { return s.e.Client(t).HTTP }

// post posts the provider's form to the ACS the way a browser does from
// the provider's page (cross-site), without following the redirect.
func post(t *testing.T, hc *http.Client, acs string, p servertest.SAMLPost) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", acs, strings.NewReader(p.Form().Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "http://idp.example")
	nc := *hc
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := nc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}

// refused posts p and checks the 401 page says want, and that nothing
// was made: no user with the address (when it had none), no new session.
func (s *samlEnv) refused(t *testing.T, hc *http.Client, p servertest.SAMLPost, want string) {
	t.Helper()
	users := s.e.Count(t, `SELECT COUNT(*) FROM users WHERE email LIKE ?`, "%@"+samlDomain)
	sessions := s.e.Count(t, `SELECT COUNT(*) FROM sessions`)
	members := s.e.Count(t, `SELECT COUNT(*) FROM members`)
	status, body, _ := post(t, hc, s.e.URL+"/sso/saml/acs", p)
	if status != http.StatusUnauthorized || !strings.Contains(body, want) {
		t.Fatalf("got %d, want 401 saying %q: %s", status, want, body)
	}
	if !strings.Contains(body, "Single sign-on did not work") {
		t.Errorf("the page has no title saying what failed: %s", body)
	}
	if n := s.e.Count(t, `SELECT COUNT(*) FROM users WHERE email LIKE ?`, "%@"+samlDomain); n != users {
		t.Errorf("users on the domain: %d, were %d", n, users)
	}
	if n := s.e.Count(t, `SELECT COUNT(*) FROM sessions`); n != sessions {
		t.Errorf("sessions: %d, were %d", n, sessions)
	}
	if n := s.e.Count(t, `SELECT COUNT(*) FROM members`); n != members {
		t.Errorf("members: %d, were %d", n, members)
	}
}

// signedIn posts p and checks the browser lands signed in as ada.
func (s *samlEnv) signedIn(t *testing.T, hc *http.Client, p servertest.SAMLPost) {
	t.Helper()
	status, body, loc := post(t, hc, s.e.URL+"/sso/saml/acs", p)
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/accounts") {
		t.Fatalf("ACS: %d to %q: %s", status, loc, body)
	}
	resp, err := hc.Get(s.e.URL + "/v1/me")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), samlEmail) {
		t.Fatalf("/v1/me after the sign-in: %d %s", resp.StatusCode, b)
	}
}

func TestSAML_MetadataNamesTheConnection(t *testing.T) {
	s := newSAML(t, servertest.SAMLConnectionOptions{})
	entity := s.e.URL + "/sso/saml/" + strconv.FormatInt(s.cid, 10) + "/metadata"
	resp, err := http.Get(entity)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var md saml.EntityDescriptor
	if err := xml.Unmarshal(b, &md); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if resp.Header.Get("Content-Type") != "application/samlmetadata+xml" || md.EntityID != entity ||
		len(md.SPSSODescriptors) != 1 || len(md.SPSSODescriptors[0].AssertionConsumerServices) != 1 ||
		md.SPSSODescriptors[0].AssertionConsumerServices[0].Location != s.e.URL+"/sso/saml/acs" ||
		md.SPSSODescriptors[0].AssertionConsumerServices[0].Binding != saml.HTTPPostBinding {
		t.Fatalf("metadata: %s", b)
	}
	if r, _ := http.Get(s.e.URL + "/sso/saml/999999/metadata"); r.StatusCode != 404 {
		t.Errorf("an unknown connection's metadata: %d", r.StatusCode)
	}
}

func TestSAML_SPInitiatedSignIn(t *testing.T) {
	s := newSAML(t, servertest.SAMLConnectionOptions{})
	b := s.browser(t)
	p := s.idp.SignIn(t, b, s.start(), samlUser, samlPass)
	if p.ACS != s.e.URL+"/sso/saml/acs" || p.RelayState == "" {
		t.Fatalf("the provider posts to %q with RelayState %q", p.ACS, p.RelayState)
	}
	s.signedIn(t, b, p)
	if n := s.e.Count(t, `SELECT COUNT(*) FROM sessions WHERE sso_connection_id = ?`, s.cid); n != 1 {
		t.Errorf("sessions through the connection: %d", n)
	}
}

func TestSAML_IdPInitiatedOnlyWhenAllowed(t *testing.T) {
	s := newSAML(t, servertest.SAMLConnectionOptions{})
	entity := s.e.URL + "/sso/saml/" + strconv.FormatInt(s.cid, 10) + "/metadata"
	s.idp.AddShortcut(t, "roster", entity)
	b := s.browser(t)
	p := s.idp.IdPInitiated(t, b, "roster", samlUser, samlPass)
	s.refused(t, b, p, "does not allow that")

	s.e.Server.DB.SQL().Exec(`UPDATE sso_connections SET allow_idp_initiated = 1`)
	p = s.idp.IdPInitiated(t, b, "roster", samlUser, samlPass)
	s.signedIn(t, b, p)
	// The same unsolicited response again: its assertion was used.
	s.refused(t, s.browser(t), p, "already used")
}

func TestSAML_ReplayRefused(t *testing.T) {
	s := newSAML(t, servertest.SAMLConnectionOptions{})
	b := s.browser(t)
	p := s.idp.SignIn(t, b, s.start(), samlUser, samlPass)
	s.signedIn(t, b, p)
	s.refused(t, b, p, "already used")
}

func TestSAML_ReplayRefusedAcrossReplicas(t *testing.T) {
	base, ok := storetest.PostgresBase(t)
	if !ok {
		t.Skip("replicas need PostgreSQL; none reachable")
	}
	dsn := servertest.NewPostgresDatabase(t, base)
	a := servertest.New(t, servertest.Options{Database: dsn})
	// Behind one load balancer: both replicas have the same public URL.
	bsrv := servertest.New(t, servertest.Options{Database: dsn, Mail: a.Mail, Tweak: func(c *server.Config) { c.BaseURL = a.URL }})
	_, acct := a.SignUp(t, "owner@"+samlDomain, "Owner")
	a.Commit(t, acct)
	idp := servertest.NewSAMLIdP(t)
	idp.AddUser(t, samlUser, samlEmail, samlPass)
	cid := a.SAMLConnection(t, acct, samlDomain, idp, servertest.SAMLConnectionOptions{AllowIdPInitiated: true, DefaultRole: roster.RoleDeveloper})
	idp.AddShortcut(t, "roster", a.URL+"/sso/saml/"+strconv.FormatInt(cid, 10)+"/metadata")
	onA := &samlEnv{e: a, idp: idp, acct: acct, cid: cid}
	onB := &samlEnv{e: bsrv, idp: idp, acct: acct, cid: cid}

	// SP-initiated: started and accepted on A, replayed on B.
	br := onA.browser(t)
	p := idp.SignIn(t, br, onA.start(), samlUser, samlPass)
	onA.signedIn(t, br, p)
	onB.refused(t, onB.browser(t), p, "already used")

	// IdP-initiated: accepted on B, replayed on A.
	br = onB.browser(t)
	p = idp.IdPInitiated(t, br, "roster", samlUser, samlPass)
	status, body, _ := post(t, br, bsrv.URL+"/sso/saml/acs", p)
	if status != http.StatusSeeOther {
		t.Fatalf("IdP-initiated on B: %d %s", status, body)
	}
	onA.refused(t, onA.browser(t), p, "already used")
}

// response decodes the provider's response for tampering.
func response(t *testing.T, p servertest.SAMLPost) *etree.Document {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(p.SAMLResponse)
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	return doc
}

func encode(t *testing.T, doc *etree.Document, p servertest.SAMLPost) servertest.SAMLPost {
	t.Helper()
	raw, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	p.SAMLResponse = base64.StdEncoding.EncodeToString(raw)
	return p
}

func TestSAML_ForgedRefused(t *testing.T) {
	s := newSAML(t, servertest.SAMLConnectionOptions{})

	// Altered: the signed NameID names someone else.
	b := s.browser(t)
	p := s.idp.SignIn(t, b, s.start(), samlUser, samlPass)
	doc := response(t, p)
	for _, el := range doc.FindElements("//NameID") {
		el.SetText("boss@" + samlDomain)
	}
	s.refused(t, b, encode(t, doc, p), "forged or altered")

	// Signed again, with another key than the provider's.
	b = s.browser(t)
	p = s.idp.SignIn(t, b, s.start(), samlUser, samlPass)
	doc = response(t, p)
	for _, sig := range doc.FindElements("//Signature") {
		sig.Parent().RemoveChild(sig)
	}
	for _, el := range doc.FindElements("//NameID") {
		el.SetText("boss@" + samlDomain)
	}
	key, cert := servertest.SelfSigned(t, "attacker.test")
	ctx := dsig.NewDefaultSigningContext(dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key}))
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	assertion := doc.FindElement("//Assertion")
	signed, err := ctx.SignEnveloped(assertion)
	if err != nil {
		t.Fatal(err)
	}
	parent := assertion.Parent()
	parent.InsertChildAt(assertion.Index(), signed)
	parent.RemoveChild(assertion)
	s.refused(t, b, encode(t, doc, p), "forged or altered")
}

func TestSAML_WrongAudienceRefused(t *testing.T) {
	s := newSAML(t, servertest.SAMLConnectionOptions{AllowIdPInitiated: true})
	// Another service provider the provider knows, whose ACS is ours:
	// its assertions name it as their audience, not this connection.
	acs, _ := url.Parse(s.e.URL + "/sso/saml/acs")
	other, _ := url.Parse("https://other.example/saml/metadata")
	md, err := xml.Marshal((&saml.ServiceProvider{EntityID: other.String(), MetadataURL: *other, AcsURL: *acs,
		AssertionConsumerServiceBindings: []string{saml.HTTPPostBinding}}).Metadata())
	if err != nil {
		t.Fatal(err)
	}
	s.idp.RegisterSP(t, "other", md)
	s.idp.AddShortcut(t, "other", other.String())
	b := s.browser(t)
	p := s.idp.IdPInitiated(t, b, "other", samlUser, samlPass)
	s.refused(t, b, p, "audience")
}

func TestSAML_ExpiredRefused(t *testing.T) {
	s := newSAML(t, servertest.SAMLConnectionOptions{})
	b := s.browser(t)
	p := s.idp.SignIn(t, b, s.start(), samlUser, samlPass)
	// Five minutes later (past the 3 minutes an assertion is taken for,
	// within the 10 minutes the request waits).
	s.off.Store(int64(5 * time.Minute))
	s.refused(t, b, p, "expired")
}

func TestSAML_UnknownRequestRefused(t *testing.T) {
	s := newSAML(t, servertest.SAMLConnectionOptions{})
	b := s.browser(t)
	p := s.idp.SignIn(t, b, s.start(), samlUser, samlPass)
	// The request is gone (as when it expired, or another server made it).
	if _, err := s.e.Server.DB.SQL().Exec(`DELETE FROM sso_flows`); err != nil {
		t.Fatal(err)
	}
	s.refused(t, b, p, "did not start")
}

func TestSAML_OtherBrowserRefused(t *testing.T) {
	s := newSAML(t, servertest.SAMLConnectionOptions{})
	p := s.idp.SignIn(t, s.browser(t), s.start(), samlUser, samlPass)
	// A response for a sign-in started elsewhere (login CSRF) has no binding cookie here.
	s.refused(t, s.browser(t), p, "started in another browser")
}

func TestSAML_UnverifiedDomainRefused(t *testing.T) {
	s := newSAML(t, servertest.SAMLConnectionOptions{})
	s.idp.AddUser(t, "mal", "mal@elsewhere-saml.com", samlPass)
	b := s.browser(t)
	p := s.idp.SignIn(t, b, s.start(), "mal", samlPass)
	s.refused(t, b, p, "verified")
	if n := s.e.Count(t, `SELECT COUNT(*) FROM users WHERE email = ?`, "mal@elsewhere-saml.com"); n != 0 {
		t.Errorf("a user was made for the unverified domain's address")
	}
}

func TestSAML_StartUnknownConnection(t *testing.T) {
	s := newSAML(t, servertest.SAMLConnectionOptions{})
	resp, err := http.Get(s.e.URL + "/sso/saml/999999/start")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(b), "no SAML single sign-on connection") {
		t.Fatalf("start of an unknown connection: %d %s", resp.StatusCode, b)
	}
}
