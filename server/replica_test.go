package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/httpapi"
	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
	"github.com/rosterhq/roster/store/storetest"
)

// postgresBase returns the PostgreSQL server to make test databases on, or
// skips (fails under ROSTER_REQUIRE_POSTGRES=1) when none is reachable.
func postgresBase(tb testing.TB) string {
	tb.Helper()
	base, ok := storetest.PostgresBase(tb)
	if !ok {
		tb.Skip("replicas need PostgreSQL; none reachable")
	}
	return base
}

// replicas starts two servers on one fresh PostgreSQL database, sharing
// one SMTP server, each with its own connections and its own check index.
// Followers poll only every 5 s, so what these tests see within that is
// the notification path.
func replicas(tb testing.TB, tweak func(*server.Config)) (a, b *servertest.Env) {
	dsn := servertest.NewPostgresDatabase(tb, postgresBase(tb))
	slow := func(c *server.Config) {
		c.FollowInterval = 5 * time.Second
		if tweak != nil {
			tweak(c)
		}
	}
	a = servertest.New(tb, servertest.Options{Database: withApp(dsn, "replica_a"), Tweak: slow})
	b = servertest.New(tb, servertest.Options{Database: withApp(dsn, "replica_b"), Mail: a.Mail, Tweak: slow})
	return a, b
}

func withApp(dsn, name string) string {
	u, _ := url.Parse(dsn)
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// on returns a client of env b carrying c's cookies (the same browser
// talking to another replica behind a load balancer).
func on(tb testing.TB, b *servertest.Env, c *servertest.Client, from *servertest.Env) *servertest.Client {
	nc := b.Client(tb)
	fu, _ := url.Parse(from.URL)
	bu, _ := url.Parse(b.URL)
	nc.HTTP.Jar.SetCookies(bu, c.HTTP.Jar.Cookies(fu))
	return nc
}

func TestReplicas_RemovalRefusedOnTheOther(t *testing.T) {
	a, b := replicas(t, nil)
	owner, acct := a.SignUp(t, "owner@acme-corp.com", "Owner")
	a.Commit(t, acct)
	dev, devID := a.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	devB := on(t, b, dev, a)
	platformB := b.Platform(t)
	check := map[string]any{"account_id": acct, "user_id": devID, "permission": "numbers.view"}

	// The membership made on A is honoured on B (read-after-write with the revision).
	if r := platformB.Must(200, "POST", "/v1/authz/check", check); r.JSON["allowed"] != true {
		waitUntil(t, func() bool { return platformB.Must(200, "POST", "/v1/authz/check", check).JSON["allowed"] == true })
	}
	devB.Must(200, "GET", "/v1/accounts/"+acct, nil)

	del := owner.Must(204, "DELETE", fmt.Sprintf("/v1/accounts/%s/members/%d", acct, devID), nil)
	rev := del.Header.Get(httpapi.RevisionHeader)
	if rev == "" {
		t.Fatal("the delete answered no revision")
	}
	// Asking B for read-after-write: refused at once.
	devB.Header.Set(httpapi.RevisionHeader, rev)
	devB.Refused(404, "not_found", "GET", "/v1/accounts/"+acct, nil)
	devB.Header.Del(httpapi.RevisionHeader)
	platformB.Header.Set(httpapi.RevisionHeader, rev)
	if r := platformB.Must(200, "POST", "/v1/authz/check", check); r.JSON["allowed"] != false || r.Str("reason") != "not_member" {
		t.Errorf("check on B after removal: %s", r.Body)
	}
	// A revision B cannot reach in time answers 503, never a stale allow.
	platformB.Header.Set(httpapi.RevisionHeader, "999999999")
	platformB.Refused(503, "unavailable", "POST", "/v1/authz/check", check)
}

func TestReplicas_PropagateByNotification(t *testing.T) {
	a, b := replicas(t, nil)
	owner, acct := a.SignUp(t, "owner@acme-corp.com", "Owner")
	a.Commit(t, acct)
	_, devID := a.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	waitUntil(t, func() bool { return allowed(t, b, acct, devID, roster.NumbersView) })

	count0, sum0 := propagation(t, b)
	start := time.Now()
	owner.Must(204, "DELETE", fmt.Sprintf("/v1/accounts/%s/members/%d", acct, devID), nil)
	// Followers poll every 5 s here: only the notification can make this.
	deadline := time.Now().Add(time.Second)
	for allowed(t, b, acct, devID, roster.NumbersView) {
		if time.Now().After(deadline) {
			t.Fatal("B still allows a removed member after 1 s")
		}
		time.Sleep(time.Millisecond)
	}
	// B's metrics count the removal's propagation, in less time than it
	// took from the request to B's refusal (which includes it).
	took := time.Since(start)
	waitUntil(t, func() bool { n, _ := propagation(t, b); return n > count0 })
	if n, sum := propagation(t, b); n != count0+1 || sum-sum0 <= 0 || sum-sum0 > took.Seconds() {
		t.Errorf("roster_index_propagation_seconds on B: count %d (was %d), %v s more; want one more, of at most %v", n, count0, sum-sum0, took)
	}
}

// propagation reads replica e's roster_index_propagation_seconds: how
// many changes it observed, and their sum.
func propagation(t *testing.T, e *servertest.Env) (uint64, float64) {
	t.Helper()
	mfs, err := e.Server.Admin.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "roster_index_propagation_seconds" {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	t.Fatal("no roster_index_propagation_seconds")
	return 0, 0
}

func TestReplicas_CatchUpAfterConnectionsKilled(t *testing.T) {
	a, b := replicas(t, nil)
	owner, acct := a.SignUp(t, "owner@acme-corp.com", "Owner")
	a.Commit(t, acct)
	_, devID := a.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	seq(t, b, acct) // warm the Auth ID cache: the checks below need no database
	waitUntil(t, func() bool { return allowed(t, b, acct, devID, roster.NumbersView) })

	// Kill every connection of replica B (its listener and its pool).
	admin, err := sql.Open("pgx", postgresBase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var killed int
	if err := admin.QueryRow(`SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'replica_b'`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed == 0 {
		t.Fatal("found no connection of replica B to kill")
	}
	// A revocation made while B is reconnecting is not missed.
	owner.Must(204, "DELETE", fmt.Sprintf("/v1/accounts/%s/members/%d", acct, devID), nil)
	waitUntil(t, func() bool { return !allowed(t, b, acct, devID, roster.NumbersView) })
	// And B keeps following afterwards.
	_, supID := a.Join(t, owner, acct, "sup@acme-corp.com", "support")
	waitUntil(t, func() bool { return allowed(t, b, acct, supID, roster.NumbersView) })
}

func TestReplica_CutOffFromDatabaseStopsAllowing(t *testing.T) {
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) {
		c.FollowInterval = 20 * time.Millisecond
		c.MaxStaleness = 300 * time.Millisecond // set before Open: the follower reads it from the start
	}})
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	platform := e.Platform(t)
	platform.Must(200, "POST", "/v1/authz/check", map[string]any{"account_id": acct, "user_id": 1, "permission": "numbers.view"})
	// Cut the database away, every pool of it (on PostgreSQL the index's
	// catch-ups have their own); after MaxStaleness every allow stops.
	e.Server.DB.Close()
	waitUntil(t, func() bool {
		return platform.Do("POST", "/v1/authz/check", map[string]any{"account_id": acct, "user_id": 1, "permission": "numbers.view"}).Status == 503
	})
	owner.Refused(503, "unavailable", "GET", "/v1/accounts/"+acct, nil)
}

func seq(t testing.TB, e *servertest.Env, acct string) int64 {
	s, err := e.Server.Service.AccountSeq(context.Background(), acct)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// allowed asks the server's check, from memory, as the platform would.
func allowed(t testing.TB, e *servertest.Env, acct string, userID int64, p roster.Permission) bool {
	d, err := e.Server.Service.CheckUser(context.Background(), acct, userID, p)
	if err != nil {
		t.Fatal(err)
	}
	return d.Allowed
}

// roleOf is the user's role in the account as the server's check sees it.
func roleOf(t testing.TB, e *servertest.Env, acct string, userID int64) roster.Role {
	d, err := e.Server.Service.CheckUser(context.Background(), acct, userID, roster.NumbersView)
	if err != nil {
		t.Fatal(err)
	}
	return d.Role
}

func waitUntil(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkPropagation measures how long a role change made through one
// replica takes to reach the other replica's check index, over a real
// PostgreSQL, median and p99 in milliseconds: "write" from the start of the
// write request, "after-answer" from the moment the writer answered.
func BenchmarkPropagation(b *testing.B) {
	ra, rb := replicas(b, nil)
	owner, acct := ra.SignUp(b, "owner@acme-corp.com", "Owner")
	ra.Commit(b, acct)
	_, devID := ra.Join(b, owner, acct, "dev@acme-corp.com", "developer")
	seq(b, rb, acct) // warm the Auth ID cache
	waitUntil(b, func() bool { return roleOf(b, rb, acct, devID) != roster.RoleNone })
	roles := []roster.Role{roster.RoleSupport, roster.RoleDeveloper}
	var took, afterAnswer []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		want := roles[i%2]
		start := time.Now()
		owner.Must(200, "PATCH", fmt.Sprintf("/v1/accounts/%s/members/%d", acct, devID), map[string]string{"role": want.String()})
		answered := time.Now()
		for {
			if roleOf(b, rb, acct, devID) == want {
				break
			}
			if time.Since(start) > 5*time.Second {
				b.Fatal("not propagated in 5 s")
			}
			time.Sleep(100 * time.Microsecond)
		}
		took = append(took, time.Since(start))
		afterAnswer = append(afterAnswer, time.Since(answered))
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	for _, m := range []struct {
		name string
		ds   []time.Duration
	}{{"write", took}, {"after-answer", afterAnswer}} {
		sort.Slice(m.ds, func(i, j int) bool { return m.ds[i] < m.ds[j] })
		b.ReportMetric(ms(m.ds[len(m.ds)/2]), m.name+"-p50-ms")
		b.ReportMetric(ms(m.ds[len(m.ds)*99/100]), m.name+"-p99-ms")
	}
}

// A console form rendered by one replica is accepted by another (behind a
// load balancer the next request may land anywhere), and by the same
// replica after a restart: the CSRF token needs no per-process key.
func TestReplicas_ConsoleFormPostedToTheOtherReplica(t *testing.T) {
	a, b := replicas(t, nil)
	owner, acct := a.SignUp(t, "owner@acme-corp.com", "Owner")
	a.Commit(t, acct)
	resp, err := owner.HTTP.Get(a.URL + "/accounts/" + acct + "/team")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the team page rendered by A")
	}
	onB := on(t, b, owner, a)
	onB.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	post := func(token string) int {
		resp, err := onB.HTTP.PostForm(b.URL+"/accounts/"+acct+"/team/invite",
			url.Values{"csrf": {token}, "email": {"dev@acme-corp.com"}, "role": {"developer"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post("forged-" + string(m[1])); st != 403 {
		t.Fatalf("B accepted a forged token: %d", st)
	}
	if n := owner.Must(200, "GET", "/v1/accounts/"+acct+"/invitations", nil).Total(); n != 0 {
		t.Fatalf("the refused form invited %d", n)
	}
	if st := post(string(m[1])); st != 303 {
		t.Fatalf("B refused A's form: %d", st)
	}
	if n := owner.Must(200, "GET", "/v1/accounts/"+acct+"/invitations", nil).Total(); n != 1 {
		t.Errorf("invitations after B accepted A's form: %d, want 1", n)
	}
}
