package server_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
	"github.com/rosterhq/roster/service/index"
)

// The staleness bound (issue 26, ROSTER_MAX_STALENESS): two replicas on
// one PostgreSQL database, replica B's connections through a TCP proxy.
// While B is cut off (Cut: every connection closed, new ones refused) or
// stalled (Stall: open but silent), members are revoked through A, each
// a way: a role without the permission, a removal, a deactivation. B's
// check is asked about them in a loop. Within the bound B may answer from
// what it knew (allowed); for every check sent after the bound, counted
// from the moment of the fault, B must answer 503 unavailable with
// Retry-After, counted as decision reason "stale": never an allow (the
// stale allows, which must be 0), never a 500. After Restore, B catches
// up and answers with the revocations.
//
// The figures (time from the fault to the first 503, the checks and
// allows on each side of the bound, the recovery time) are logged:
//
//	ROSTER_TEST_DATABASE='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' \
//	  go test ./server -run TestReplica_StalenessBound -v
func TestReplica_StalenessBound(t *testing.T) {
	dsn := servertest.NewPostgresDatabase(t, postgresBase(t))
	proxy, dsnB := servertest.NewPostgresProxy(t, dsn)
	production := func(c *server.Config) { c.FollowInterval = 0 } // the default, 50 ms
	a := servertest.New(t, servertest.Options{Database: withApp(dsn, "stale_a"), Tweak: production})
	b := servertest.New(t, servertest.Options{Database: withApp(dsnB, "stale_b"), Mail: a.Mail, Tweak: production})
	bound := b.Server.Service.Config.MaxStaleness
	if bound != time.Second {
		t.Fatalf("the default bound is %v, want 1s", bound)
	}
	owner, acct := a.SignUp(t, "owner@acme-corp.com", "Owner")
	a.Commit(t, acct)
	account, err := a.Server.DB.Account(context.Background(), acct)
	if err != nil {
		t.Fatal(err)
	}
	seq(t, b, acct) // warm B's Auth ID cache: its check needs no database
	ownerB := on(t, b, owner, a)
	platformB := b.Platform(t)

	for _, fault := range []struct {
		name string
		do   func()
	}{{"cut", proxy.Cut}, {"stall", proxy.Stall}} {
		// One after the other on the same pair, without subtests: the
		// clients belong to the whole test.
		func() {
			var ids [3]int64
			for i, who := range []string{"demoted", "removed", "deactivated"} {
				_, ids[i] = a.Join(t, owner, acct, fmt.Sprintf("%s-%s@acme-corp.com", who, fault.name), "developer")
			}
			check := func(id int64) servertest.Response {
				return platformB.Do("POST", "/v1/authz/check", map[string]any{"account_id": acct, "user_id": id, "permission": "numbers.edit"})
			}
			pollUntil(t, 15*time.Second, fault.name+": B allows the three new developers", func() bool {
				for _, id := range ids {
					if r := check(id); r.Status != 200 || r.JSON["allowed"] != true {
						return false
					}
				}
				return true
			})
			staleBefore := staleDecisions(t, b)

			faultAt := time.Now()
			fault.do()
			// Revoke through A, one each way.
			owner.Must(200, "PATCH", fmt.Sprintf("/v1/accounts/%s/members/%d", acct, ids[0]), map[string]string{"role": "support"})
			owner.Must(204, "DELETE", fmt.Sprintf("/v1/accounts/%s/members/%d", acct, ids[1]), nil)
			if _, err := a.Server.Service.SetMemberActive(context.Background(), account, ids[2], false, roster.Actor{Email: "Okta provisioning"}); err != nil {
				t.Fatal(err)
			}
			revokedIn := time.Since(faultAt)

			// Ask B until 2 s past the bound.
			var (
				before, allowsBefore         int // sent within the bound
				after, staleAllows, notStale int // sent after it
				refused                      int // 503s, on either side
				firstStale                   time.Duration
				firstStaleAnswered           time.Duration
				badRefusal                   bool
				slowestRefusal               time.Duration // a 503's answer time: the confirm attempt's share is at most ConfirmWait
			)
			for i := 0; time.Since(faultAt) < bound+2*time.Second; i++ {
				sent := time.Since(faultAt)
				r := check(ids[i%3])
				answered := time.Since(faultAt)
				switch r.Status {
				case 200:
					if sent > bound {
						after++
						notStale++
						if r.JSON["allowed"] == true {
							staleAllows++
						}
						if notStale <= 3 { // the count follows
							t.Errorf("%s: check %d sent %v after the fault answered 200 (allowed %v): past the %v bound it must be 503", fault.name, i, sent, r.JSON["allowed"], bound)
						}
					} else {
						before++
						if r.JSON["allowed"] == true {
							allowsBefore++
						}
					}
				case 503:
					if sent > bound {
						after++
					} else {
						before++
					}
					refused++
					slowestRefusal = max(slowestRefusal, answered-sent)
					if firstStale == 0 {
						firstStale, firstStaleAnswered = sent, answered
					}
					if (r.Code() != roster.EUNAVAILABLE || r.Header.Get("Retry-After") == "") && !badRefusal {
						badRefusal = true
						t.Errorf("%s: check %d: 503 %q with Retry-After %q, want unavailable with Retry-After", fault.name, i, r.Code(), r.Header.Get("Retry-After"))
					}
				default:
					t.Fatalf("%s: check %d sent %v after the fault: status %d: %s", fault.name, i, sent, r.Status, r.Body)
				}
			}
			if after == 0 {
				t.Fatal(fault.name + ": no check was sent after the bound")
			}
			if staleAllows != 0 || notStale != 0 {
				t.Errorf("%s: after the bound: %d stale allows, %d answers other than 503 in %d checks", fault.name, staleAllows, notStale, after)
			}
			// The confirm attempt is bounded: no refusal waits for the
			// database (2 s of slack for a loaded machine under -race).
			if limit := index.ConfirmWait(bound) + 2*time.Second; slowestRefusal > limit {
				t.Errorf("%s: a 503 took %v to answer, more than %v", fault.name, slowestRefusal, limit)
			}
			// Every refusal is counted as decision reason "stale".
			if got := staleDecisions(t, b) - staleBefore; got != float64(refused) {
				t.Errorf(`%s: roster_authz_decisions_total{reason="stale"} rose by %v, want %d`, fault.name, got, refused)
			}
			// A member request on B is refused the same way, not 500.
			if r := ownerB.Refused(503, "unavailable", "GET", "/v1/accounts/"+acct, nil); r.Header.Get("Retry-After") == "" {
				t.Error(fault.name + ": a member request on stale B: 503 without Retry-After")
			}
			t.Logf("%s: bound %v (a request past it may confirm for %v); revocations made through A within %v; first 503 for a check sent %v after the fault (answered at %v); within the bound %d checks, %d allowed; after it %d checks, %d stale allows, %d answers other than 503; slowest 503 %v",
				fault.name, bound, index.ConfirmWait(bound), revokedIn.Round(time.Millisecond), firstStale.Round(time.Millisecond), firstStaleAnswered.Round(time.Millisecond),
				before, allowsBefore, after, staleAllows, notStale, slowestRefusal.Round(time.Millisecond))

			// Restored, B catches up and answers with the revocations.
			restoredAt := time.Now()
			proxy.Restore()
			want := []string{"missing_permission", "not_member", "deactivated"}
			pollUntil(t, 20*time.Second, fault.name+": B answers the revocations after Restore", func() bool {
				for i, id := range ids {
					r := check(id)
					if r.Status != 200 && r.Status != 503 {
						t.Fatalf("%s: after Restore: status %d: %s", fault.name, r.Status, r.Body)
					}
					if r.Status != 200 || r.JSON["allowed"] != false || r.Str("reason") != want[i] {
						return false
					}
				}
				return true
			})
			t.Logf("%s: B answered every revocation %v after Restore", fault.name, time.Since(restoredAt).Round(time.Millisecond))
			ownerB.Must(200, "GET", "/v1/accounts/"+acct, nil)
		}()
	}
}

// staleDecisions reads roster_authz_decisions_total{reason="stale"} from
// the replica's admin /metrics.
func staleDecisions(tb testing.TB, e *servertest.Env) float64 {
	tb.Helper()
	rec := httptest.NewRecorder()
	e.Server.Admin.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	m := regexp.MustCompile(`(?m)^roster_authz_decisions_total\{reason="stale"\} (\S+)$`).FindStringSubmatch(rec.Body.String())
	if m == nil {
		tb.Fatal(`no roster_authz_decisions_total{reason="stale"} on /metrics`)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// pollUntil polls cond every 10 ms until it holds, failing after d.
func pollUntil(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReplica_PastTheBoundConfirmsItself: a replica whose follower does
// not confirm its index in time (here it never runs: its interval is an
// hour, and SQLite sends no notifications) but whose database answers is
// not stale: a request past the bound confirms the index itself and is
// answered, never 503, also with several at once (they share the
// catch-up). This is a busy machine's case, where the follower is late.
func TestReplica_PastTheBoundConfirmsItself(t *testing.T) {
	const bound = 200 * time.Millisecond
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) {
		c.FollowInterval = time.Hour
		c.MaxStaleness = bound
	}})
	if got := e.Server.Service.Config.MaxStaleness; got != bound {
		t.Fatalf("server.Config.MaxStaleness %v reached the service as %v", bound, got)
	}
	_, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	platform := e.Platform(t)
	body := map[string]any{"account_id": acct, "user_id": 1, "permission": "numbers.view"}
	first := e.Server.Service.LastCatchUp()
	done := make(chan error, 4)
	for w := 0; w < 4; w++ {
		go func() {
			for start := time.Now(); time.Since(start) < 5*bound; time.Sleep(time.Duration(w+1) * 7 * time.Millisecond) {
				if r := platform.Do("POST", "/v1/authz/check", body); r.Status != 200 || r.JSON["allowed"] != true {
					done <- fmt.Errorf("status %d: %s", r.Status, r.Body)
					return
				}
			}
			done <- nil
		}()
	}
	for w := 0; w < 4; w++ {
		if err := <-done; err != nil {
			t.Error("a check on a healthy replica whose follower is late:", err)
		}
	}
	if last := e.Server.Service.LastCatchUp(); !last.After(first.Add(bound)) {
		t.Errorf("the index was last confirmed %v after the sign-up's, want past the %v bound: the requests confirmed nothing", last.Sub(first), bound)
	}
}

// TestReplica_StalenessBoundWithLaggingStandby: a replica whose follower
// reads a standby (ROSTER_DATABASE_READ) that replays every commit 3 s
// late. A standby's read confirms the index only once it holds the
// primary's newest revision, so after a removal through A, replica B
// (which reads the lagging standby) may allow the removed member within
// the bound, and never after it: past the bound a check confirms B's
// index from the primary and answers "not a member".
func TestReplica_StalenessBoundWithLaggingStandby(t *testing.T) {
	cl, standby, name := clusterWithStandby(t)
	read := func(c *server.Config) { c.DatabaseRead = standby.DSN(name); c.FollowInterval = 0 }
	a := servertest.New(t, servertest.Options{Database: cl.Primary.DSN(name), Tweak: read})
	// B loads its index from the standby: wait until it has replayed the
	// migrations A ran on the primary.
	var newest int64
	if err := a.Server.DB.SQL().QueryRow(`SELECT MAX(version_id) FROM goose_db_version`).Scan(&newest); err != nil {
		t.Fatal(err)
	}
	sdb := standby.Open(t, name)
	waitUntil(t, func() bool {
		var got int64
		sdb.QueryRow(`SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version`).Scan(&got)
		return got >= newest
	})
	sdb.Close()
	b := servertest.New(t, servertest.Options{Database: cl.Primary.DSN(name), Mail: a.Mail, Tweak: read})
	bound := b.Server.Service.Config.MaxStaleness
	owner, acct := a.SignUp(t, "owner@standby-corp.com", "Owner")
	a.Commit(t, acct)
	_, devID := a.Join(t, owner, acct, "dev@standby-corp.com", "developer")
	seq(t, b, acct)
	platformB := b.Platform(t)
	check := map[string]any{"account_id": acct, "user_id": devID, "permission": "numbers.view"}
	pollUntil(t, 15*time.Second, "B allows the developer", func() bool {
		return platformB.Must(200, "POST", "/v1/authz/check", check).JSON["allowed"] == true
	})
	standby.SetApplyDelay(t, 3*time.Second)
	time.Sleep(300 * time.Millisecond) // the standby's startup process reads the new setting

	owner.Must(204, "DELETE", fmt.Sprintf("/v1/accounts/%s/members/%d", acct, devID), nil)
	removed := time.Now()
	var within, allowsWithin, after, staleAllows, refused int
	for time.Since(removed) < 3*time.Second {
		sent := time.Since(removed)
		r := platformB.Do("POST", "/v1/authz/check", check)
		switch {
		case r.Status == 503:
			refused++
		case r.Status != 200:
			t.Fatalf("check %v after the removal: status %d: %s", sent, r.Status, r.Body)
		case sent <= bound:
			within++
			if r.JSON["allowed"] == true {
				allowsWithin++
			}
		default:
			after++
			if r.JSON["allowed"] == true {
				staleAllows++
			} else if r.Str("reason") != "not_member" {
				t.Errorf("check %v after the removal: %s", sent, r.Body)
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Logf("standby 3 s behind, bound %v: within the bound %d checks, %d allowed; after it %d checks, %d stale allows; %d answered 503",
		bound, within, allowsWithin, after, staleAllows, refused)
	if allowsWithin == 0 {
		t.Error("B never allowed the removed member within the bound: is the lagging standby read at all?")
	}
	if after == 0 || staleAllows != 0 {
		t.Errorf("after the bound: %d stale allows in %d checks, want 0", staleAllows, after)
	}
}

// A replica reading a standby (ROSTER_DATABASE_READ) whose standby dies
// does not turn stale while the primary answers: its catch-ups read the
// primary until the standby answers again, checks go on answering past the
// staleness bound, and a removal made meanwhile is applied.
func TestReplica_StandbyDownCatchesUpFromThePrimary(t *testing.T) {
	cl, standby, name := clusterWithStandby(t)
	e := servertest.New(t, servertest.Options{Database: cl.Primary.DSN(name), Tweak: func(c *server.Config) {
		c.DatabaseRead = standby.DSN(name)
		c.MaxStaleness = 500 * time.Millisecond
	}})
	owner, acct := e.SignUp(t, "owner@standby-down.com", "Owner")
	e.Commit(t, acct)
	_, devID := e.Join(t, owner, acct, "dev@standby-down.com", "developer")
	platform := e.Platform(t)
	check := map[string]any{"account_id": acct, "user_id": devID, "permission": "numbers.view"}
	platform.Must(200, "POST", "/v1/authz/check", check)

	standby.Kill(t)
	answered, refused := checksFor(t, platform, check, 2*time.Second) // four bounds
	if refused != 0 || answered == 0 {
		t.Errorf("with the standby down for 2 s (bound 500 ms): %d checks answered, %d refused as stale; want none refused", answered, refused)
	}
	owner.Must(204, "DELETE", fmt.Sprintf("/v1/accounts/%s/members/%d", acct, devID), nil)
	if r := platform.Must(200, "POST", "/v1/authz/check", check); r.JSON["allowed"] != false || r.Str("reason") != "not_member" {
		t.Errorf("after the removal: %s", r.Body)
	}
	if !strings.Contains(e.Logs.String(), "the read standby failed") {
		t.Errorf("the standby's outage is not in the log")
	}
	t.Logf("standby down: %d checks answered, %d refused", answered, refused)
}

// TestReplica_StandbyHangsReadsGoToThePrimary: a replica whose read
// standby (ROSTER_DATABASE_READ, through a TCP proxy) stops answering but
// keeps its connections open, as a standby does whose host froze or whose
// network drops packets. The check index's catch-up gives the standby a
// third of the staleness bound and then reads the primary: no check is
// refused as stale. The store passes the standby over, so read-only pages
// read the primary at once instead of each waiting out the database
// timeout (5 s) and answering 503. When the standby answers again, a
// probe finds it and reads go back to it: a page without a revision shows
// what the standby, replaying 3 s late, holds.
func TestReplica_StandbyHangsReadsGoToThePrimary(t *testing.T) {
	cl, standby, name := clusterWithStandby(t)
	proxy, readDSN := servertest.NewPostgresProxy(t, standby.DSN(name))
	e := servertest.New(t, servertest.Options{Database: cl.Primary.DSN(name), Tweak: func(c *server.Config) {
		c.DatabaseRead = readDSN
		c.MaxStaleness = 500 * time.Millisecond
	}})
	owner, acct := e.SignUp(t, "owner@standby-hangs.com", "Owner")
	e.Commit(t, acct)
	_, devID := e.Join(t, owner, acct, "dev@standby-hangs.com", "developer")
	_, supID := e.Join(t, owner, acct, "sup@standby-hangs.com", "support")
	platform := e.Platform(t)
	check := map[string]any{"account_id": acct, "user_id": devID, "permission": "numbers.view"}
	platform.Must(200, "POST", "/v1/authz/check", check)
	list := "/v1/accounts/" + acct + "/members?limit=100"
	owner.Must(200, "GET", list, nil)
	if err := e.Server.DB.ReadPoolDown(); err != nil {
		t.Fatalf("the standby is passed over before it hangs: %v", err)
	}

	proxy.Stall()
	answered, refused := checksFor(t, platform, check, 2*time.Second) // four bounds
	if refused != 0 || answered == 0 {
		t.Errorf("with the standby hung for 2 s (bound 500 ms): %d checks answered, %d refused as stale; want none refused", answered, refused)
	}
	if e.Server.DB.ReadPoolDown() == nil {
		t.Fatal("the hung standby is not passed over")
	}
	// Pages read the primary, at once, and show a change made meanwhile.
	path := fmt.Sprintf("/v1/accounts/%s/members/%d", acct, supID)
	owner.Must(200, "PATCH", path, map[string]string{"role": "finance_analyst"})
	var slowest time.Duration
	for range 10 {
		start := time.Now()
		r := owner.Must(200, "GET", list, nil)
		slowest = max(slowest, time.Since(start))
		if got := roleIn(t, r, supID); got != "finance_analyst" {
			t.Fatalf("the member list with the standby hung shows %q, want finance_analyst", got)
		}
	}
	if slowest > time.Second {
		t.Errorf("a member list page with the standby passed over took %v", slowest)
	}
	t.Logf("standby hung: %d checks answered, %d refused; slowest page %v", answered, refused, slowest.Round(time.Millisecond))
	if !strings.Contains(e.Logs.String(), "the read standby failed") {
		t.Errorf("the standby's outage is not in the log")
	}

	// Back: the probe finds the standby, and reads go to it again.
	proxy.Restore()
	waitUntil(t, func() bool { return e.Server.DB.ReadPoolDown() == nil })
	standby.SetApplyDelay(t, 3*time.Second)
	time.Sleep(300 * time.Millisecond) // the standby's startup process reads the new setting
	owner.Must(200, "PATCH", path, map[string]string{"role": "developer"})
	if got := roleIn(t, owner.Must(200, "GET", list, nil), supID); got != "finance_analyst" {
		t.Errorf("after the standby answers again, a page without a revision shows %q: not read from the standby 3 s behind", got)
	}
	waitUntil(t, func() bool { return strings.Contains(e.Logs.String(), "the read standby answers again") })
}

// checksFor asks platform the check every 5 ms for d and counts the
// allows and the 503s (refused as stale); any other answer fails t.
func checksFor(t *testing.T, platform *servertest.Client, check map[string]any, d time.Duration) (answered, refused int) {
	t.Helper()
	for start := time.Now(); time.Since(start) < d; {
		r := platform.Do("POST", "/v1/authz/check", check)
		switch {
		case r.Status == 503:
			refused++
		case r.Status != 200 || r.JSON["allowed"] != true:
			t.Fatalf("check with the standby failing: %d %s", r.Status, r.Body)
		default:
			answered++
		}
		time.Sleep(5 * time.Millisecond)
	}
	return answered, refused
}
