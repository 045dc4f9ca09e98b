package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

// TestFailover_SynchronousStandbyPromoted: two replicas on a PostgreSQL
// cluster of the test's own (a primary and a synchronous standby, named
// together in ROSTER_DATABASE with target_session_attrs=read-write) take
// role changes, invitations, new applications and checks in parallel; the
// primary is killed with SIGKILL and the standby promoted. Then: every
// acknowledged write is in the database (0 lost), no answer was 500 (a
// 503 carries Retry-After), each replica took writes again by itself, and
// each replica's check index equals the database. The recovery time is
// logged (-v).
func TestFailover_SynchronousStandbyPromoted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	cl := servertest.NewPGCluster(t, servertest.PGClusterOptions{Standbys: 1, Sync: true})
	dsn := cl.DSN(cl.CreateDatabase(t))
	a := servertest.New(t, servertest.Options{Database: dsn})
	b := servertest.New(t, servertest.Options{Database: dsn, Mail: a.Mail})
	owner, acct := a.SignUp(t, "owner@failover-corp.com", "Owner")
	a.Commit(t, acct)
	ids := a.SeedMembers(t, acct, 24)
	if err := b.Server.Service.LoadIndex(context.Background()); err != nil {
		t.Fatal(err)
	}
	ownerB := on(t, b, owner, a)

	f := &failoverRun{t: t, acct: acct, ackRole: map[int64]string{}, pending: map[int64][]string{}, statuses: map[string]int{}}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i, r := range []struct {
		name string
		env  *servertest.Env
		c    *servertest.Client
	}{{"a", a, owner}, {"b", b, ownerB}} {
		mine := ids[i*12 : (i+1)*12]
		wg.Add(4)
		go func() { defer wg.Done(); f.roleWriter(ctx, r.name, r.env, r.c, mine) }()
		go func() { defer wg.Done(); f.inviteWriter(ctx, r.name, r.env, r.c) }()
		go func() { defer wg.Done(); f.appWriter(ctx, r.name, r.env, r.c) }()
		go func() { defer wg.Done(); f.checker(ctx, r.name, r.env, ids) }()
	}

	time.Sleep(1500 * time.Millisecond) // writes acknowledged before the kill
	f.mu.Lock()
	before := f.acked
	f.mu.Unlock()
	if before == 0 {
		stop()
		wg.Wait()
		t.Fatalf("no write acknowledged before the kill: %v", f.statuses)
	}
	cl.Primary.Kill(t)
	killed := time.Now() // the postmaster and its children are gone
	f.setKilled(killed)
	// What Patroni or CloudNativePG take to decide: a moment.
	time.Sleep(300 * time.Millisecond)
	cl.Standbys[0].Promote(t)
	promoted := time.Now()

	// Run until both replicas have written again and then two seconds
	// more, at most 25 s.
	deadline := killed.Add(25 * time.Second)
	for {
		ra, rb := f.recovered("a"), f.recovered("b")
		if !ra.IsZero() && !rb.IsZero() && time.Since(maxTime(ra, rb)) > 2*time.Second {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	wg.Wait()

	f.mu.Lock()
	defer f.mu.Unlock()
	t.Logf("answers by kind and status: %v", f.statuses)
	t.Logf("promotion done %v after the kill", promoted.Sub(killed).Round(time.Millisecond))
	for _, r := range []string{"a", "b"} {
		first := f.firstOK[r]
		if first.IsZero() {
			t.Errorf("replica %s: no write succeeded in the 25 s after the kill", r)
			continue
		}
		t.Logf("replica %s: first successful write %v after the kill (%v after the promotion); every write succeeding from %v after the kill",
			r, first.Sub(killed).Round(time.Millisecond), first.Sub(promoted).Round(time.Millisecond), f.lastFail[r].Sub(killed).Round(time.Millisecond))
	}
	if len(f.internal) > 0 {
		sort.Strings(f.internal)
		t.Errorf("%d answers were 500 (want 0: 503 with Retry-After during the switch); first ones: %v", len(f.internal), f.internal[:min(5, len(f.internal))])
	}
	if len(f.absent) > 0 {
		t.Errorf("%d answers were 404 for an account and members that exist (want 0); first ones: %v", len(f.absent), f.absent[:min(5, len(f.absent))])
	}
	if len(f.internal) > 0 && testing.Verbose() {
		for _, e := range []*servertest.Env{a, b} {
			for _, l := range strings.Split(e.Logs.String(), "\n") {
				if strings.Contains(l, "level=ERROR") {
					t.Logf("%s: %s", e.URL, l)
				}
			}
		}
	}
	if f.noRetryAfter > 0 {
		t.Errorf("%d answers 503 without Retry-After", f.noRetryAfter)
	}

	// 0 lost: every acknowledged write is on the promoted standby.
	db := cl.Standbys[0].Open(t, strings.TrimPrefix(dsnDatabase(dsn), "/"))
	defer db.Close()
	lost := 0
	for _, email := range f.invited {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM invitations WHERE email = $1`, email).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			lost++
			t.Errorf("acknowledged invitation of %s: %d rows", email, n)
		}
	}
	for _, name := range f.apps {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM applications WHERE name = $1`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			lost++
			t.Errorf("acknowledged application %s: %d rows", name, n)
		}
	}
	roles := dbRoles(t, db)
	for uid, want := range f.ackRole {
		got := roles[uid]
		// A write answered 503 may still have committed: after the last
		// acknowledged role, one of the unacknowledged ones may hold.
		ok := got == want
		for _, p := range f.pending[uid] {
			ok = ok || got == p
		}
		if !ok {
			lost++
			t.Errorf("member %d: role %q in the database, last acknowledged %q (unacknowledged after it: %v)", uid, got, want, f.pending[uid])
		}
	}
	t.Logf("acknowledged writes: %d (%d before the kill); lost: %d", f.acked, before, lost)

	// Each replica's index equals the database.
	var latest int64
	if err := db.QueryRow(`SELECT COALESCE(MAX(id), 0) FROM changes`).Scan(&latest); err != nil {
		t.Fatal(err)
	}
	var memberships int
	if err := db.QueryRow(`SELECT COUNT(*) FROM members`).Scan(&memberships); err != nil {
		t.Fatal(err)
	}
	for _, e := range []*servertest.Env{a, b} {
		if e.Server.DB.ServerSwitches() == 0 {
			t.Errorf("%s: no server switch seen after the failover", e.URL)
		}
		waitUntil(t, func() bool { return e.Server.Service.Revision() >= latest })
		if n := e.Server.Service.IndexedMembers(); n != memberships {
			t.Errorf("%s: the index holds %d memberships, the database %d", e.URL, n, memberships)
		}
		p := e.Platform(t)
		for uid, want := range roles {
			r := p.Must(200, "POST", "/v1/authz/check", map[string]any{"account_id": acct, "user_id": uid, "permission": "numbers.view"})
			if r.Str("role") != want {
				t.Errorf("%s: member %d has role %q in the index, %q in the database", e.URL, uid, r.Str("role"), want)
			}
		}
	}
}

// failoverRun records what the workload saw.
type failoverRun struct {
	t    *testing.T
	acct string

	mu           sync.Mutex
	killed       time.Time
	statuses     map[string]int       // "kind status" -> count
	internal     []string             // the 500s: what and why
	absent       []string             // the 404s: what exists answered as absent
	noRetryAfter int                  // 503s without Retry-After
	acked        int                  // writes acknowledged
	ackRole      map[int64]string     // the last acknowledged role of each member
	pending      map[int64][]string   // roles written since, unacknowledged
	invited      []string             // acknowledged invitations' addresses
	apps         []string             // acknowledged applications' names
	firstOK      map[string]time.Time // per replica: the first write acknowledged after the kill
	lastFail     map[string]time.Time // per replica: the end of the last write answered 5xx after the kill
}

func (f *failoverRun) setKilled(at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.killed = at
	f.firstOK, f.lastFail = map[string]time.Time{}, map[string]time.Time{}
}

func (f *failoverRun) recovered(replica string) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.firstOK[replica]
}

// send makes one request and records its answer; ok is whether it was
// acknowledged (2xx). A transport error is recorded as status 0.
func (f *failoverRun) send(replica string, e *servertest.Env, c *servertest.Client, kind, method, path string, body any) (int, bool) {
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, e.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range c.Header {
		req.Header[k] = v
	}
	start := time.Now()
	status, retryAfter, text := 0, "", ""
	resp, err := c.HTTP.Do(req)
	if err == nil {
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		status, retryAfter, text = resp.StatusCode, resp.Header.Get("Retry-After"), string(raw)
	} else {
		text = err.Error()
	}
	end := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statuses[fmt.Sprintf("%s %d", kind, status)]++
	switch {
	case status >= 500 && status != 503, status == 0:
		f.internal = append(f.internal, fmt.Sprintf("%s %s on %s: %d %s", kind, path, replica, status, strings.TrimSpace(text)))
	case status == 503 && retryAfter == "":
		f.noRetryAfter++
	case status == 404:
		// The account and its members exist throughout: a 404 is a
		// lookup that failed answered as an absence (a reload after the
		// switch emptied the index while it was refilled).
		f.absent = append(f.absent, fmt.Sprintf("%s %s on %s: %s", kind, path, replica, strings.TrimSpace(text)))
	}
	ok := status >= 200 && status < 300
	if kind == "check" {
		return status, ok
	}
	if ok {
		f.acked++
	}
	if !f.killed.IsZero() && start.After(f.killed) {
		if ok && f.firstOK[replica].IsZero() {
			f.firstOK[replica] = end
		}
		if status >= 500 || status == 0 {
			f.lastFail[replica] = end
		}
	}
	return status, ok
}

func (f *failoverRun) roleWriter(ctx context.Context, replica string, e *servertest.Env, c *servertest.Client, members []int64) {
	roles := []string{"developer", "finance_analyst", "support"}
	for i := 0; ctx.Err() == nil; i++ {
		uid := members[i%len(members)]
		role := roles[(i/len(members))%len(roles)]
		f.mu.Lock()
		f.pending[uid] = append(f.pending[uid], role)
		f.mu.Unlock()
		if _, ok := f.send(replica, e, c, "role", "PATCH", fmt.Sprintf("/v1/accounts/%s/members/%d", f.acct, uid), map[string]string{"role": role}); ok {
			f.mu.Lock()
			f.ackRole[uid], f.pending[uid] = role, nil
			f.mu.Unlock()
		}
		pause(ctx, 5*time.Millisecond)
	}
}

func (f *failoverRun) inviteWriter(ctx context.Context, replica string, e *servertest.Env, c *servertest.Client) {
	// An account sends at most 100 invitation mails an hour: 45 per
	// replica, 10 a second.
	for i := 0; ctx.Err() == nil && i < 45; i++ {
		email := fmt.Sprintf("invitee-%s-%d@failover-corp.com", replica, i)
		if _, ok := f.send(replica, e, c, "invite", "POST", "/v1/accounts/"+f.acct+"/invitations", map[string]string{"email": email, "role": "developer"}); ok {
			f.mu.Lock()
			f.invited = append(f.invited, email)
			f.mu.Unlock()
		}
		pause(ctx, 100*time.Millisecond)
	}
}

func (f *failoverRun) appWriter(ctx context.Context, replica string, e *servertest.Env, c *servertest.Client) {
	for i := 0; ctx.Err() == nil; i++ {
		name := fmt.Sprintf("App %s %d", replica, i)
		if _, ok := f.send(replica, e, c, "application", "POST", "/v1/accounts/"+f.acct+"/applications",
			map[string]string{"name": name, "answer_url": "https://failover-corp.com/answer"}); ok {
			f.mu.Lock()
			f.apps = append(f.apps, name)
			f.mu.Unlock()
		}
		pause(ctx, 5*time.Millisecond)
	}
}

func (f *failoverRun) checker(ctx context.Context, replica string, e *servertest.Env, members []int64) {
	p := e.Platform(f.t)
	for i := 0; ctx.Err() == nil; i++ {
		f.send(replica, e, p, "check", "POST", "/v1/authz/check",
			map[string]any{"account_id": f.acct, "user_id": members[i%len(members)], "permission": "numbers.view"})
		pause(ctx, 2*time.Millisecond)
	}
}

func pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// dsnDatabase is the path of a postgres:// URL: "/name".
func dsnDatabase(dsn string) string {
	rest := dsn[strings.Index(dsn, "://")+3:]
	rest = rest[strings.Index(rest, "/"):]
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// dbRoles reads every membership's role by user ID (the API's names).
func dbRoles(t *testing.T, db *sql.DB) map[int64]string {
	t.Helper()
	names := []string{"", "owner", "admin", "developer", "finance_analyst", "support"}
	rows, err := db.Query(`SELECT user_id, role FROM members`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var uid int64
		var role int
		if err := rows.Scan(&uid, &role); err != nil {
			t.Fatal(err)
		}
		out[uid] = names[role]
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSynchronousStandby_WriteAnsweredOnceOnTheStandby: a write is
// answered only once its commit has reached the synchronous standby, even
// though its COMMIT itself does not wait (the change log's lock is not
// held through the flush: store's commitWith). With the standby gone,
// the primary cannot confirm any commit: a role change answers 503 +
// Retry-After after the database timeout, never 200.
func TestSynchronousStandby_WriteAnsweredOnceOnTheStandby(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	cl := servertest.NewPGCluster(t, servertest.PGClusterOptions{Standbys: 1, Sync: true})
	const timeout = 2 * time.Second
	e := servertest.New(t, servertest.Options{Database: cl.DSN(cl.CreateDatabase(t)), Tweak: func(c *server.Config) { c.DBTimeout = timeout }})
	owner, acct := e.SignUp(t, "owner@sync-corp.com", "Owner")
	e.Commit(t, acct)
	_, devID := e.Join(t, owner, acct, "dev@sync-corp.com", "developer")
	path := fmt.Sprintf("/v1/accounts/%s/members/%d", acct, devID)
	start := time.Now()
	owner.Must(200, "PATCH", path, map[string]string{"role": "support"})
	t.Logf("a role change with the standby up: %v", time.Since(start).Round(time.Millisecond))

	cl.Standbys[0].Kill(t)
	start = time.Now()
	r := owner.Do("PATCH", path, map[string]string{"role": "admin"})
	took := time.Since(start)
	if r.Status != 503 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("a role change with the synchronous standby gone: %d %s (Retry-After %q) after %v; want 503 with Retry-After: it was answered before its commit reached the standby",
			r.Status, r.Body, r.Header.Get("Retry-After"), took)
	}
	if took < timeout-100*time.Millisecond {
		t.Errorf("the 503 came after %v, before the database timeout (%v)", took, timeout)
	}
	t.Logf("with the standby gone: %d after %v", r.Status, took.Round(time.Millisecond))
}
