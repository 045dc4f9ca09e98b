package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

// The database fails under a request (issue 26): the answer is 503
// unavailable with Retry-After, never 500 (a bug) and never 404 (an
// absence), and nothing acknowledged is lost.

// answers counts the statuses a test got, so it can assert that no 500
// was among them, whatever else it checked.
type answers struct {
	mu  sync.Mutex
	n   map[int]int
	bad []string // the 500s
}

func (a *answers) do(c *servertest.Client, method, path string, body any) servertest.Response {
	r := c.Do(method, path, body)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n == nil {
		a.n = map[int]int{}
	}
	a.n[r.Status]++
	if r.Status >= 500 && r.Status != http.StatusServiceUnavailable {
		a.bad = append(a.bad, fmt.Sprintf("%s %s: %d %s", method, path, r.Status, r.Body))
	}
	return r
}

// none500 fails the test when any answer was a 5xx other than 503.
func (a *answers) none500(t *testing.T) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.bad) > 0 {
		t.Errorf("%d answers were server errors other than 503:\n%s", len(a.bad), strings.Join(a.bad, "\n"))
	}
	t.Logf("statuses: %v", a.n)
}

// unavailable fails unless r is 503 unavailable with a Retry-After, and
// its message names no host.
func unavailable(t *testing.T, what string, r servertest.Response) {
	t.Helper()
	if r.Status != http.StatusServiceUnavailable || r.Code() != "unavailable" || r.Header.Get("Retry-After") == "" {
		t.Errorf("%s: %d %q Retry-After %q, want 503 unavailable with Retry-After: %s", what, r.Status, r.Code(), r.Header.Get("Retry-After"), r.Body)
	}
	if strings.Contains(string(r.Body), "127.0.0.1") || strings.Contains(string(r.Body), "postgres") {
		t.Errorf("%s: the answer names the database: %s", what, r.Body)
	}
}

// proxied starts a server whose PostgreSQL connections go through a TCP
// proxy the test cuts and stalls; followers poll only every 5 s.
func proxied(t *testing.T, tweak func(*server.Config)) (*servertest.Env, *servertest.TCPProxy) {
	t.Helper()
	dsn := servertest.NewPostgresDatabase(t, postgresBase(t))
	proxy, pdsn := servertest.NewPostgresProxy(t, dsn)
	env := servertest.New(t, servertest.Options{Database: pdsn, Tweak: tweak})
	return env, proxy
}

// team is an owner, their committed account and a developer in it.
func team(t *testing.T, env *servertest.Env) (owner *servertest.Client, acct string, devID int64) {
	t.Helper()
	owner, acct = env.SignUp(t, "owner@acme-corp.com", "Owner")
	env.Commit(t, acct)
	_, devID = env.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	return owner, acct, devID
}

func role(t *testing.T, c *servertest.Client, acct string, uid int64) string {
	t.Helper()
	for _, m := range c.Must(200, "GET", "/v1/accounts/"+acct+"/members?limit=100", nil).Objects() {
		if int64(m["user_id"].(float64)) == uid {
			return m["role"].(string)
		}
	}
	t.Fatalf("member %d not listed", uid)
	return ""
}

// TestDBFail_CutAnswers503 cuts the database connection under a server:
// member requests (reads, a role change, the team list, the lookup of an
// existing account) answer 503 with Retry-After from the first moment,
// before the index turns stale, never 500 and never 404; after Restore
// everything works again and nothing acknowledged was lost.
func TestDBFail_CutAnswers503(t *testing.T) {
	env, proxy := proxied(t, nil)
	owner, acct, devID := team(t, env)
	var a answers
	member := fmt.Sprintf("/v1/accounts/%s/members/%d", acct, devID)
	a.do(owner, "PATCH", member, map[string]string{"role": "support"}) // acknowledged before the cut
	if got := role(t, owner, acct, devID); got != "support" {
		t.Fatalf("role before the cut = %q", got)
	}

	proxy.Cut()
	requests := []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1/accounts/" + acct, nil}, // the gate's lookup of an existing account
		{"GET", "/v1/accounts/" + acct + "/members", nil},
		{"PATCH", member, map[string]string{"role": "admin"}},
		{"GET", "/v1/accounts/" + acct + "/invitations", nil},
		{"GET", "/v1/me", nil},
	}
	for round := range 3 {
		for _, q := range requests {
			unavailable(t, fmt.Sprintf("cut, round %d: %s %s", round, q.method, q.path), a.do(owner, q.method, q.path, q.body))
		}
	}

	proxy.Restore()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := a.do(owner, "GET", "/v1/accounts/"+acct+"/members", nil)
		if r.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after Restore the team list still answers %d: %s", r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := role(t, owner, acct, devID); got != "support" {
		t.Errorf("after Restore the role is %q: the acknowledged change was lost, or a refused one applied", got)
	}
	a.do(owner, "PATCH", member, map[string]string{"role": "admin"})
	if got := role(t, owner, acct, devID); got != "admin" {
		t.Errorf("a role change after Restore: role %q", got)
	}
	a.none500(t)
}

// TestDBFail_StallBoundedByTimeout stalls the connection (open, silent)
// for longer than ROSTER_DB_TIMEOUT (1 s here): a role change answers 503
// within about the timeout, /healthz answers 503 within a couple of
// seconds, and after Restore everything works.
func TestDBFail_StallBoundedByTimeout(t *testing.T) {
	const timeout = time.Second
	env, proxy := proxied(t, func(c *server.Config) { c.DBTimeout = timeout })
	owner, acct, devID := team(t, env)
	var a answers
	member := fmt.Sprintf("/v1/accounts/%s/members/%d", acct, devID)

	proxy.Stall()
	defer proxy.Restore()
	// Requests in flight at once hold every connection they can get.
	var wg sync.WaitGroup
	var slowest atomic.Int64
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			r := a.do(owner, "PATCH", member, map[string]string{"role": []string{"support", "admin"}[i%2]})
			d := time.Since(start)
			for {
				old := slowest.Load()
				if int64(d) <= old || slowest.CompareAndSwap(old, int64(d)) {
					break
				}
			}
			unavailable(t, "PATCH during a stall", r)
		}()
	}
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	resp, err := http.Get(env.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Since(start); resp.StatusCode != http.StatusServiceUnavailable || d > 3*time.Second {
		t.Errorf("/healthz during a stall: %d after %v, want 503 within 3 s", resp.StatusCode, d)
	}
	wg.Wait()
	if d := time.Duration(slowest.Load()); d > timeout+3*time.Second {
		t.Errorf("the slowest PATCH during a stall took %v, want within the database timeout (%v) and 3 s", d, timeout)
	}

	proxy.Restore()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := a.do(owner, "PATCH", member, map[string]string{"role": "admin"})
		if r.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after Restore a role change still answers %d: %s", r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := role(t, owner, acct, devID); got != "admin" {
		t.Errorf("after Restore: role %q, want admin", got)
	}
	a.none500(t)
}

// TestDBFail_NotFoundOnlyWhenAbsent: an account that does not exist is
// 404 while the database answers; while it does not, an existing account
// and an unknown one are both 503 (the server cannot know), never 404.
func TestDBFail_NotFoundOnlyWhenAbsent(t *testing.T) {
	env, proxy := proxied(t, nil)
	owner, acct, _ := team(t, env)
	var a answers
	if r := a.do(owner, "GET", "/v1/accounts/MA000000000000000000", nil); r.Status != 404 || r.Code() != "not_found" {
		t.Errorf("an unknown account with the database up: %d %s", r.Status, r.Body)
	}
	if r := a.do(owner, "GET", "/v1/accounts/"+acct, nil); r.Status != 200 {
		t.Errorf("the owner's account with the database up: %d %s", r.Status, r.Body)
	}
	proxy.Cut()
	unavailable(t, "an existing account, database cut", a.do(owner, "GET", "/v1/accounts/"+acct, nil))
	unavailable(t, "an unknown account, database cut", a.do(owner, "GET", "/v1/accounts/MA000000000000000000", nil))
	// The account's own credentials (HTTP Basic): a failed lookup is not
	// a wrong token.
	basic := env.Client(t)
	basic.Header.Set("Authorization", "Basic "+basicAuth(acct, "not-the-token"))
	unavailable(t, "account credentials, database cut", a.do(basic, "GET", "/v1/accounts/"+acct, nil))
	proxy.Restore()
	a.none500(t)
}

func basicAuth(user, pass string) string {
	req, _ := http.NewRequest("GET", "http://x", nil)
	req.SetBasicAuth(user, pass)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

// TestDBFail_RetriedTransactionsArePure fails each statement of the first
// attempt of a create, one at a time (as a serialization failure would on
// PostgreSQL): every retried create answers 201 with what was asked, once.
func TestDBFail_RetriedTransactionsArePure(t *testing.T) {
	env := servertest.New(t)
	owner, acct := env.SignUp(t, "owner@acme-corp.com", "Owner")
	env.Commit(t, acct)
	var a answers
	var stmt atomic.Int64
	env.Server.DB.FailStatement = func(attempt, n int) bool { return attempt == 1 && int64(n) == stmt.Load() }
	defer func() { env.Server.DB.FailStatement = nil }()
	for n := int64(1); n <= 12; n++ {
		stmt.Store(n)
		name := fmt.Sprintf("App %d", n)
		r := a.do(owner, "POST", "/v1/accounts/"+acct+"/applications", map[string]any{"name": name, "answer_url": "https://example.com/answer"})
		if r.Status != 201 || r.Str("name") != name || r.Str("answer_url") != "https://example.com/answer" {
			t.Errorf("application with statement %d of the first attempt failed: %d %s", n, r.Status, r.Body)
		}
		number := fmt.Sprintf("+1415555%04d", n)
		r = a.do(owner, "POST", "/v1/accounts/"+acct+"/numbers", map[string]any{"number": number, "alias": "Line " + fmt.Sprint(n)})
		if r.Status != 201 || r.Str("number") != number || r.Str("alias") != "Line "+fmt.Sprint(n) {
			t.Errorf("number with statement %d of the first attempt failed: %d %s", n, r.Status, r.Body)
		}
	}
	env.Server.DB.FailStatement = nil
	if n := env.Count(t, `SELECT COUNT(*) FROM applications`); n != 12 {
		t.Errorf("%d applications, want 12 (one per create)", n)
	}
	if n := env.Count(t, `SELECT COUNT(*) FROM numbers`); n != 12 {
		t.Errorf("%d numbers, want 12", n)
	}
	a.none500(t)
}

// TestDBFail_SQLiteFullDisk fills SQLite up (PRAGMA max_page_count at the
// file's page count on every connection of the pool): writes and logins
// answer 503 with Retry-After and leave nothing half-written; once the
// limit is raised, all works again.
func TestDBFail_SQLiteFullDisk(t *testing.T) {
	env := servertest.New(t, servertest.Options{Database: filepath.Join(t.TempDir(), "roster.db")})
	owner, acct, devID := team(t, env)
	var a answers
	member := fmt.Sprintf("/v1/accounts/%s/members/%d", acct, devID)
	sdb := env.Server.DB.SQL()
	var pages int64
	if err := sdb.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	maxPages(t, sdb, pages)

	// Fill what free room the pages have: each login adds a session, each
	// role change an audit event and a change, until the file refuses.
	login := func() servertest.Response {
		return a.do(env.Client(t), "POST", "/v1/login", map[string]string{"email": "owner@acme-corp.com", "password": servertest.Password})
	}
	roles := []string{"support", "admin"}
	loginFull, patchFull := false, false
	for i := 0; i < 400 && !(loginFull && patchFull); i++ {
		if !loginFull {
			loginFull = login().Status == 503
		}
		if !patchFull {
			patchFull = a.do(owner, "PATCH", member, map[string]string{"role": roles[i%2]}).Status == 503
		}
	}
	if !loginFull || !patchFull {
		t.Fatalf("the database never filled up (login %v, role change %v)", loginFull, patchFull)
	}

	sessions := env.Count(t, `SELECT COUNT(*) FROM sessions`)
	audits := env.Count(t, `SELECT COUNT(*) FROM audit_events`)
	before := role(t, owner, acct, devID)
	other := map[string]string{"support": "admin", "admin": "support"}[before]
	for range 3 {
		unavailable(t, "login, disk full", login())
		unavailable(t, "role change, disk full", a.do(owner, "PATCH", member, map[string]string{"role": other}))
	}
	if got := role(t, owner, acct, devID); got != before {
		t.Errorf("a refused role change applied: %q, was %q", got, before)
	}
	if n := env.Count(t, `SELECT COUNT(*) FROM sessions`); n != sessions {
		t.Errorf("refused logins left %d sessions, was %d", n, sessions)
	}
	if n := env.Count(t, `SELECT COUNT(*) FROM audit_events`); n != audits {
		t.Errorf("refused writes left %d audit events, was %d", n, audits)
	}

	maxPages(t, sdb, 1<<30)
	if r := login(); r.Status != 200 {
		t.Errorf("login after the limit was raised: %d %s", r.Status, r.Body)
	}
	if r := a.do(owner, "PATCH", member, map[string]string{"role": other}); r.Status != 200 {
		t.Errorf("role change after the limit was raised: %d %s", r.Status, r.Body)
	}
	if got := role(t, owner, acct, devID); got != other {
		t.Errorf("role after the limit was raised: %q, want %q", got, other)
	}
	a.none500(t)
}

// maxPages sets PRAGMA max_page_count (a setting of each connection) on
// every connection of the pool: it takes them all at once, so each is a
// different one, and the pool keeps them (SQLite's pool never closes idle
// connections).
func maxPages(t *testing.T, sdb *sql.DB, n int64) {
	t.Helper()
	ctx := context.Background()
	conns := make([]*sql.Conn, sdb.Stats().MaxOpenConnections)
	for i := range conns {
		c, err := sdb.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	for _, c := range conns {
		if _, err := c.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", n)); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
}
