package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to probe PostgreSQL

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/server/servertest"
	"github.com/rosterhq/roster/store/storetest"
)

// The storm's size: stormWorkers clients, each making stormOps operations
// (one or two requests each), against one account per stormDomains entry
// with stormPool invitable addresses at its domain. stormBudget bounds the
// time: past it, workers stop starting operations (the test then logs that
// it was cut short; it never asserts how many operations ran).
const (
	stormWorkers = 16
	stormOps     = 40
	stormPool    = 12
	stormBudget  = 20 * time.Second
)

var stormDomains = []string{"acme-storm.com", "globex-storm.com", "initech-storm.com"}

// TestStorm_InvariantsHoldUnderParallelClients runs many clients at once
// against one server, each making random team changes (invite, accept,
// re-role, delete, leave, revoke, resend, plan changes) and reads (member
// lists, permission checks). It asserts what holds whatever the
// interleaving: no answer is a 5xx; the owner can never be re-roled,
// deleted or made to leave and is always allowed everything; no invitation
// is accepted twice or by another address; and, afterwards, the database
// has exactly one owner per account, at most one pending invitation per
// address, a member row only where an accepted invitation put it, and the
// permission check agrees with the database for every account, user and
// permission. It never asserts how many operations succeeded.
//
// It runs on the backend servertest picks (SQLite, or ROSTER_TEST_DATABASE)
// and again on PostgreSQL at 127.0.0.1:5432 when one answers (required with
// ROSTER_REQUIRE_POSTGRES=1).
func TestStorm_InvariantsHoldUnderParallelClients(t *testing.T) {
	t.Parallel()
	defaultName := "sqlite"
	envPG := strings.HasPrefix(os.Getenv("ROSTER_TEST_DATABASE"), "postgres")
	if envPG {
		defaultName = "postgres-from-env"
	}
	t.Run(defaultName, func(t *testing.T) {
		var e *servertest.Env
		stormDumpErrors(t, &e)
		e = servertest.New(t)
		runStorm(t, defaultName, e)
	})
	t.Run("postgres", func(t *testing.T) {
		if envPG {
			t.Skip("ROSTER_TEST_DATABASE is PostgreSQL: the storm ran on it above")
		}
		dsn := servertest.NewPostgresDatabase(t, stormPostgres(t))
		var e *servertest.Env
		stormDumpErrors(t, &e)
		e = servertest.New(t, servertest.Options{Database: dsn})
		runStorm(t, "postgres", e)
	})
}

// stormDumpErrors logs, when t failed, the server's ERROR lines (a 500
// answers only "internal error"; its cause is in the log). Registered
// before the server starts, it runs after the server closed, when nothing
// writes the log any more.
func stormDumpErrors(t *testing.T, e **servertest.Env) {
	t.Cleanup(func() {
		if !t.Failed() || *e == nil {
			return
		}
		n := 0
		for _, l := range strings.Split((*e).Logs.String(), "\n") {
			if strings.Contains(l, "level=ERROR") {
				if n++; n <= 30 {
					t.Logf("server log: %s", l)
				}
			}
		}
		if n > 30 {
			t.Logf("server log: %d ERROR lines in all", n)
		}
	})
}

// stormPostgres returns the PostgreSQL server to make a database on, or
// skips (fails under ROSTER_REQUIRE_POSTGRES=1) when none answers.
func stormPostgres(t *testing.T) string {
	t.Helper()
	base, ok := storetest.PostgresBase(t)
	if !ok {
		t.Skip("PostgreSQL unreachable: the storm ran on SQLite only")
	}
	return base
}

type stormAccount struct {
	id      string // Auth ID
	owner   *servertest.Client
	ownerID int64
	pool    []string
}

type stormUser struct {
	id    int64
	email string
	c     *servertest.Client
}

type storm struct {
	t        *testing.T
	e        *servertest.Env
	accts    []*stormAccount
	operator *servertest.Client
	platform *servertest.Client
	perms    []roster.Permission
	deadline time.Time

	mu         sync.Mutex
	users      map[string]*stormUser // invitees with a login, by address
	userList   []*stormUser
	statuses   map[string]map[int]int // route pattern -> status -> answers
	invited    map[string]int         // account -> invitations answered 201
	accepted   map[string][]int64     // token -> users whose accept answered 2xx
	signups    int                    // sign-ups from an invitation answered 201
	fivexx     int
	contention int
	cutShort   int
}

func runStorm(t *testing.T, backend string, e *servertest.Env) {
	s := &storm{
		t: t, e: e, operator: e.Operator(t), platform: e.Platform(t), perms: stormPermissions(),
		users: map[string]*stormUser{}, statuses: map[string]map[int]int{},
		invited: map[string]int{}, accepted: map[string][]int64{},
	}
	if len(s.perms) == 0 {
		t.Fatal("no permission parses back from its name")
	}
	names := []string{"Ava Acme", "Gil Globex", "Ina Initech"}
	for i, domain := range stormDomains {
		c, acct := e.SignUp(t, "owner@"+domain, names[i])
		e.Commit(t, acct)
		me := c.Must(200, "GET", "/v1/me", nil)
		a := &stormAccount{id: acct, owner: c, ownerID: int64(me.JSON["id"].(float64))}
		for j := 0; j < stormPool; j++ {
			a.pool = append(a.pool, fmt.Sprintf("member%02d@%s", j, domain))
		}
		s.accts = append(s.accts, a)
	}

	start := time.Now()
	s.deadline = start.Add(stormBudget)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for g := 0; g < stormWorkers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(0x5707, uint64(g)+1))
			<-gate
			for i := 0; i < stormOps; i++ {
				if time.Now().After(s.deadline) {
					s.mu.Lock()
					s.cutShort++
					s.mu.Unlock()
					return
				}
				s.step(r)
			}
		}(g)
	}
	close(gate)
	wg.Wait()
	took := time.Since(start)

	s.checkDatabase()
	s.checkIndex()

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cutShort > 0 {
		t.Logf("storm %s: %d workers stopped at the %v budget", backend, s.cutShort, stormBudget)
	}
	t.Logf("storm %s: %d requests in %v (%d workers x %d operations; %d invitees signed up; %d 5xx, %d of them contention 503): %s",
		backend, s.total(), took.Round(time.Millisecond), stormWorkers, stormOps, s.signups, s.fivexx, s.contention, s.summary())
}

// stormPermissions lists every permission whose name parses back to it:
// the matrix's permissions, whatever their numbering.
func stormPermissions() []roster.Permission {
	var out []roster.Permission
	for i := 0; i < 256; i++ {
		p := roster.Permission(i)
		if q, ok := roster.ParsePermission(p.String()); ok && q == p {
			out = append(out, p)
		}
	}
	return out
}

var stormRoles = []string{"admin", "developer", "finance_analyst", "support"}

func (s *storm) role(r *rand.Rand) string {
	if r.IntN(20) == 0 {
		return "owner"
	}
	return stormRoles[r.IntN(len(stormRoles))]
}

func (s *storm) randomUser(r *rand.Rand) *stormUser {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.userList) == 0 {
		return nil
	}
	return s.userList[r.IntN(len(s.userList))]
}

// actor is who makes a team change: mostly the owner, else any invitee
// (an admin there, or someone the account refuses).
func (s *storm) actor(r *rand.Rand, a *stormAccount) *servertest.Client {
	if r.IntN(10) < 6 {
		return a.owner
	}
	if u := s.randomUser(r); u != nil {
		return u.c
	}
	return a.owner
}

// target is whose membership a change names: mostly an invitee, sometimes
// the owner, sometimes no one.
func (s *storm) target(r *rand.Rand, a *stormAccount) int64 {
	switch r.IntN(20) {
	case 0:
		return a.ownerID
	case 1:
		return 999999
	}
	if u := s.randomUser(r); u != nil {
		return u.id
	}
	return a.ownerID
}

func (s *storm) step(r *rand.Rand) {
	a := s.accts[r.IntN(len(s.accts))]
	base := "/v1/accounts/" + a.id
	switch n := r.IntN(26); {
	case n < 5: // invite
		email := a.pool[r.IntN(len(a.pool))]
		if r.IntN(4) == 0 { // someone at another account's domain
			o := s.accts[r.IntN(len(s.accts))]
			email = o.pool[r.IntN(len(o.pool))]
		}
		resp := s.do(s.actor(r, a), "POST /v1/accounts/{id}/invitations", "POST", base+"/invitations",
			map[string]string{"email": email, "role": s.role(r)})
		if resp.Status == 201 {
			s.mu.Lock()
			s.invited[a.id]++
			s.mu.Unlock()
		}
	case n < 10:
		s.accept(r)
	case n < 13: // re-role
		uid := s.target(r, a)
		resp := s.do(s.actor(r, a), "PATCH /v1/accounts/{id}/members/{user_id}", "PATCH",
			fmt.Sprintf("%s/members/%d", base, uid), map[string]string{"role": s.role(r)})
		if uid == a.ownerID && resp.Status < 300 {
			s.t.Errorf("PATCH %s/members/%d (the owner) answered %d: %s", base, uid, resp.Status, resp.Body)
		}
	case n < 15: // delete
		uid := s.target(r, a)
		resp := s.do(s.actor(r, a), "DELETE /v1/accounts/{id}/members/{user_id}", "DELETE",
			fmt.Sprintf("%s/members/%d", base, uid), nil)
		if uid == a.ownerID && resp.Status < 300 {
			s.t.Errorf("DELETE %s/members/%d (the owner) answered %d: %s", base, uid, resp.Status, resp.Body)
		}
	case n < 17: // leave
		c, isOwner := a.owner, true
		if u := s.randomUser(r); u != nil && r.IntN(10) != 0 {
			c, isOwner = u.c, false
		}
		resp := s.do(c, "DELETE /v1/accounts/{id}/members/me", "DELETE", base+"/members/me", nil)
		if isOwner && resp.Status < 300 {
			s.t.Errorf("the owner left %s: %d %s", a.id, resp.Status, resp.Body)
		}
	case n < 18: // plan
		body := map[string]any{"plan": "committed", "monthly_commitment_usd": 1000, "contract_months": 12}
		if r.IntN(3) == 0 {
			body = map[string]any{"plan": "standard"}
		}
		s.do(s.operator, "PUT /v1/admin/accounts/{id}/plan", "PUT", "/v1/admin/accounts/"+a.id+"/plan", body)
	case n < 20: // list members
		resp := s.do(s.actor(r, a), "GET /v1/accounts/{id}/members", "GET", base+"/members?limit=100", nil)
		if resp.Status == 200 {
			s.checkMemberList(a, resp)
		}
	case n < 24: // permission check
		s.check(r, a)
	case n < 26: // revoke or resend a pending invitation
		resp := s.do(s.actor(r, a), "GET /v1/accounts/{id}/invitations", "GET", base+"/invitations?limit=100", nil)
		objs, _ := resp.JSON["objects"].([]any)
		if resp.Status != 200 || len(objs) == 0 {
			return
		}
		inv, _ := objs[r.IntN(len(objs))].(map[string]any)
		id, _ := inv["id"].(float64)
		path := fmt.Sprintf("%s/invitations/%d", base, int64(id))
		if n == 24 {
			s.do(s.actor(r, a), "DELETE /v1/accounts/{id}/invitations/{inv_id}", "DELETE", path, nil)
		} else {
			s.do(s.actor(r, a), "POST /v1/accounts/{id}/invitations/{inv_id}/resend", "POST", path+"/resend", nil)
		}
	}
}

var stormInviteLink = regexp.MustCompile(`/invite/([A-Za-z0-9_-]+)`)

type stormInvite struct{ email, token string }

// invites lists every invitation link mailed so far, oldest first.
func (s *storm) invites() []stormInvite {
	var out []stormInvite
	for _, m := range s.e.Mail.Messages() {
		if len(m.To) != 1 {
			continue
		}
		for _, sub := range stormInviteLink.FindAllStringSubmatch(m.Text, -1) {
			out = append(out, stormInvite{strings.ToLower(m.To[0]), sub[1]})
		}
	}
	return out
}

// accept follows a mailed invitation link: the invitee signs up from it,
// or, with a login already, accepts it; now and then another user tries.
func (s *storm) accept(r *rand.Rand) {
	all := s.invites()
	if len(all) == 0 {
		return
	}
	inv := all[r.IntN(len(all))]
	if recent := min(8, len(all)); r.IntN(10) < 7 {
		inv = all[len(all)-1-r.IntN(recent)]
	}
	if r.IntN(10) == 0 { // someone else's link
		if u := s.randomUser(r); u != nil && u.email != inv.email {
			resp := s.do(u.c, "POST /v1/invitations/{token}/accept", "POST", "/v1/invitations/"+inv.token+"/accept", nil)
			if resp.Status < 300 {
				s.t.Errorf("%s accepted an invitation for %s: %d %s", u.email, inv.email, resp.Status, resp.Body)
			}
			return
		}
	}
	s.mu.Lock()
	u := s.users[inv.email]
	s.mu.Unlock()
	if u != nil {
		resp := s.do(u.c, "POST /v1/invitations/{token}/accept", "POST", "/v1/invitations/"+inv.token+"/accept", nil)
		if resp.Status < 300 {
			s.mu.Lock()
			s.accepted[inv.token] = append(s.accepted[inv.token], u.id)
			s.mu.Unlock()
		}
		return
	}
	c := s.e.Client(s.t)
	resp := s.do(c, "POST /v1/signup (invitation)", "POST", "/v1/signup",
		map[string]string{"password": servertest.Password, "name": "Storm Invitee", "invitation_token": inv.token})
	if resp.Status >= 300 {
		return
	}
	user, _ := resp.JSON["user"].(map[string]any)
	id, _ := user["id"].(float64)
	email, _ := user["email"].(string)
	if id == 0 || email != inv.email {
		s.t.Errorf("sign-up from the link to %s answered %d with user %v: %s", inv.email, resp.Status, user, resp.Body)
		return
	}
	nu := &stormUser{id: int64(id), email: email, c: c}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signups++
	s.accepted[inv.token] = append(s.accepted[inv.token], nu.id)
	if old := s.users[email]; old != nil {
		s.t.Errorf("two sign-ups for %s answered 201: users %d and %d", email, old.id, nu.id)
		return
	}
	s.users[email] = nu
	s.userList = append(s.userList, nu)
}

// check asks the HTTP permission check; the owner is always allowed, no
// one is allowed for an unknown user.
func (s *storm) check(r *rand.Rand, a *stormAccount) {
	uid, kind := a.ownerID, "owner"
	switch n := r.IntN(10); {
	case n == 0:
		uid, kind = 999999, "unknown"
	case n < 7:
		if u := s.randomUser(r); u != nil {
			uid, kind = u.id, "invitee"
		}
	}
	p := s.perms[r.IntN(len(s.perms))]
	resp := s.do(s.platform, "POST /v1/authz/check", "POST", "/v1/authz/check",
		map[string]any{"account_id": a.id, "user_id": uid, "permission": p.String()})
	if resp.Status != 200 {
		if resp.Status < 500 {
			s.t.Errorf("check %s user %d %s: %d %s", a.id, uid, p, resp.Status, resp.Body)
		}
		return
	}
	allowed, _ := resp.JSON["allowed"].(bool)
	if kind == "owner" && !allowed || kind == "unknown" && allowed {
		s.t.Errorf("check %s %s %d %s: %s", a.id, kind, uid, p, resp.Body)
	}
}

// checkMemberList holds a member list answer to one owner, the account's.
func (s *storm) checkMemberList(a *stormAccount, resp servertest.Response) {
	objs, _ := resp.JSON["objects"].([]any)
	owners, seen := 0, map[float64]bool{}
	for _, o := range objs {
		m, _ := o.(map[string]any)
		id, _ := m["user_id"].(float64)
		if seen[id] {
			s.t.Errorf("member list of %s names user %v twice: %s", a.id, id, resp.Body)
		}
		seen[id] = true
		if m["role"] == "owner" {
			owners++
			if int64(id) != a.ownerID {
				s.t.Errorf("member list of %s: user %v is owner, want %d: %s", a.id, id, a.ownerID, resp.Body)
			}
		}
	}
	if owners != 1 {
		s.t.Errorf("member list of %s has %d owners: %s", a.id, owners, resp.Body)
	}
}

// do sends one request through c's cookies and headers, never failing the
// worker: it counts the answer, and reports any 5xx or transport error.
func (s *storm) do(c *servertest.Client, route, method, path string, body any) servertest.Response {
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			panic(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.e.URL+path, rd)
	if err != nil {
		panic(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.Header {
		req.Header[k] = v
	}
	out := servertest.Response{}
	resp, err := c.HTTP.Do(req)
	if err == nil {
		out.Status, out.Header = resp.StatusCode, resp.Header
		out.Body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err != nil {
		s.t.Errorf("%s %s: %v", method, path, err)
		s.count(route, 0)
		return out
	}
	if len(out.Body) > 0 && strings.HasPrefix(out.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(out.Body, &out.JSON); err != nil {
			s.t.Errorf("%s %s: %d with bad JSON %q: %v", method, path, out.Status, out.Body, err)
		}
	}
	s.count(route, out.Status)
	if out.Status >= 500 {
		s.mu.Lock()
		s.fivexx++
		contention := out.Status == 503 && out.Header.Get("Retry-After") != ""
		if contention {
			s.contention++
		}
		s.mu.Unlock()
		if contention {
			s.t.Errorf("contention 503: %s %s (Retry-After %s): %s", method, path, out.Header.Get("Retry-After"), out.Body)
		} else {
			s.t.Errorf("5xx: %s %s: %d %s", method, path, out.Status, out.Body)
		}
	}
	return out
}

func (s *storm) count(route string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.statuses[route] == nil {
		s.statuses[route] = map[int]int{}
	}
	s.statuses[route][status]++
}

func (s *storm) total() int {
	n := 0
	for _, byStatus := range s.statuses {
		for _, k := range byStatus {
			n += k
		}
	}
	return n
}

// summary is "route status×count ...; route ..." in route order.
func (s *storm) summary() string {
	routes := make([]string, 0, len(s.statuses))
	for r := range s.statuses {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	var b strings.Builder
	for i, r := range routes {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(r)
		codes := make([]int, 0, len(s.statuses[r]))
		for c := range s.statuses[r] {
			codes = append(codes, c)
		}
		sort.Ints(codes)
		for _, c := range codes {
			fmt.Fprintf(&b, " %d×%d", c, s.statuses[r][c])
		}
	}
	return b.String()
}

// stormDB is the database's state after the storm.
type stormDB struct {
	accounts map[int64]stormAccountRow // by integer ID
	members  map[[2]int64]int64        // (account, user) -> role
	users    map[int64]string          // ID -> address
	invs     []stormInvitationRow
	changes  int64 // the largest changes.id
}

type stormAccountRow struct {
	authID, plan string
}

type stormInvitationRow struct {
	id, account int64
	email       string
	status      string
	acceptedBy  sql.NullInt64
	tokenHash   []byte
}

func (s *storm) readDatabase() stormDB {
	t := s.t
	db := s.e.Server.DB.SQL()
	st := stormDB{accounts: map[int64]stormAccountRow{}, members: map[[2]int64]int64{}, users: map[int64]string{}}
	each := func(query string, scan func(rows *sql.Rows) error) {
		rows, err := db.Query(query)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	each(`SELECT id, auth_id, plan FROM accounts`, func(rows *sql.Rows) error {
		var id int64
		var a stormAccountRow
		err := rows.Scan(&id, &a.authID, &a.plan)
		st.accounts[id] = a
		return err
	})
	each(`SELECT account_id, user_id, role FROM members`, func(rows *sql.Rows) error {
		var acct, user, role int64
		err := rows.Scan(&acct, &user, &role)
		if _, dup := st.members[[2]int64{acct, user}]; dup {
			t.Errorf("two member rows for user %d in account %d", user, acct)
		}
		st.members[[2]int64{acct, user}] = role
		return err
	})
	each(`SELECT id, email FROM users`, func(rows *sql.Rows) error {
		var id int64
		var email string
		err := rows.Scan(&id, &email)
		st.users[id] = email
		return err
	})
	each(`SELECT id, account_id, email, status, accepted_by, token_hash FROM invitations`, func(rows *sql.Rows) error {
		var i stormInvitationRow
		err := rows.Scan(&i.id, &i.account, &i.email, &i.status, &i.acceptedBy, &i.tokenHash)
		st.invs = append(st.invs, i)
		return err
	})
	if err := db.QueryRow(`SELECT COALESCE(MAX(id), 0) FROM changes`).Scan(&st.changes); err != nil {
		t.Fatal(err)
	}
	return st
}

// checkDatabase holds the database to what the storm's answers allow.
func (s *storm) checkDatabase() {
	t := s.t
	st := s.readDatabase()
	s.mu.Lock()
	defer s.mu.Unlock()

	seqOf := map[string]int64{}
	for id, a := range st.accounts {
		seqOf[a.authID] = id
	}
	// Only the three owners made accounts: an invitee gets none.
	if len(st.accounts) != len(s.accts) {
		t.Errorf("%d accounts, want %d (only the owners made accounts)", len(st.accounts), len(s.accts))
	}
	// Exactly one owner per account: the user who signed up.
	owners := map[int64][]int64{}
	for k, role := range st.members {
		if role == int64(roster.RoleOwner) {
			owners[k[0]] = append(owners[k[0]], k[1])
		}
	}
	for _, a := range s.accts {
		seq, ok := seqOf[a.id]
		if !ok {
			t.Errorf("account %s is gone", a.id)
			continue
		}
		if got := owners[seq]; len(got) != 1 || got[0] != a.ownerID {
			t.Errorf("account %s has owners %v, want exactly [%d]", a.id, got, a.ownerID)
		}
	}
	for seq, got := range owners {
		if _, ok := st.accounts[seq]; ok && len(got) != 1 {
			t.Errorf("account %d has %d owners: %v", seq, len(got), got)
		}
	}

	// Users: the owners and the invitees whose sign-up answered 201, no more.
	want := map[int64]string{}
	for _, a := range s.accts {
		want[a.ownerID] = st.users[a.ownerID]
	}
	for _, u := range s.userList {
		want[u.id] = u.email
	}
	if len(st.users) != len(s.accts)+s.signups {
		t.Errorf("%d users, want %d (3 owners + %d sign-ups from invitations that answered 201)", len(st.users), len(s.accts)+s.signups, s.signups)
	}
	for id, email := range st.users {
		if w, ok := want[id]; !ok || w != email {
			t.Errorf("user %d %s: no sign-up answered 201 for it (or for another address)", id, email)
		}
	}

	// Invitations: one row per 201, at most one pending per address.
	perAccount := map[int64]int{}
	pending := map[string]int{}
	byHash := map[string]stormInvitationRow{}
	acceptedIn := map[[2]int64]bool{}
	for _, i := range st.invs {
		perAccount[i.account]++
		if i.status == "pending" {
			pending[fmt.Sprintf("%d %s", i.account, i.email)]++
		}
		byHash[string(i.tokenHash)] = i
		if i.status == "accepted" {
			if !i.acceptedBy.Valid {
				t.Errorf("invitation %d is accepted by no one", i.id)
				continue
			}
			acceptedIn[[2]int64{i.account, i.acceptedBy.Int64}] = true
			if st.users[i.acceptedBy.Int64] != i.email {
				t.Errorf("invitation %d for %s was accepted by user %d %s", i.id, i.email, i.acceptedBy.Int64, st.users[i.acceptedBy.Int64])
			}
		}
	}
	for _, a := range s.accts {
		if got := perAccount[seqOf[a.id]]; got != s.invited[a.id] {
			t.Errorf("account %s has %d invitations, but %d invitations answered 201", a.id, got, s.invited[a.id])
		}
	}
	for k, n := range pending {
		if n > 1 {
			t.Errorf("%d pending invitations for account/address %s", n, k)
		}
	}

	// Accepts: each token at most once, each success an accepted row by
	// that user, and every accepted row one of those successes.
	succeeded := 0
	for token, by := range s.accepted {
		if len(by) > 1 {
			t.Errorf("invitation token %s…: %d accepts answered 2xx (users %v)", token[:8], len(by), by)
		}
		sum := sha256.Sum256([]byte(token))
		i, ok := byHash[string(sum[:])]
		switch {
		case !ok:
			t.Errorf("token %s… was accepted but names no invitation", token[:8])
		case i.status != "accepted" || !i.acceptedBy.Valid || i.acceptedBy.Int64 != by[0]:
			t.Errorf("invitation %d: accept by user %d answered 2xx, but it is %s (accepted_by %v)", i.id, by[0], i.status, stormNullID(i.acceptedBy))
		}
		succeeded++
	}
	acceptedRows := 0
	for _, i := range st.invs {
		if i.status == "accepted" {
			acceptedRows++
		}
	}
	if acceptedRows != succeeded {
		t.Errorf("%d invitations are accepted, but accepts of %d tokens answered 2xx", acceptedRows, succeeded)
	}

	// A member other than the owner joined by accepting an invitation there.
	for k, role := range st.members {
		if role != int64(roster.RoleOwner) && !acceptedIn[k] {
			t.Errorf("user %d is a member (role %d) of account %d without an accepted invitation there", k[1], role, k[0])
		}
	}
}

func stormNullID(n sql.NullInt64) string {
	if !n.Valid {
		return "NULL"
	}
	return fmt.Sprint(n.Int64)
}

// checkIndex holds the in-memory permission check to the database, for
// every account, user and permission, once the index has caught up.
func (s *storm) checkIndex() {
	t := s.t
	st := s.readDatabase()
	svc := s.e.Server.Service
	deadline := time.Now().Add(5 * time.Second)
	for svc.Revision() < st.changes && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if rev := svc.Revision(); rev < st.changes {
		t.Errorf("the check index is at revision %d after 5 s; the changes table is at %d", rev, st.changes)
	}
	ctx := context.Background()
	mismatches := 0
	for seq, a := range st.accounts {
		committed := a.plan == string(roster.PlanCommitted)
		for uid, email := range st.users {
			role, member := st.members[[2]int64{seq, uid}]
			for _, p := range s.perms {
				truth := member && authz.Allowed(roster.Role(role), p) && (committed || role == int64(roster.RoleOwner))
				d, err := svc.CheckUser(ctx, a.authID, uid, p)
				if err != nil {
					t.Errorf("CheckUser(%s, %d, %s): %v", a.authID, uid, p, err)
					continue
				}
				if d.Allowed != truth {
					mismatches++
					if mismatches <= 20 {
						t.Errorf("check %s (plan %s) user %d %s (member %v, role %d) %s: allowed %v, the database says %v (decision %+v)",
							a.authID, a.plan, uid, email, member, role, p, d.Allowed, truth, d)
					}
				}
			}
		}
	}
	if mismatches > 20 {
		t.Errorf("%d mismatches between the check and the database in all", mismatches)
	}
}
