package service_test

// The rules of package service, over real databases (SQLite and, when one
// answers, PostgreSQL), without HTTP: the gate (Authenticate + Authorize),
// the team rules, sign-up and login throttling, and the check that the
// platform's other services ask (CheckUser, CheckKey). Every refusal is
// checked for its code and for having changed nothing, re-read through the
// service.

import (
	"context"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/mail"
	"github.com/rosterhq/roster/service"
	"github.com/rosterhq/roster/store"
	"github.com/rosterhq/roster/store/storetest"
)

const (
	password1 = "correct horse battery staple"
	password2 = "purple elephant dances quietly"
	clientIP  = "192.0.2.10"
	noAccount = "MA000000000000000000" // well formed, never issued
)

var operator = roster.Actor{Email: "op"}

// ---------------------------------------------------------------------------
// Backends

// testBackends returns a DSN of each kind (storetest.Backends): a SQLite
// file, and a fresh PostgreSQL database when one answers.
func testBackends(t *testing.T) []backend {
	t.Helper()
	var out []backend
	for _, b := range storetest.Backends(t) {
		out = append(out, backend{b.Name, b.DSN})
	}
	return out
}

type backend struct{ name, dsn string }

// eachBackend runs f, in parallel, once per backend, each on its own
// fresh database and service.
func eachBackend(t *testing.T, f func(t *testing.T, e *env)) {
	t.Helper()
	for _, b := range testBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, newEnv(t, b.dsn))
		})
	}
}

// ---------------------------------------------------------------------------
// Mail recorder and clock

// recorder is a mail.Sender that keeps every message. The service writes
// mail to the outbox; the recorder sends what is there (flush) before it
// answers, as the server's worker would have by then.
type recorder struct {
	mu    sync.Mutex
	msgs  []mail.Message
	flush func()
}

func (r *recorder) Send(_ context.Context, m mail.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
	return nil
}

// all returns every message sent, oldest first, once the outbox is sent.
func (r *recorder) all() []mail.Message {
	r.flush()
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]mail.Message(nil), r.msgs...)
}

// to returns the messages sent to the address, oldest first.
func (r *recorder) to(addr string) []mail.Message {
	var out []mail.Message
	for _, m := range r.all() {
		if m.To == addr {
			out = append(out, m)
		}
	}
	return out
}

var linkRE = regexp.MustCompile(`http://127\.0\.0\.1:8080/(verify|invite)/([A-Za-z0-9_-]+)`)

// token returns the token of the newest {BaseURL}/{kind}/{token} link
// mailed to addr.
func (r *recorder) token(t *testing.T, addr, kind string) string {
	t.Helper()
	msgs := r.to(addr)
	for i := len(msgs) - 1; i >= 0; i-- {
		for _, m := range linkRE.FindAllStringSubmatch(msgs[i].Text, -1) {
			if m[1] == kind {
				return m[2]
			}
		}
	}
	t.Fatalf("no /%s/ link mailed to %s (%d messages)", kind, addr, len(msgs))
	return ""
}

// clock is the database's clock: real time plus an offset the test moves.
// It is set once, before the service starts, and read atomically, so
// background goroutines (TouchAPIKey) never race with the test.
type clock struct{ off atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) advance(d time.Duration) { c.off.Add(int64(d)) }

// ---------------------------------------------------------------------------
// Environment

type env struct {
	t     *testing.T
	ctx   context.Context
	db    *store.DB
	svc   *service.Service
	mail  *recorder
	clock *clock
}

func newEnv(t *testing.T, dsn string) *env {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	clk := &clock{}
	db.Now = clk.Now
	cfg := service.DefaultConfig()
	cfg.HashConcurrency = 2
	cfg.HashWait = 2 * time.Minute // -race makes argon2id slow; never answer 503 here
	cfg.MaxStaleness = 0           // no Follow loop runs: the index is fresh by construction
	cfg.SignupsPerIP = 1_000_000   // every sign-up here comes from clientIP
	rec := &recorder{}
	svc := service.New(db, rec, nil, cfg, nil)
	rec.flush = func() { svc.SendMail(ctx, "sent") }
	if err := svc.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: ctx, db: db, svc: svc, mail: rec, clock: clk}
}

// person is a verified user and a live session of theirs.
type person struct {
	roster.User
	Session string
}

func (p person) actor() roster.Actor { return roster.Actor{UserID: p.ID, Email: p.Email, IP: clientIP} }

// signup signs a person up without an invitation, verifies the address
// through the mailed link and logs in. It returns them and their account.
func (e *env) signup(email, name string) (person, roster.Account) {
	e.t.Helper()
	res, err := e.svc.Signup(e.ctx, service.SignupInput{Email: email, Password: password1, Name: name}, clientIP)
	if err != nil || !res.Registered {
		e.t.Fatalf("Signup(%s): %+v, %v", email, res, err)
	}
	if _, err := e.svc.VerifyEmail(e.ctx, e.mail.token(e.t, email, "verify")); err != nil {
		e.t.Fatalf("VerifyEmail(%s): %v", email, err)
	}
	session, u, err := e.login(email, password1, clientIP)
	if err != nil {
		e.t.Fatalf("Login(%s): %v", email, err)
	}
	return person{u, session}, res.Account
}

// login logs in with a password (no second factor) and returns the
// session and the user. It is the test file's one call of svc.Login.
func (e *env) login(email, password, ip string) (string, roster.User, error) {
	res, err := e.svc.Login(e.ctx, service.LoginInput{Email: email, Password: password, IP: ip})
	return res.Session, res.User, err
}

// commit puts the account on the committed plan.
func (e *env) commit(a roster.Account) roster.Account {
	e.t.Helper()
	a, err := e.svc.SetPlan(e.ctx, a.ID, roster.PlanCommitted, 1000, 12, operator)
	if err != nil {
		e.t.Fatalf("SetPlan committed: %v", err)
	}
	return a
}

// join invites email to the account as role and signs the invitee up
// through the invitation link (a new user, signed in).
func (e *env) join(by person, a roster.Account, email, role string) person {
	e.t.Helper()
	if _, err := e.svc.Invite(e.ctx, a, email, role, by.actor()); err != nil {
		e.t.Fatalf("Invite(%s, %s): %v", email, role, err)
	}
	res, err := e.svc.Signup(e.ctx, service.SignupInput{
		Email: email, Password: password1, Name: "Member", InvitationToken: e.mail.token(e.t, email, "invite"),
	}, clientIP)
	if err != nil || res.Session == "" {
		e.t.Fatalf("Signup from invitation (%s): %+v, %v", email, res, err)
	}
	return person{res.User, res.Session}
}

// account re-reads the account through the service, as its member sees it.
func (e *env) account(p person, id string) roster.Account {
	e.t.Helper()
	a, _, err := e.svc.Account(e.ctx, p.ID, id)
	if err != nil {
		e.t.Fatalf("Account(%s) for %s: %v", id, p.Email, err)
	}
	return a
}

// session authenticates a session token.
func (e *env) session(p person) service.Caller {
	e.t.Helper()
	c, err := e.svc.Authenticate(e.ctx, service.Credential{Session: p.Session}, true)
	if err != nil {
		e.t.Fatalf("Authenticate(session of %s): %v", p.Email, err)
	}
	return c
}

// state is what a refusal must leave as it was: the account, its members,
// its pending invitations and how many audit events it has.
type state struct {
	Account     roster.Account
	Members     []roster.Member
	Invitations []roster.Invitation
	Audit       int
}

func (e *env) state(owner person, id string) state {
	e.t.Helper()
	a := e.account(owner, id)
	ms, _, _, err := e.svc.Members(e.ctx, a, roster.Page{Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	invs, _, err := e.svc.Invitations(e.ctx, a, roster.Page{Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	_, audit, err := e.svc.AuditEvents(e.ctx, a, roster.Page{Limit: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	return state{a, ms, invs, audit}
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := roster.ErrorCode(err); got != code {
		t.Errorf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

// ---------------------------------------------------------------------------
// 1. The gate

// teamFixture is a committed account with one member of each role, and an
// outsider who owns another account (standard plan).
type teamFixture struct {
	owner, admin, dev, finance, support, outsider person
	acct, other                                   roster.Account
}

func (f *teamFixture) byRole() map[roster.Role]person {
	return map[roster.Role]person{
		roster.RoleOwner: f.owner, roster.RoleAdmin: f.admin, roster.RoleDeveloper: f.dev,
		roster.RoleFinanceAnalyst: f.finance, roster.RoleSupport: f.support,
	}
}

func newTeam(e *env) *teamFixture {
	e.t.Helper()
	f := &teamFixture{}
	f.owner, f.acct = e.signup("owner@acme-corp.com", "Owner")
	f.acct = e.commit(f.acct)
	f.admin = e.join(f.owner, f.acct, "admin@acme-corp.com", "admin")
	f.dev = e.join(f.owner, f.acct, "dev@acme-corp.com", "developer")
	f.finance = e.join(f.owner, f.acct, "finance@acme-corp.com", "finance_analyst")
	f.support = e.join(f.owner, f.acct, "support@acme-corp.com", "support")
	f.outsider, f.other = e.signup("boss@globex-industries.com", "Boss")
	return f
}
