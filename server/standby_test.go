package server_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

// TestStandbyReads_RevisionKeepsReadAfterWrite: two replicas whose check
// index, follower and read-only pages read a standby that replays every
// commit 3 s late (ROSTER_DATABASE_READ, recovery_min_apply_delay). The
// standby is really read (a page without the revision shows the old role),
// yet: the writer's replica refuses a removed member at once; a check on
// the other replica that names the removal's revision waits and answers
// "not a member"; the member list after a role change, asked with its
// revision on either replica, shows the new role.
func TestStandbyReads_RevisionKeepsReadAfterWrite(t *testing.T) {
	cl, standby, name := clusterWithStandby(t)
	read := func(c *server.Config) { c.DatabaseRead = standby.DSN(name) }
	a := servertest.New(t, servertest.Options{Database: cl.Primary.DSN(name), Tweak: read})
	b := servertest.New(t, servertest.Options{Database: cl.Primary.DSN(name), Mail: a.Mail, Tweak: read})
	owner, acct := a.SignUp(t, "owner@standby-corp.com", "Owner")
	a.Commit(t, acct)
	_, devID := a.Join(t, owner, acct, "dev@standby-corp.com", "developer")
	_, supID := a.Join(t, owner, acct, "sup@standby-corp.com", "support")
	ownerB := on(t, b, owner, a)
	platformA, platformB := a.Platform(t), b.Platform(t)
	check := map[string]any{"account_id": acct, "user_id": devID, "permission": "numbers.view"}
	// Both replicas know the members (through the standby, not delayed yet).
	waitUntil(t, func() bool {
		return platformB.Must(200, "POST", "/v1/authz/check", check).JSON["allowed"] == true
	})

	standby.SetApplyDelay(t, 3*time.Second)
	time.Sleep(300 * time.Millisecond) // the standby's startup process reads the new setting

	// A role change, then the member list: without the revision, the
	// other replica reads the lagging standby (the old role); with it, the
	// new role, on either replica.
	path := fmt.Sprintf("/v1/accounts/%s/members/%d", acct, supID)
	r := owner.Must(200, "PATCH", path, map[string]string{"role": "finance_analyst"})
	rev := r.Header.Get("X-Roster-Revision")
	if rev == "" {
		t.Fatal("the role change named no revision")
	}
	if got := roleIn(t, ownerB.Must(200, "GET", "/v1/accounts/"+acct+"/members?limit=100", nil), supID); got != "support" {
		t.Errorf("the member list without a revision, 3 s behind, shows %q: is the standby read at all?", got)
	}
	for _, c := range []*servertest.Client{owner, ownerB} {
		c.Header.Set("X-Roster-Revision", rev)
		start := time.Now()
		got := roleIn(t, c.Must(200, "GET", "/v1/accounts/"+acct+"/members?limit=100", nil), supID)
		c.Header.Del("X-Roster-Revision")
		if got != "finance_analyst" {
			t.Errorf("the member list with the role change's revision shows %q, want finance_analyst", got)
		}
		t.Logf("member list with the revision answered in %v", time.Since(start).Round(time.Millisecond))
	}

	// A removal: the writer's replica refuses at once, with no revision.
	r = owner.Must(204, "DELETE", fmt.Sprintf("/v1/accounts/%s/members/%d", acct, devID), nil)
	rev = r.Header.Get("X-Roster-Revision")
	if got := platformA.Must(200, "POST", "/v1/authz/check", check); got.JSON["allowed"] != false || got.Str("reason") != "not_member" {
		t.Errorf("the writer's replica, right after the removal: %s", got.Body)
	}
	// The other replica, asked with the removal's revision, waits for it
	// (up to 1 s for its standby, then from the primary) and refuses.
	platformB.Header.Set("X-Roster-Revision", rev)
	start := time.Now()
	got := platformB.Must(200, "POST", "/v1/authz/check", check)
	took := time.Since(start)
	platformB.Header.Del("X-Roster-Revision")
	if got.JSON["allowed"] != false || got.Str("reason") != "not_member" {
		t.Errorf("the other replica with the removal's revision: %s", got.Body)
	}
	t.Logf("check with the revision on the other replica answered in %v", took.Round(time.Millisecond))
	if n, _ := strconv.ParseInt(rev, 10, 64); b.Server.Service.Revision() < n {
		t.Errorf("the other replica answered at revision %d, before %d", b.Server.Service.Revision(), n)
	}
}

// roleIn returns the role of user uid in a member list answer.
func roleIn(t *testing.T, r servertest.Response, uid int64) string {
	t.Helper()
	for _, m := range r.Objects() {
		if id, _ := m["user_id"].(float64); int64(id) == uid {
			s, _ := m["role"].(string)
			return s
		}
		if u, ok := m["user"].(map[string]any); ok {
			if id, _ := u["id"].(float64); int64(id) == uid {
				s, _ := m["role"].(string)
				return s
			}
		}
	}
	t.Fatalf("user %d not in the member list: %s", uid, r.Body)
	return ""
}

// clusterWithStandby starts a PostgreSQL primary with one standby (the
// test skips under -short) and makes a database on it, returned once the
// standby has replayed its creation.
func clusterWithStandby(t *testing.T) (cl *servertest.PGCluster, standby *servertest.PGNode, name string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	cl = servertest.NewPGCluster(t, servertest.PGClusterOptions{Standbys: 1})
	name = cl.CreateDatabase(t)
	standby = cl.Standbys[0]
	sdb := standby.Open(t, "postgres")
	defer sdb.Close()
	waitUntil(t, func() bool {
		var ok bool
		sdb.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&ok)
		return ok
	})
	return cl, standby, name
}
