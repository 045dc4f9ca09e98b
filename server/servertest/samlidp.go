package servertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/xml"
	"html"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crewjam/saml/samlidp"
	"github.com/jonboulle/clockwork"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/rosterhq/roster"
)

// SAMLIdP is crewjam/saml's samlidp, a real SAML 2.0 identity provider,
// on a free port: users with passwords, the service providers it knows
// (registered from their metadata) and shortcuts for IdP-initiated
// sign-in. It signs its responses with its own RSA key.
type SAMLIdP struct {
	URL    string
	Server *samlidp.Server
	HTTP   *httptest.Server
	Key    *rsa.PrivateKey
	Cert   *x509.Certificate
	skew   atomic.Int64 // added to the provider's clock (SetSkew)
}

// skewClock is the real clock moved by the provider's skew.
type skewClock struct {
	clockwork.Clock
	skew *atomic.Int64
}

func (c skewClock) Now() time.Time { return time.Now().Add(time.Duration(c.skew.Load())) }

// NewSAMLIdP starts an identity provider for tb.
func NewSAMLIdP(tb testing.TB) *SAMLIdP {
	tb.Helper()
	key, cert := SelfSigned(tb, "samlidp.test")
	p := &SAMLIdP{Key: key, Cert: cert}
	p.HTTP = httptest.NewUnstartedServer(nil)
	p.URL = "http://" + p.HTTP.Listener.Addr().String()
	u, _ := url.Parse(p.URL)
	srv, err := samlidp.New(samlidp.Options{URL: *u, Key: key, Certificate: cert, Store: &samlidp.MemoryStore{},
		Logger: quietLogger{}, Clock: dsig.NewFakeClock(skewClock{Clock: clockwork.NewRealClock(), skew: &p.skew})})
	if err != nil {
		tb.Fatal(err)
	}
	p.Server = srv
	p.HTTP.Config.Handler = srv
	p.HTTP.Start()
	tb.Cleanup(p.HTTP.Close)
	return p
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}
func (quietLogger) Print(...any)          {}
func (quietLogger) Println(...any)        {}
func (quietLogger) Fatal(...any)          {}
func (quietLogger) Fatalf(string, ...any) {}
func (quietLogger) Fatalln(...any)        {}
func (quietLogger) Panic(...any)          {}
func (quietLogger) Panicf(string, ...any) {}
func (quietLogger) Panicln(...any)        {}

// SelfSigned returns an RSA key and a self-signed certificate for it,
// valid from an hour ago for a year.
func SelfSigned(tb testing.TB, name string) (*rsa.PrivateKey, *x509.Certificate) {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return key, cert
}

// EntityID is the provider's entity ID (its metadata URL).
func (p *SAMLIdP) EntityID() string { return p.URL + "/metadata" }

// Metadata is the provider's metadata XML, as an admin downloads it.
func (p *SAMLIdP) Metadata(tb testing.TB) string {
	tb.Helper()
	out, err := xml.MarshalIndent(p.Server.IDP.Metadata(), "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return string(out)
}

// SetSkew moves the provider's clock by d (negative: it lags): what it
// signs says so.
func (p *SAMLIdP) SetSkew(d time.Duration) { p.skew.Store(int64(d)) }

// AddUser adds (or replaces) a user who signs in as name with password
// and whose NameID is email (in the emailAddress format).
func (p *SAMLIdP) AddUser(tb testing.TB, name, email, password string) {
	tb.Helper()
	p.admin(tb, "PUT", "/users/"+name, `{"email":`+jsonString(email)+`,"password":`+jsonString(password)+
		`,"common_name":"SAML Person","given_name":"SAML","surname":"Person"}`)
}

// RegisterSP tells the provider about a service provider from its
// metadata (what an admin pastes into Okta or Entra ID).
func (p *SAMLIdP) RegisterSP(tb testing.TB, name string, metadata []byte) {
	tb.Helper()
	p.admin(tb, "PUT", "/services/"+name, string(metadata))
}

// AddShortcut makes /login/{name} start an IdP-initiated sign-in to the
// service provider with that entity ID.
func (p *SAMLIdP) AddShortcut(tb testing.TB, name, spEntityID string) {
	tb.Helper()
	p.admin(tb, "PUT", "/shortcuts/"+name, `{"service_provider":`+jsonString(spEntityID)+`}`)
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&15])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func (p *SAMLIdP) admin(tb testing.TB, method, path, body string) {
	tb.Helper()
	req, _ := http.NewRequest(method, p.URL+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		tb.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
}

// SAMLPost is the form a provider's page posts to the service provider's
// assertion consumer service.
type SAMLPost struct {
	ACS          string
	SAMLResponse string
	RelayState   string
}

// Form is the post as form values.
func (s SAMLPost) Form() url.Values {
	return url.Values{"SAMLResponse": {s.SAMLResponse}, "RelayState": {s.RelayState}}
}

var (
	formAction  = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)"`)
)

// hiddenForm reads the action and the hidden fields of the page's form.
func hiddenForm(tb testing.TB, page []byte) (string, url.Values) {
	tb.Helper()
	m := formAction.FindSubmatch(page)
	if m == nil {
		tb.Fatalf("no form in the provider's page: %s", page)
	}
	vals := url.Values{}
	for _, h := range hiddenInput.FindAllSubmatch(page, -1) {
		vals.Set(html.UnescapeString(string(h[1])), html.UnescapeString(string(h[2])))
	}
	return html.UnescapeString(string(m[1])), vals
}

// readPage reads an answer of 200 (readPage(tb)(hc.Get(u))).
func readPage(tb testing.TB) func(*http.Response, error) []byte {
	return func(resp *http.Response, err error) []byte { tb.Helper(); return mustPage(tb, resp, err) }
}

func mustPage(tb testing.TB, resp *http.Response, err error) []byte {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("%s %s: %d %s", resp.Request.Method, resp.Request.URL, resp.StatusCode, b)
	}
	return b
}

// SignIn follows start (a service provider URL that redirects to the
// provider with an AuthnRequest) with hc, signs in at the provider as
// user, and returns the response form the provider's page would post,
// without posting it.
func (p *SAMLIdP) SignIn(tb testing.TB, hc *http.Client, start, user, password string) SAMLPost {
	tb.Helper()
	page := readPage(tb)(hc.Get(start)) // the provider's login form, carrying the request
	action, form := hiddenForm(tb, page)
	form.Set("user", user)
	form.Set("password", password)
	return p.responseForm(tb, hc, action, form)
}

// IdPInitiated signs in at the provider as user and follows the
// shortcut: the provider's unsolicited response, not posted.
func (p *SAMLIdP) IdPInitiated(tb testing.TB, hc *http.Client, shortcut, user, password string) SAMLPost {
	tb.Helper()
	readPage(tb)(hc.PostForm(p.URL+"/login", url.Values{"user": {user}, "password": {password}}))
	page := readPage(tb)(hc.Get(p.URL + "/login/" + shortcut))
	action, form := hiddenForm(tb, page)
	return SAMLPost{ACS: action, SAMLResponse: form.Get("SAMLResponse"), RelayState: form.Get("RelayState")}
}

func (p *SAMLIdP) responseForm(tb testing.TB, hc *http.Client, action string, form url.Values) SAMLPost {
	tb.Helper()
	page := readPage(tb)(hc.PostForm(action, form))
	acs, vals := hiddenForm(tb, page)
	if vals.Get("SAMLResponse") == "" {
		tb.Fatalf("the provider answered no SAML response: %s", page)
	}
	return SAMLPost{ACS: acs, SAMLResponse: vals.Get("SAMLResponse"), RelayState: vals.Get("RelayState")}
}

// SAMLConnectionOptions change the connection SAMLConnection makes.
type SAMLConnectionOptions struct {
	AllowIdPInitiated bool
	DefaultRole       roster.Role
	Disabled          bool
}

// SAMLConnection gives the account (Auth ID accountID) the verified
// domain (unless it holds it already) and a SAML connection to the
// provider, straight in the database (what the connection API does once
// the TXT record is seen and the metadata read; servertest may not import
// store, so it writes the rows itself), registers the connection's
// service provider metadata (from GET /sso/saml/{cid}/metadata) with the
// provider, and returns the connection's ID.
func (e *Env) SAMLConnection(tb testing.TB, accountID, domain string, p *SAMLIdP, o SAMLConnectionOptions) int64 {
	tb.Helper()
	ctx := context.Background()
	acct, err := e.Server.DB.Account(ctx, accountID)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now().UnixMicro()
	if d, err := e.Server.DB.VerifiedDomain(ctx, domain); domain != "" && (err != nil || d.AccountSeq != acct.Seq) {
		e.insert(tb, `INSERT INTO domains (account_id, domain, token, created_at, verified_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			acct.Seq, domain, "test-token", now, now)
	}
	cid := e.insert(tb, `INSERT INTO sso_connections (account_id, type, name, enabled, default_role, metadata_xml, idp_entity_id,
		allow_idp_initiated, created_at) VALUES (?, 'saml', 'Test IdP', ?, ?, ?, ?, ?, ?) RETURNING id`,
		acct.Seq, boolInt(!o.Disabled), int(o.DefaultRole), p.Metadata(tb), p.EntityID(), boolInt(o.AllowIdPInitiated), now)
	resp, err := http.Get(e.URL + "/sso/saml/" + itoa(cid) + "/metadata")
	if err != nil {
		tb.Fatal(err)
	}
	md, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(md, []byte("EntityDescriptor")) {
		tb.Fatalf("SP metadata: %d %s", resp.StatusCode, md)
	}
	p.RegisterSP(tb, "roster-"+itoa(cid), md)
	return cid
}

// insert runs an INSERT ... RETURNING id written with ? placeholders
// (numbered for PostgreSQL here) and returns the ID.
func (e *Env) insert(tb testing.TB, query string, args ...any) int64 {
	tb.Helper()
	if e.Server.DB.Dialect() != "sqlite" {
		for i := 1; strings.Contains(query, "?"); i++ {
			query = strings.Replace(query, "?", "$"+itoa(int64(i)), 1)
		}
	}
	var id int64
	if err := e.Server.DB.SQL().QueryRow(query, args...).Scan(&id); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	return id
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func itoa(n int64) string { return big.NewInt(n).String() }
