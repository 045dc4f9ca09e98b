// Package servertest starts real Roster servers for tests: a real database
// (a SQLite file in a temporary folder, or a fresh PostgreSQL database when
// ROSTER_TEST_DATABASE names a postgres:// server), a real in-process SMTP
// server, and a real HTTP listener on a free port.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for making test databases

	"github.com/rosterhq/roster/loadtest/seed"
	"github.com/rosterhq/roster/mail/mailtest"
	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/store/storetest"
)

// Tokens every test server uses.
const (
	ServiceToken  = "test-service-token"
	OperatorToken = "test-operator-token"
	Password      = "correct horse battery staple"
)

// Env is one running server and its mail.
type Env struct {
	URL string
	// BaseURL is the server's own address, in its mailed links: URL
	// unless a Tweak changed it (Localhost).
	BaseURL string
	Server  *server.Server
	Mail    *mailtest.Server
	Logs    *bytes.Buffer
	DSN     string
	HTTP    *httptest.Server
	// DNS is the DNS server the service verifies domains through
	// (server.Config.DNSServer): publish a domain's TXT record in it.
	DNS *DNS
}

// Database returns a fresh database DSN: a SQLite file in tb's temporary
// folder, or a new PostgreSQL database on the server named by
// ROSTER_TEST_DATABASE (dropped when tb ends).
func Database(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("ROSTER_TEST_DATABASE")
	if base == "" || !strings.HasPrefix(base, "postgres") {
		return filepath.Join(tb.TempDir(), "roster.db")
	}
	return NewPostgresDatabase(tb, base)
}

// NewPostgresDatabase creates an empty database on the server named by
// base and returns its DSN; it is dropped when tb ends
// (storetest.NewPostgresDatabase).
func NewPostgresDatabase(tb testing.TB, base string) string {
	tb.Helper()
	return storetest.NewPostgresDatabase(tb, base)
}

// Options change a test server.
type Options struct {
	Database string           // default: Database(tb)
	Mail     *mailtest.Server // default: a new one
	DNS      *DNS             // default: a new one (replicas may share one)
	Tweak    func(*server.Config)
}

// New starts a server on a free port with a real SMTP server for its mail.
func New(tb testing.TB, opts ...Options) *Env {
	tb.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Database == "" {
		o.Database = Database(tb)
	}
	if o.Mail == nil {
		o.Mail = mailtest.NewServer(tb)
	}
	if o.DNS == nil {
		o.DNS = NewDNS(tb)
	}
	e := &Env{Mail: o.Mail, Logs: &bytes.Buffer{}, DSN: o.Database, DNS: o.DNS}
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: e.Logs}, nil))
	hs := httptest.NewUnstartedServer(nil)
	e.URL = "http://" + hs.Listener.Addr().String()
	cfg := server.Config{
		Addr: hs.Listener.Addr().String(), Database: o.Database, BaseURL: e.URL,
		SMTPURL: o.Mail.URL(), MailFrom: "Roster <no-reply@roster.test>",
		ServiceToken: ServiceToken, OperatorToken: OperatorToken,
		FollowInterval: 20 * time.Millisecond,
		// Tests are not about the flood limit (its own tests set it low):
		// under -race on two cores a queue of sign-ups may wait seconds.
		HashWait: 30 * time.Second,
		// Tests sign many people up from 127.0.0.1: the sign-up limit's own
		// tests set it back to the default (0).
		SignupsPerIP: 1_000_000,
		DNSServer:    o.DNS.Addr,
	}
	if o.Tweak != nil {
		o.Tweak(&cfg)
	}
	e.BaseURL = cfg.BaseURL
	srv, err := server.Open(context.Background(), cfg, log)
	if err != nil {
		tb.Fatalf("open server: %v", err)
	}
	e.Server = srv
	// Mail leaves through the outbox after the answer: a count of the
	// mail server's messages waits until this server sent what it wrote.
	closed := make(chan struct{})
	o.Mail.BeforeRead(func() {
		select {
		case <-closed:
		default:
			e.waitMailSent(closed)
		}
	})
	// The listener's timeouts as `roster serve` has them.
	hs.Config = srv.HTTPServer(log)
	hs.Start()
	e.HTTP = hs
	tb.Cleanup(func() {
		close(closed)
		hs.Close()
		srv.Close()
	})
	return e
}

// WaitMailSent waits until the server's outbox holds no mail waiting to
// be sent (every mail written so far reached the mail server, or was
// given up), for at most 30 s. The mail server's Messages waits so by
// itself; a test that stopped the mail server must not read it before
// starting it again.
func (e *Env) WaitMailSent(tb testing.TB) {
	tb.Helper()
	if !e.waitMailSent(nil) {
		tb.Fatalf("servertest: mail still waiting in the outbox after 30 s")
	}
}

// waitMailSent reports whether the outbox emptied within 30 s (or the
// server closed: stop).
func (e *Env) waitMailSent(stop <-chan struct{}) bool {
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := e.Server.Service.MailQueued(context.Background())
		if err != nil || n == 0 {
			return err == nil
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-stop:
			return true
		case <-time.After(5 * time.Millisecond):
		}
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// ResponseCheck, when set (by the OpenAPI suite's init), checks every
// answer a Client receives against the API description.
var ResponseCheck func(req *http.Request, status int, header http.Header, body []byte) error

// Client is a browser-like API client with its own cookies.
type Client struct {
	tb   testing.TB
	env  *Env
	HTTP *http.Client
	// Header is added to every request (e.g. Authorization).
	Header http.Header
}

// Client returns a new client with an empty cookie jar.
func (e *Env) Client(tb testing.TB) *Client {
	jar, _ := cookiejar.New(nil)
	// Two minutes: under -race beside the browser walks in CI, a batch of 50
	// invitations once took over 30 s (3.6 s alone); the tests check
	// outcomes, never speed.
	return &Client{tb: tb, env: e, HTTP: &http.Client{Jar: jar, Timeout: 2 * time.Minute}, Header: http.Header{}}
}

// Response is a decoded answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

// Code returns error.code of an error answer ("" if none).
func (r Response) Code() string {
	if e, ok := r.JSON["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

// Str returns a top-level string field.
func (r Response) Str(k string) string { s, _ := r.JSON[k].(string); return s }

// Objects returns the "objects" of a list answer.
func (r Response) Objects() []map[string]any {
	var out []map[string]any
	for _, o := range r.JSON["objects"].([]any) {
		out = append(out, o.(map[string]any))
	}
	return out
}

// Total returns meta.total_count of a list answer.
func (r Response) Total() int {
	return int(r.JSON["meta"].(map[string]any)["total_count"].(float64))
}

// Do sends a request with a JSON body (nil: none; string or []byte: raw).
func (c *Client) Do(method, path string, body any) Response {
	c.tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.tb.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.env.URL+path, rd)
	if err != nil {
		c.tb.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.Header {
		req.Header[k] = v
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.tb.Fatal(err)
	}
	r := Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	if ResponseCheck != nil {
		if err := ResponseCheck(req, resp.StatusCode, resp.Header, raw); err != nil {
			c.tb.Errorf("%s %s: the answer does not match the API description: %v", method, path, err)
		}
	}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.JSON); err != nil {
			c.tb.Fatalf("%s %s: bad JSON %q: %v", method, path, raw, err)
		}
	}
	return r
}

// Must sends the request and fails unless the status is want.
func (c *Client) Must(want int, method, path string, body any) Response {
	c.tb.Helper()
	r := c.Do(method, path, body)
	if r.Status != want {
		c.tb.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

// Refused sends the request and fails unless it answers status and code.
func (c *Client) Refused(status int, code, method, path string, body any) Response {
	c.tb.Helper()
	r := c.Do(method, path, body)
	if r.Status != status || r.Code() != code {
		c.tb.Fatalf("%s %s: got %d %q, want %d %q: %s", method, path, r.Status, r.Code(), status, code, r.Body)
	}
	return r
}

// Operator is a client with the operator token.
func (e *Env) Operator(tb testing.TB) *Client {
	c := e.Client(tb)
	c.Header.Set("Authorization", "Bearer "+OperatorToken)
	return c
}

// Platform is a client with the service token.
func (e *Env) Platform(tb testing.TB) *Client {
	c := e.Client(tb)
	c.Header.Set("Authorization", "Bearer "+ServiceToken)
	return c
}

// SignUp signs a new user up, follows the mailed verification link and
// logs in. It returns the logged-in client and the user's own account ID.
func (e *Env) SignUp(tb testing.TB, email, name string) (*Client, string) {
	tb.Helper()
	c := e.Client(tb)
	n := MailCount(e.Mail, email)
	c.Must(201, "POST", "/v1/signup", map[string]string{"email": email, "password": Password, "name": name})
	m := e.Mail.WaitFor(tb, email, n+1, 10*time.Second)
	link := mailtest.Link(tb, m.Text, e.BaseURL+"/verify/")
	c.Must(200, "POST", "/v1/verify-email", map[string]string{"token": strings.TrimPrefix(link, e.BaseURL+"/verify/")})
	c.Must(200, "POST", "/v1/login", map[string]string{"email": email, "password": Password})
	me := c.Must(200, "GET", "/v1/me", nil)
	return c, me.Str("default_account_id")
}

// Commit puts the account on the committed plan through the operator API.
func (e *Env) Commit(tb testing.TB, accountID string) {
	tb.Helper()
	e.Operator(tb).Must(200, "PUT", "/v1/admin/accounts/"+accountID+"/plan",
		map[string]any{"plan": "committed", "monthly_commitment_usd": 1000, "contract_months": 12})
}

// InviteToken invites email with role through c and returns the token
// from the mailed link.
func (e *Env) InviteToken(tb testing.TB, c *Client, accountID, email, role string) (token string, invitationID int64) {
	tb.Helper()
	n := MailCount(e.Mail, email)
	r := c.Must(201, "POST", "/v1/accounts/"+accountID+"/invitations", map[string]string{"email": email, "role": role})
	m := e.Mail.WaitFor(tb, email, n+1, 10*time.Second)
	link := mailtest.Link(tb, m.Text, e.BaseURL+"/invite/")
	return strings.TrimPrefix(link, e.BaseURL+"/invite/"), int64(r.JSON["id"].(float64))
}

// Join invites email with role and signs the invitee up from the link. It
// returns the invitee's logged-in client and user ID.
func (e *Env) Join(tb testing.TB, admin *Client, accountID, email, role string) (*Client, int64) {
	tb.Helper()
	token, _ := e.InviteToken(tb, admin, accountID, email, role)
	c := e.Client(tb)
	r := c.Must(201, "POST", "/v1/signup", map[string]string{"password": Password, "name": "Invitee", "invitation_token": token})
	return c, int64(r.JSON["user"].(map[string]any)["id"].(float64))
}

// MailCount returns how many mails to the address arrived so far.
func MailCount(m *mailtest.Server, to string) int {
	n := 0
	for _, msg := range m.Messages() {
		for _, t := range msg.To {
			if strings.EqualFold(t, to) {
				n++
			}
		}
	}
	return n
}

// Count runs a COUNT query on the server's database and returns the
// number: what a test reads to see that a refusal changed nothing. The
// query is written with ? placeholders, numbered for PostgreSQL here.
func (e *Env) Count(tb testing.TB, query string, args ...any) int {
	tb.Helper()
	if e.Server.DB.Dialect() != "sqlite" {
		for i := 1; strings.Contains(query, "?"); i++ {
			query = strings.Replace(query, "?", fmt.Sprintf("$%d", i), 1)
		}
	}
	var n int
	if err := e.Server.DB.SQL().QueryRow(query, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	return n
}

// SeedMembers adds n members to the account with Auth ID accountID through
// the load generator (seed.Members: member i is seed.Name(i) at
// seed.Email(i, the owner's domain), member n joined last) and
// reloads the server's check index so it knows them. It returns their user
// IDs, ids[i-1] for member i. 10,000 take a second or two.
func (e *Env) SeedMembers(tb testing.TB, accountID string, n int) []int64 {
	tb.Helper()
	ids, err := seed.Members(context.Background(), e.Server.DB, accountID, n)
	if err != nil {
		tb.Fatal(err)
	}
	if err := e.Server.Service.LoadIndex(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return ids
}

// SeedInvitations adds n pending invitations to the account, from its
// owner (seed.Invitations: every tenth has expired).
func (e *Env) SeedInvitations(tb testing.TB, accountID string, n int) {
	tb.Helper()
	if err := seed.Invitations(context.Background(), e.Server.DB, accountID, n); err != nil {
		tb.Fatal(err)
	}
}

// VerifyDomain adds domain to the account through c (who holds
// team.edit), publishes its TXT record in e.DNS and verifies it. It
// returns the domain's ID.
func (e *Env) VerifyDomain(tb testing.TB, c *Client, accountID, domain string) int64 {
	tb.Helper()
	r := c.Must(201, "POST", "/v1/accounts/"+accountID+"/domains", map[string]string{"domain": domain})
	v := r.JSON["verification"].(map[string]any)
	e.DNS.SetTXT(v["name"].(string), v["value"].(string))
	id := int64(r.JSON["id"].(float64))
	r = c.Must(200, "POST", fmt.Sprintf("/v1/accounts/%s/domains/%d/verify", accountID, id), nil)
	if r.Str("status") != "verified" {
		tb.Fatalf("domain %s: status %q after verifying", domain, r.Str("status"))
	}
	return id
}
