package service_test

// The rules of package service, over real databases (SQLite and, when one
// answers, PostgreSQL), without HTTP: the gate (Authenticate + Authorize),
// the team rules, sign-up and login throttling, and the check that the
// platform's other services ask (CheckUser, CheckKey). Every refusal is
// checked for its code and for having changed nothing, re-read through the
// service.

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
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

// recorder is a mail.Sender that keeps every message.
type recorder struct {
	mu   sync.Mutex
	msgs []mail.Message
}

func (r *recorder) Send(_ context.Context, m mail.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
	return nil
}

// to returns the messages sent to the address, oldest first.
func (r *recorder) to(addr string) []mail.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []mail.Message
	for _, m := range r.msgs {
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
	cfg.StaleAfter = 0             // no Follow loop runs: the index is fresh by construction
	cfg.SignupsPerIP = 1_000_000   // every sign-up here comes from clientIP
	rec := &recorder{}
	svc := service.New(db, rec, nil, cfg, nil)
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

// TestGate_SessionFollowsRoleMatrix: a session caller on their own account
// is allowed exactly what authz.Allowed says for their role, refused the
// rest with EFORBIDDEN, and always admitted as a member (AnyMember); the
// undeclared permission (PermissionNone) and a permission beyond the
// matrix are refused for every role: deny by default.
func TestGate_SessionFollowsRoleMatrix(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		f := newTeam(e)
		before := e.state(f.owner, f.acct.ID)
		for role, p := range f.byRole() {
			t.Run(role.String(), func(t *testing.T) {
				perms := append([]roster.Permission{roster.PermissionNone, roster.AnyMember, roster.Permission(200)}, roster.AllPermissions...)
				for _, need := range perms {
					c := e.session(p)
					err := e.svc.Authorize(e.ctx, &c, f.acct.ID, need)
					want := ""
					switch {
					case need == roster.AnyMember:
					case need == roster.PermissionNone || need > roster.AnyMember:
						want = roster.EFORBIDDEN
					case !authz.Allowed(role, need):
						want = roster.EFORBIDDEN
					}
					wantCode(t, fmt.Sprintf("%s asks %s", role, need), err, want)
					if c.Role != role || c.Status != roster.MemberActive || c.Account.ID != f.acct.ID || c.Via != service.ViaSession || c.User.ID != p.ID {
						t.Errorf("%s asks %s: caller %+v, want role %s, active, account %s, via session", role, need, c, role, f.acct.ID)
					}
				}
			})
		}
		if after := e.state(f.owner, f.acct.ID); !reflect.DeepEqual(before, after) {
			t.Errorf("checks changed the account:\nbefore %+v\nafter  %+v", before, after)
		}
	})
}

// TestGate_OtherAccountIsNotFound: an account the caller is not a member
// of answers ENOTFOUND, the same as one that does not exist, whatever the
// permission (never reveal that it exists).
func TestGate_OtherAccountIsNotFound(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		f := newTeam(e)
		cases := []struct {
			name string
			who  person
			acct string
		}{
			{"owner of A asks for B", f.owner, f.other.ID},
			{"admin of A asks for B", f.admin, f.other.ID},
			{"support of A asks for B", f.support, f.other.ID},
			{"owner of B asks for A", f.outsider, f.acct.ID},
			{"member asks for an account that does not exist", f.admin, noAccount},
			{"member asks for a malformed account ID", f.admin, "not-an-account"},
			{"member asks for the empty account ID", f.admin, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				for _, need := range []roster.Permission{roster.AnyMember, roster.NumbersView, roster.TeamEdit, roster.CredentialsView, roster.PermissionNone} {
					c := e.session(tc.who)
					err := e.svc.Authorize(e.ctx, &c, tc.acct, need)
					wantCode(t, need.String(), err, roster.ENOTFOUND)
					if c.Role != roster.RoleNone {
						t.Errorf("%s: caller got role %s in an account they are not a member of", need, c.Role)
					}
				}
			})
		}
		// The refusal for an existing account reads the same as for none.
		c1, c2 := e.session(f.admin), e.session(f.admin)
		e1 := e.svc.Authorize(e.ctx, &c1, f.other.ID, roster.NumbersView)
		e2 := e.svc.Authorize(e.ctx, &c2, noAccount, roster.NumbersView)
		if roster.ErrorMessage(e1) != roster.ErrorMessage(e2) {
			t.Errorf("refusals differ: %q for an existing account, %q for none", roster.ErrorMessage(e1), roster.ErrorMessage(e2))
		}
	})
}

// TestGate_SuspendedMemberAndOwnerOnStandardPlan: when the account leaves
// the committed plan, a non-owner member is suspended: EPLANREQUIRED for
// every permission (even one the role lacks), admitted as a member for
// AnyMember, with caller.Status suspended and their role kept; the owner
// is never suspended. Returning to committed restores the member.
func TestGate_SuspendedMemberAndOwnerOnStandardPlan(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		owner, acct := e.signup("owner@acme-corp.com", "Owner")
		acct = e.commit(acct)
		dev := e.join(owner, acct, "dev@acme-corp.com", "developer")
		_, devKey, err := e.svc.CreateAPIKey(e.ctx, dev.User, acct.ID, "ci", clientIP)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.SetPlan(e.ctx, acct.ID, roster.PlanStandard, 0, 0, operator); err != nil {
			t.Fatal(err)
		}

		for _, need := range append([]roster.Permission{roster.AnyMember}, roster.AllPermissions...) {
			t.Run("developer/"+need.String(), func(t *testing.T) {
				c := e.session(dev)
				err := e.svc.Authorize(e.ctx, &c, acct.ID, need)
				want := roster.EPLANREQUIRED
				if need == roster.AnyMember {
					want = ""
				}
				wantCode(t, "suspended developer", err, want)
				if c.Status != roster.MemberSuspended || c.Role != roster.RoleDeveloper {
					t.Errorf("caller status %q role %s, want suspended developer", c.Status, c.Role)
				}
			})
			t.Run("developer's key/"+need.String(), func(t *testing.T) {
				c, err := e.svc.Authenticate(e.ctx, service.Credential{APIKey: devKey}, false)
				if err != nil {
					t.Fatalf("a suspended member's key is still a key: %v", err)
				}
				err = e.svc.Authorize(e.ctx, &c, acct.ID, need)
				want := roster.EPLANREQUIRED
				if need == roster.AnyMember {
					want = ""
				}
				wantCode(t, "suspended developer's key", err, want)
				if c.Status != roster.MemberSuspended || c.Role != roster.RoleDeveloper {
					t.Errorf("caller status %q role %s, want suspended developer", c.Status, c.Role)
				}
			})
			t.Run("owner/"+need.String(), func(t *testing.T) {
				c := e.session(owner)
				err := e.svc.Authorize(e.ctx, &c, acct.ID, need)
				wantCode(t, "owner on standard", err, "")
				if c.Status != roster.MemberActive || c.Role != roster.RoleOwner {
					t.Errorf("caller status %q role %s, want active owner", c.Status, c.Role)
				}
			})
		}
		// The member keeps their place and role, shown as suspended.
		m, err := e.svc.Member(e.ctx, e.account(owner, acct.ID), dev.ID)
		if err != nil || m.Role != roster.RoleDeveloper || m.Status != roster.MemberSuspended {
			t.Errorf("suspended member reads %+v, %v; want developer, suspended", m, err)
		}
		if d, err := e.svc.CheckUser(e.ctx, acct.ID, dev.ID, roster.NumbersView); err != nil || d.Allowed || d.Reason != authz.ReasonSuspended {
			t.Errorf("CheckUser(suspended) = %+v, %v; want reason suspended", d, err)
		}

		// Back on committed: the developer acts again, with the same role.
		e.commit(acct)
		c := e.session(dev)
		if err := e.svc.Authorize(e.ctx, &c, acct.ID, roster.NumbersEdit); err != nil || c.Status != roster.MemberActive {
			t.Errorf("after returning to committed: %v, status %q; want allowed, active", err, c.Status)
		}
		c = e.session(dev)
		wantCode(t, "restored developer asks billing.view", e.svc.Authorize(e.ctx, &c, acct.ID, roster.BillingView), roster.EFORBIDDEN)
	})
}

// TestGate_AccountCredentials: the Auth ID + Auth Token act with the
// developer role's permissions on their own account, except
// credentials.view and credentials.edit (EFORBIDDEN); nothing else is
// allowed, and no other account is reachable. A wrong token, an unknown
// Auth ID or an empty Basic answer EUNAUTHENTICATED.
func TestGate_AccountCredentials(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		owner, acct := e.signup("owner@acme-corp.com", "Owner")
		acct = e.commit(acct)
		_, other := e.signup("boss@globex-industries.com", "Boss")
		creds, err := e.svc.Credentials(e.ctx, acct, owner.actor())
		if err != nil || creds.AuthID != acct.ID || creds.AuthToken == "" {
			t.Fatalf("Credentials: %+v, %v", creds, err)
		}
		basic := service.Credential{Basic: true, AuthID: acct.ID, AuthToken: creds.AuthToken}

		before := e.state(owner, acct.ID)
		perms := append([]roster.Permission{roster.PermissionNone, roster.AnyMember}, roster.AllPermissions...)
		for _, need := range perms {
			t.Run(need.String(), func(t *testing.T) {
				c, err := e.svc.Authenticate(e.ctx, basic, false)
				if err != nil || c.Via != service.ViaAccount {
					t.Fatalf("Authenticate(Basic): via %v, %v", c.Via, err)
				}
				err = e.svc.Authorize(e.ctx, &c, acct.ID, need)
				want := ""
				switch {
				case need == roster.AnyMember:
				case need == roster.CredentialsView, need == roster.CredentialsEdit, need == roster.PermissionNone:
					want = roster.EFORBIDDEN
				case !authz.Allowed(roster.RoleDeveloper, need):
					want = roster.EFORBIDDEN
				}
				wantCode(t, "account credentials ask "+need.String(), err, want)
				if c.Role != roster.RoleDeveloper {
					t.Errorf("account credentials act as %s, want developer", c.Role)
				}
			})
		}
		t.Run("explicit cases", func(t *testing.T) {
			for need, want := range map[roster.Permission]string{
				roster.CredentialsView: roster.EFORBIDDEN,
				roster.CredentialsEdit: roster.EFORBIDDEN,
				roster.NumbersView:     "",
			} {
				c, _ := e.svc.Authenticate(e.ctx, basic, false)
				wantCode(t, need.String(), e.svc.Authorize(e.ctx, &c, acct.ID, need), want)
			}
		})
		t.Run("another account", func(t *testing.T) {
			for _, id := range []string{other.ID, noAccount} {
				c, _ := e.svc.Authenticate(e.ctx, basic, false)
				wantCode(t, "credentials of A on "+id, e.svc.Authorize(e.ctx, &c, id, roster.NumbersView), roster.ENOTFOUND)
			}
		})
		refusals := []struct {
			name string
			cred service.Credential
		}{
			{"wrong token", service.Credential{Basic: true, AuthID: acct.ID, AuthToken: creds.AuthToken + "x"}},
			{"empty token", service.Credential{Basic: true, AuthID: acct.ID}},
			{"another account's ID", service.Credential{Basic: true, AuthID: other.ID, AuthToken: creds.AuthToken}},
			{"unknown Auth ID", service.Credential{Basic: true, AuthID: noAccount, AuthToken: creds.AuthToken}},
			{"empty Basic", service.Credential{Basic: true}},
			{"nothing presented", service.Credential{}},
			{"unknown session", service.Credential{Session: "not-a-session"}},
			{"unknown API key", service.Credential{APIKey: service.KeyPrefix + "nope"}},
		}
		for _, tc := range refusals {
			t.Run(tc.name, func(t *testing.T) {
				c, err := e.svc.Authenticate(e.ctx, tc.cred, false)
				wantCode(t, tc.name, err, roster.EUNAUTHENTICATED)
				if c.Via != service.ViaNone {
					t.Errorf("refused caller came back as via %v", c.Via)
				}
			})
		}
		if after := e.state(owner, acct.ID); !reflect.DeepEqual(before, after) {
			t.Errorf("credential checks changed the account:\nbefore %+v\nafter  %+v", before, after)
		}
		// The token still works after the refusals.
		c, err := e.svc.Authenticate(e.ctx, basic, false)
		if err == nil {
			err = e.svc.Authorize(e.ctx, &c, acct.ID, roster.NumbersView)
		}
		if err != nil {
			t.Errorf("the right token after refusals: %v", err)
		}
	})
}

// TestGate_SessionOnlyIgnoresAPIKey: with sessionOnly the gate uses the
// session and ignores a personal API key (and account credentials); with
// no session it refuses. Without sessionOnly the key is used first.
func TestGate_SessionOnlyIgnoresAPIKey(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		owner, acct := e.signup("owner@acme-corp.com", "Owner")
		acct = e.commit(acct)
		dev := e.join(owner, acct, "dev@acme-corp.com", "developer")
		_, devKey, err := e.svc.CreateAPIKey(e.ctx, dev.User, acct.ID, "ci", clientIP)
		if err != nil {
			t.Fatal(err)
		}
		creds, err := e.svc.Credentials(e.ctx, acct, owner.actor())
		if err != nil {
			t.Fatal(err)
		}
		basic := func(c service.Credential) service.Credential {
			c.Basic, c.AuthID, c.AuthToken = true, acct.ID, creds.AuthToken
			return c
		}
		cases := []struct {
			name        string
			cred        service.Credential
			sessionOnly bool
			wantErr     string
			wantVia     service.Via
			wantUser    int64
			teamEdit    string // Authorize(team.edit) when authenticated
		}{
			{"session only: owner's session with the developer's key", service.Credential{Session: owner.Session, APIKey: devKey}, true, "", service.ViaSession, owner.ID, ""},
			{"session only: developer's session with the developer's key", service.Credential{Session: dev.Session, APIKey: devKey}, true, "", service.ViaSession, dev.ID, roster.EFORBIDDEN},
			{"session only: owner's session with account credentials", basic(service.Credential{Session: owner.Session}), true, "", service.ViaSession, owner.ID, ""},
			{"session only: the key alone", service.Credential{APIKey: devKey}, true, roster.EUNAUTHENTICATED, service.ViaNone, 0, ""},
			{"session only: account credentials alone", basic(service.Credential{}), true, roster.EUNAUTHENTICATED, service.ViaNone, 0, ""},
			{"any way: the key wins over the owner's session", service.Credential{Session: owner.Session, APIKey: devKey}, false, "", service.ViaAPIKey, dev.ID, roster.EFORBIDDEN},
			{"any way: the key alone", service.Credential{APIKey: devKey}, false, "", service.ViaAPIKey, dev.ID, roster.EFORBIDDEN},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c, err := e.svc.Authenticate(e.ctx, tc.cred, tc.sessionOnly)
				wantCode(t, "Authenticate", err, tc.wantErr)
				if err != nil {
					return
				}
				if c.Via != tc.wantVia {
					t.Errorf("via %v, want %v", c.Via, tc.wantVia)
				}
				err = e.svc.Authorize(e.ctx, &c, acct.ID, roster.TeamEdit)
				wantCode(t, "Authorize(team.edit)", err, tc.teamEdit)
				if c.User.ID != tc.wantUser {
					t.Errorf("caller is user %d (%s), want %d", c.User.ID, c.User.Email, tc.wantUser)
				}
			})
		}
	})
}

// ---------------------------------------------------------------------------
// 2. Team rules

// TestTeam_RefusalsChangeNothing: each refusal of the team rules answers
// its code (and field) and leaves both accounts as they were.
func TestTeam_RefusalsChangeNothing(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		owner, acct := e.signup("owner@acme-corp.com", "Owner")
		acct = e.commit(acct)
		dev := e.join(owner, acct, "dev@acme-corp.com", "developer")
		outsider, std := e.signup("boss@globex-industries.com", "Boss") // standard plan
		if _, err := e.svc.Invite(e.ctx, acct, "pending@acme-corp.com", "support", owner.actor()); err != nil {
			t.Fatal(err)
		}
		by := owner.actor()
		cases := []struct {
			name   string
			do     func() error
			code   string
			field  string // "" when not checked
			mailTo string // no mail may reach this address
		}{
			{"owner's role cannot change", func() error {
				_, err := e.svc.SetMemberRole(e.ctx, acct, owner.ID, "admin", by)
				return err
			}, roster.EOWNERIMMUTABLE, "", ""},
			{"owner cannot be re-given owner", func() error {
				_, err := e.svc.SetMemberRole(e.ctx, acct, owner.ID, "owner", by)
				return err
			}, roster.EOWNERIMMUTABLE, "", ""},
			{"owner cannot be deleted", func() error {
				return e.svc.DeleteMember(e.ctx, acct, owner.ID, by)
			}, roster.EOWNERIMMUTABLE, "", ""},
			{"no member can be made owner", func() error {
				_, err := e.svc.SetMemberRole(e.ctx, acct, dev.ID, "owner", by)
				return err
			}, roster.EOWNERIMMUTABLE, "role", ""},
			{"no one can be invited as owner", func() error {
				_, err := e.svc.Invite(e.ctx, acct, "newowner@acme-corp.com", "owner", by)
				return err
			}, roster.EOWNERIMMUTABLE, "role", "newowner@acme-corp.com"},
			{"pending invitation cannot be re-roled to owner", func() error {
				invs, _, _ := e.svc.Invitations(e.ctx, acct, roster.Page{Limit: 10})
				_, err := e.svc.SetInvitationRole(e.ctx, acct, invs[0].ID, "owner", by)
				return err
			}, roster.EOWNERIMMUTABLE, "role", ""},
			{"inviting on the standard plan", func() error {
				_, err := e.svc.Invite(e.ctx, std, "someone@globex-industries.com", "developer", outsider.actor())
				return err
			}, roster.EPLANREQUIRED, "", "someone@globex-industries.com"},
			{"changing a role on the standard plan", func() error {
				_, err := e.svc.SetMemberRole(e.ctx, std, outsider.ID, "admin", outsider.actor())
				return err
			}, roster.EPLANREQUIRED, "", ""},
			{"personal domain", func() error {
				_, err := e.svc.Invite(e.ctx, acct, "someone@gmail.com", "developer", by)
				return err
			}, roster.EPERSONALDOMAIN, "email", "someone@gmail.com"},
			{"personal domain, mixed case and spaces", func() error {
				_, err := e.svc.Invite(e.ctx, acct, "  Someone@GMail.COM ", "developer", by)
				return err
			}, roster.EPERSONALDOMAIN, "email", "someone@gmail.com"},
			{"disposable domain", func() error {
				_, err := e.svc.Invite(e.ctx, acct, "someone@mailinator.com", "developer", by)
				return err
			}, roster.EPERSONALDOMAIN, "email", "someone@mailinator.com"},
			{"invitation already pending", func() error {
				_, err := e.svc.Invite(e.ctx, acct, "pending@acme-corp.com", "support", by)
				return err
			}, roster.EINVITEPENDING, "", ""},
			{"invitation already pending, another case and role", func() error {
				_, err := e.svc.Invite(e.ctx, acct, " PENDING@Acme-Corp.com ", "admin", by)
				return err
			}, roster.EINVITEPENDING, "", ""},
			{"existing member", func() error {
				_, err := e.svc.Invite(e.ctx, acct, "dev@acme-corp.com", "admin", by)
				return err
			}, roster.EALREADYMEMBER, "", ""},
			{"existing member, another case", func() error {
				_, err := e.svc.Invite(e.ctx, acct, "Dev@ACME-CORP.com", "support", by)
				return err
			}, roster.EALREADYMEMBER, "", ""},
			{"the owner's own address", func() error {
				_, err := e.svc.Invite(e.ctx, acct, "owner@acme-corp.com", "admin", by)
				return err
			}, roster.EALREADYMEMBER, "", ""},
			{"not an address", func() error {
				_, err := e.svc.Invite(e.ctx, acct, "not an address", "developer", by)
				return err
			}, roster.EINVALID, "email", ""},
			{"unknown role on invite", func() error {
				_, err := e.svc.Invite(e.ctx, acct, "newdev@acme-corp.com", "superuser", by)
				return err
			}, roster.EINVALID, "role", "newdev@acme-corp.com"},
			{"unknown role on role change", func() error {
				_, err := e.svc.SetMemberRole(e.ctx, acct, dev.ID, "superuser", by)
				return err
			}, roster.EINVALID, "role", ""},
			{"role change of a non-member", func() error {
				_, err := e.svc.SetMemberRole(e.ctx, acct, outsider.ID, "admin", by)
				return err
			}, roster.ENOTFOUND, "", ""},
			{"delete of a non-member", func() error {
				return e.svc.DeleteMember(e.ctx, acct, outsider.ID, by)
			}, roster.ENOTFOUND, "", ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				beforeA, beforeB := e.state(owner, acct.ID), e.state(outsider, std.ID)
				mails := 0
				if tc.mailTo != "" {
					mails = len(e.mail.to(tc.mailTo))
				}
				err := tc.do()
				wantCode(t, tc.name, err, tc.code)
				if tc.field != "" && roster.FieldOf(err) != tc.field {
					t.Errorf("field %q, want %q", roster.FieldOf(err), tc.field)
				}
				if afterA := e.state(owner, acct.ID); !reflect.DeepEqual(beforeA, afterA) {
					t.Errorf("refusal changed the committed account:\nbefore %+v\nafter  %+v", beforeA, afterA)
				}
				if afterB := e.state(outsider, std.ID); !reflect.DeepEqual(beforeB, afterB) {
					t.Errorf("refusal changed the standard account:\nbefore %+v\nafter  %+v", beforeB, afterB)
				}
				if tc.mailTo != "" && len(e.mail.to(tc.mailTo)) != mails {
					t.Errorf("a refused invitation mailed %s", tc.mailTo)
				}
			})
		}
		// The owner and the developer still act as before.
		for _, p := range []person{owner, dev} {
			c := e.session(p)
			if err := e.svc.Authorize(e.ctx, &c, acct.ID, roster.NumbersEdit); err != nil {
				t.Errorf("%s after the refusals: %v", p.Email, err)
			}
		}
	})
}

// TestTeam_OnePendingInvitationUnderConcurrency: of concurrent invitations
// to one address exactly one is made; the others answer EINVITEPENDING.
func TestTeam_OnePendingInvitationUnderConcurrency(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		owner, acct := e.signup("owner@acme-corp.com", "Owner")
		acct = e.commit(acct)
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.svc.Invite(e.ctx, acct, "race@acme-corp.com", "developer", owner.actor())
			}()
		}
		wg.Wait()
		made := 0
		for _, err := range errs {
			switch roster.ErrorCode(err) {
			case "":
				made++
			case roster.EINVITEPENDING:
			default:
				t.Errorf("concurrent invite: %v", err)
			}
		}
		invs, total, err := e.svc.Invitations(e.ctx, acct, roster.Page{Limit: 10})
		if made != 1 || total != 1 || err != nil || len(e.mail.to("race@acme-corp.com")) != 1 {
			t.Errorf("%d invitations made, %d pending (%v), %d mails; want 1 each: %+v",
				made, total, err, len(e.mail.to("race@acme-corp.com")), invs)
		}
	})
}

// TestTeam_ExpiredInvitationMakesWayForANewOne: an expired invitation no
// longer counts as pending: the address can be invited again, the old link
// stays dead and the new one works.
func TestTeam_ExpiredInvitationMakesWayForANewOne(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		owner, acct := e.signup("owner@acme-corp.com", "Owner")
		acct = e.commit(acct)
		const email = "late@acme-corp.com"
		first, err := e.svc.Invite(e.ctx, acct, email, "developer", owner.actor())
		if err != nil {
			t.Fatal(err)
		}
		oldLink := e.mail.token(t, email, "invite")
		_, err = e.svc.Invite(e.ctx, acct, email, "developer", owner.actor())
		wantCode(t, "while pending", err, roster.EINVITEPENDING)

		e.clock.advance(e.svc.Config.InviteTTL + time.Minute)
		_, err = e.svc.PreviewInvitation(e.ctx, oldLink)
		wantCode(t, "expired link", err, roster.EINVITEINVALID)
		second, err := e.svc.Invite(e.ctx, acct, email, "support", owner.actor())
		if err != nil {
			t.Fatalf("invite after expiry: %v", err)
		}
		if second.ID == first.ID || second.Status != roster.InvitationPending || second.Role != roster.RoleSupport {
			t.Errorf("second invitation %+v (first %d)", second, first.ID)
		}
		newLink := e.mail.token(t, email, "invite")
		_, err = e.svc.PreviewInvitation(e.ctx, oldLink)
		wantCode(t, "old link after the new invitation", err, roster.EINVITEINVALID)
		p, err := e.svc.PreviewInvitation(e.ctx, newLink)
		if err != nil || p.Invitation.ID != second.ID || p.UserExists {
			t.Errorf("new link: %+v, %v", p, err)
		}
		invs, total, err := e.svc.Invitations(e.ctx, acct, roster.Page{Limit: 10})
		if err != nil || total != 1 || invs[0].ID != second.ID {
			t.Errorf("pending invitations %+v (%d), %v; want only the new one", invs, total, err)
		}
	})
}

// TestTeam_SetMemberRoleAnswersTheChange: SetMemberRole returns the member
// as the change left it (role, status, identity), the same that a re-read
// gives, and the gate follows the new role at once.
func TestTeam_SetMemberRoleAnswersTheChange(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		owner, acct := e.signup("owner@acme-corp.com", "Owner")
		acct = e.commit(acct)
		admin := e.join(owner, acct, "admin@acme-corp.com", "admin")
		dev := e.join(owner, acct, "dev@acme-corp.com", "developer")
		cases := []struct {
			by   person
			role roster.Role
		}{
			{owner, roster.RoleSupport},
			{admin, roster.RoleFinanceAnalyst},
			{owner, roster.RoleAdmin},
			{admin, roster.RoleAdmin}, // unchanged: still answered as it is
			{admin, roster.RoleDeveloper},
		}
		for _, tc := range cases {
			t.Run(tc.role.String(), func(t *testing.T) {
				before := e.state(owner, acct.ID)
				m, err := e.svc.SetMemberRole(e.ctx, acct, dev.ID, tc.role.String(), tc.by.actor())
				if err != nil {
					t.Fatal(err)
				}
				if m.UserID != dev.ID || m.Email != dev.Email || m.Role != tc.role || m.Status != roster.MemberActive || m.AccountID != acct.ID {
					t.Errorf("SetMemberRole answered %+v, want user %d (%s) as active %s", m, dev.ID, dev.Email, tc.role)
				}
				again, err := e.svc.Member(e.ctx, acct, dev.ID)
				if err != nil || !reflect.DeepEqual(m, again) {
					t.Errorf("answer %+v, re-read %+v (%v)", m, again, err)
				}
				after := e.state(owner, acct.ID)
				if after.Audit != before.Audit+1 {
					t.Errorf("audit events %d -> %d, want one more", before.Audit, after.Audit)
				}
				for _, need := range roster.AllPermissions {
					c := e.session(dev)
					want := ""
					if !authz.Allowed(tc.role, need) {
						want = roster.EFORBIDDEN
					}
					wantCode(t, need.String(), e.svc.Authorize(e.ctx, &c, acct.ID, need), want)
				}
				if d, _ := e.svc.CheckUser(e.ctx, acct.ID, dev.ID, roster.TeamEdit); d.Role != tc.role || d.Allowed != authz.Allowed(tc.role, roster.TeamEdit) {
					t.Errorf("CheckUser after the change: %+v", d)
				}
			})
		}
	})
}

// ---------------------------------------------------------------------------
// 3. Sign-up rules

// TestSignup_OnlyTheVerifiedAttemptsPasswordWorks: two sign-ups for one
// unverified address each get their own link; the link used decides the
// password (and name): the other attempt's password is refused, and the
// other link is dead (EINVALID), including a second use of the one used.
func TestSignup_OnlyTheVerifiedAttemptsPasswordWorks(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		useLink int // 1 or 2
	}{
		{"second attempt verified through its own link", 2},
		{"first attempt verified after the second sign-up", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			eachBackend(t, func(t *testing.T, e *env) {
				const email = "ada@acme-corp.com"
				names := [3]string{"", "Ada", "Ada Lovelace"}
				pws := [3]string{"", password1, password2}
				res, err := e.svc.Signup(e.ctx, service.SignupInput{Email: email, Password: pws[1], Name: names[1]}, clientIP)
				if err != nil || !res.Registered {
					t.Fatalf("first sign-up: %+v, %v", res, err)
				}
				links := [3]string{"", e.mail.token(t, email, "verify"), ""}
				// Unverified: the right password says so, nothing more.
				_, _, err = e.login(email, pws[1], clientIP)
				wantCode(t, "login before verifying", err, roster.EEMAILUNVERIFIED)

				e.clock.advance(2 * time.Minute) // one identity mail a minute per address
				res2, err := e.svc.Signup(e.ctx, service.SignupInput{Email: "  ADA@acme-corp.com", Password: pws[2], Name: names[2]}, "198.51.100.20")
				if err != nil {
					t.Fatalf("second sign-up: %v", err)
				}
				if res2.Registered || res2.Account.ID != "" {
					t.Errorf("second sign-up revealed the registered address: %+v", res2)
				}
				if n := len(e.mail.to(email)); n != 2 {
					t.Fatalf("%d mails to %s, want 2", n, email)
				}
				links[2] = e.mail.token(t, email, "verify")
				if links[1] == links[2] {
					t.Fatal("both sign-ups got the same link")
				}

				use, other := tc.useLink, 3-tc.useLink
				u, err := e.svc.VerifyEmail(e.ctx, links[use])
				if err != nil || u.ID != res.User.ID {
					t.Fatalf("VerifyEmail(link %d): %+v, %v", use, u, err)
				}
				_, u, err = e.login(email, pws[use], clientIP)
				if err != nil {
					t.Fatalf("login with attempt %d's password: %v", use, err)
				}
				if u.Name != names[use] || !u.EmailVerified {
					t.Errorf("user %+v, want name %q, verified", u, names[use])
				}
				ms, _, err := e.svc.Memberships(e.ctx, u.ID, roster.Page{Limit: 10})
				if err != nil || len(ms) != 1 || ms[0].Role != roster.RoleOwner || ms[0].Account.Name != names[use]+"'s account" {
					t.Errorf("memberships %+v, %v; want one owned account named for %q", ms, err, names[use])
				}
				_, _, err = e.login(email, pws[other], clientIP)
				wantCode(t, fmt.Sprintf("login with attempt %d's password", other), err, roster.EUNAUTHENTICATED)

				for _, i := range []int{other, use} {
					_, err = e.svc.VerifyEmail(e.ctx, links[i])
					wantCode(t, fmt.Sprintf("link %d after verification", i), err, roster.EINVALID)
				}
				// The dead links changed nothing.
				if _, u2, err := e.login(email, pws[use], clientIP); err != nil || u2.Name != names[use] {
					t.Errorf("login after the dead links: %+v, %v", u2, err)
				}
				_, _, err = e.login(email, pws[other], clientIP)
				wantCode(t, "other password after the dead links", err, roster.EUNAUTHENTICATED)
			})
		})
	}
}

// TestSignup_Refusals: sign-up refusals answer their code and field, make
// no user (the address stays free) and send no mail.
func TestSignup_Refusals(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		cases := []struct {
			name, email, password, personName string
			code, field                       string
		}{
			{"personal domain", "ada@gmail.com", password1, "Ada", roster.EPERSONALDOMAIN, "email"},
			{"disposable domain", "ada@mailinator.com", password1, "Ada", roster.EPERSONALDOMAIN, "email"},
			{"not an address", "ada-at-acme-corp.com", password1, "Ada", roster.EINVALID, "email"},
			{"short password", "ada@acme-corp.com", "short pw", "Ada", roster.EINVALID, "password"},
			{"password holds the address's name", "lovelace@acme-corp.com", "i am lovelace, hello", "Ada", roster.EINVALID, "password"},
			{"name with a link", "ada@acme-corp.com", password1, "visit evil.example.com", roster.EINVALID, "name"},
			{"no name", "ada@acme-corp.com", password1, "  ", roster.EINVALID, "name"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				res, err := e.svc.Signup(e.ctx, service.SignupInput{Email: tc.email, Password: tc.password, Name: tc.personName}, clientIP)
				wantCode(t, tc.name, err, tc.code)
				if roster.FieldOf(err) != tc.field {
					t.Errorf("field %q, want %q (%v)", roster.FieldOf(err), tc.field, err)
				}
				if res.User.ID != 0 || res.Account.ID != "" {
					t.Errorf("refused sign-up answered %+v", res)
				}
			})
		}
		e.mail.mu.Lock()
		sent := len(e.mail.msgs)
		e.mail.mu.Unlock()
		if sent != 0 {
			t.Errorf("refused sign-ups sent %d mails", sent)
		}
		// The addresses are still free: a valid sign-up takes one.
		p, a := e.signup("ada@acme-corp.com", "Ada")
		if p.ID == 0 || a.ID == "" || a.Plan != roster.PlanStandard {
			t.Errorf("sign-up after the refusals: %+v, %+v", p, a)
		}
	})
}

// TestSignup_VerifiedAddressAgainChangesNothing: a sign-up for a verified
// address answers like a new one, mails its owner, and changes neither the
// password nor the accounts.
func TestSignup_VerifiedAddressAgainChangesNothing(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		const email = "ada@acme-corp.com"
		p, acct := e.signup(email, "Ada")
		before := e.state(p, acct.ID)
		e.clock.advance(2 * time.Minute)
		res, err := e.svc.Signup(e.ctx, service.SignupInput{Email: email, Password: password2, Name: "Mallory"}, "198.51.100.66")
		if err != nil || res.Registered {
			t.Fatalf("sign-up of a verified address: %+v, %v; want no error, not registered", res, err)
		}
		msgs := e.mail.to(email)
		if len(msgs) != 2 || linkRE.MatchString(msgs[1].Text) {
			t.Errorf("want one notice without a link after the verification mail, got %d mails: %+v", len(msgs), msgs)
		}
		if _, _, err := e.login(email, password2, clientIP); roster.ErrorCode(err) != roster.EUNAUTHENTICATED {
			t.Errorf("the newcomer's password: %v, want %s", err, roster.EUNAUTHENTICATED)
		}
		if _, u, err := e.login(email, password1, clientIP); err != nil || u.Name != "Ada" {
			t.Errorf("the owner's password: %+v, %v", u, err)
		}
		if after := e.state(p, acct.ID); !reflect.DeepEqual(before.Members, after.Members) || before.Account != after.Account {
			t.Errorf("the account changed:\nbefore %+v\nafter  %+v", before, after)
		}
		if ms, total, _ := e.svc.Memberships(e.ctx, p.ID, roster.Page{Limit: 10}); total != 1 || len(ms) != 1 {
			t.Errorf("the user has %d accounts, want 1", total)
		}
	})
}

// TestLogin_Throttle: wrong passwords for one address from one client are
// free 4 times, then held back (ERATELIMITED with a wait), before any
// hashing, even for the right password; the wait ends when the clock
// passes it. After 10 failures the rest of the window is the wait.
func TestLogin_Throttle(t *testing.T) {
	t.Parallel()
	const attacker = "198.51.100.7"
	eachBackend(t, func(t *testing.T, e *env) {
		t.Run("backoff after the free failures", func(t *testing.T) {
			const email = "ada@acme-corp.com"
			e.signup(email, "Ada")
			throttledAt := 0
			var rl error
			for i := 1; i <= 8 && throttledAt == 0; i++ {
				_, _, err := e.login(email, "wrong password number "+fmt.Sprint(i), attacker)
				switch roster.ErrorCode(err) {
				case roster.EUNAUTHENTICATED:
				case roster.ERATELIMITED:
					throttledAt, rl = i, err
				default:
					t.Fatalf("attempt %d: %v", i, err)
				}
			}
			if throttledAt != 6 {
				t.Fatalf("throttled at attempt %d, want 6 (4 free failures, then 2 s after the 5th)", throttledAt)
			}
			wait := roster.RetryAfter(rl)
			if wait <= 0 || wait > 2*time.Second {
				t.Fatalf("RetryAfter %v, want (0, 2s]", wait)
			}
			// Held back before hashing: the right password is refused too,
			// and nothing is hashed or counted.
			hashes := e.svc.Stats.Hashes.Load()
			_, _, err := e.login(email, password1, attacker)
			wantCode(t, "right password while held back", err, roster.ERATELIMITED)
			if got := e.svc.Stats.Hashes.Load(); got != hashes {
				t.Errorf("a throttled attempt hashed (%d -> %d)", hashes, got)
			}
			if w := roster.RetryAfter(err); w <= 0 || w > wait {
				t.Errorf("second RetryAfter %v, want (0, %v]", w, wait)
			}
			e.clock.advance(wait + time.Millisecond)
			if _, _, err := e.login(email, password1, attacker); err != nil {
				t.Errorf("right password after the wait: %v", err)
			}
		})
		t.Run("the rest of the window after 10 failures", func(t *testing.T) {
			const email = "grace@acme-corp.com"
			e.signup(email, "Grace")
			failures := 0
			var rl error
			for i := 0; i < 40 && rl == nil; i++ {
				_, _, err := e.login(email, "wrong password again", attacker)
				switch roster.ErrorCode(err) {
				case roster.EUNAUTHENTICATED:
					failures++
				case roster.ERATELIMITED:
					w := roster.RetryAfter(err)
					if w <= 0 {
						t.Fatalf("ERATELIMITED without a wait: %v", err)
					}
					if failures >= 10 {
						rl = err
						continue
					}
					e.clock.advance(w + time.Millisecond) // wait out the backoff, keep guessing
				default:
					t.Fatalf("attempt %d: %v", i, err)
				}
			}
			if rl == nil || failures != 10 {
				t.Fatalf("%d failures counted before the window lock (%v), want 10", failures, rl)
			}
			wait := roster.RetryAfter(rl)
			if wait <= 32*time.Second || wait > e.svc.Config.LoginWindow {
				t.Fatalf("RetryAfter after 10 failures %v, want the rest of the %v window", wait, e.svc.Config.LoginWindow)
			}
			// Just before the window ends: still held back.
			e.clock.advance(wait - 5*time.Second)
			_, _, err := e.login(email, password1, attacker)
			wantCode(t, "right password just before the window ends", err, roster.ERATELIMITED)
			e.clock.advance(5*time.Second + time.Millisecond)
			if _, _, err := e.login(email, password1, attacker); err != nil {
				t.Errorf("right password after the window: %v", err)
			}
		})
	})
}

// ---------------------------------------------------------------------------
// 4. CheckUser and CheckKey

// TestCheck_UnknownAccountIsNotMember: the check answers not_member, with
// no error, for an unknown or malformed account, an unknown user, an
// unknown key, and a key of another account.
func TestCheck_UnknownAccountIsNotMember(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		owner, acct := e.signup("owner@acme-corp.com", "Owner")
		acct = e.commit(acct)
		boss, other := e.signup("boss@globex-industries.com", "Boss")
		_, ownerKey, err := e.svc.CreateAPIKey(e.ctx, owner.User, acct.ID, "ci", clientIP)
		if err != nil {
			t.Fatal(err)
		}
		users := []struct {
			name string
			acct string
			user int64
		}{
			{"unknown account", noAccount, owner.ID},
			{"malformed account", "nope", owner.ID},
			{"empty account", "", owner.ID},
			{"unknown user", acct.ID, 1 << 30},
			{"user beyond 32 bits", acct.ID, 1 << 40},
			{"negative user", acct.ID, -1},
			{"someone else's account", other.ID, owner.ID},
		}
		for _, tc := range users {
			t.Run("user/"+tc.name, func(t *testing.T) {
				d, err := e.svc.CheckUser(e.ctx, tc.acct, tc.user, roster.NumbersView)
				if err != nil || d.Allowed || d.Reason != authz.ReasonNotMember || d.Role != roster.RoleNone || d.Reason.String() != "not_member" {
					t.Errorf("CheckUser = %+v, %v; want not_member, no error", d, err)
				}
			})
		}
		keys := []struct{ name, acct, key string }{
			{"unknown account", noAccount, ownerKey},
			{"malformed account", "nope", ownerKey},
			{"unknown key", acct.ID, service.KeyPrefix + "unknown"},
			{"empty key", acct.ID, ""},
			{"key of another account", other.ID, ownerKey},
		}
		for _, tc := range keys {
			t.Run("key/"+tc.name, func(t *testing.T) {
				d, err := e.svc.CheckKey(e.ctx, tc.acct, tc.key, roster.NumbersView)
				if err != nil || d.Allowed || d.Reason != authz.ReasonNotMember {
					t.Errorf("CheckKey = %+v, %v; want not_member, no error", d, err)
				}
			})
		}
		// And the members are answered.
		if d, err := e.svc.CheckUser(e.ctx, other.ID, boss.ID, roster.BillingEdit); err != nil || !d.Allowed || d.Role != roster.RoleOwner {
			t.Errorf("CheckUser(owner of a standard account) = %+v, %v", d, err)
		}
		if d, err := e.svc.CheckKey(e.ctx, acct.ID, ownerKey, roster.TeamEdit); err != nil || !d.Allowed || d.Role != roster.RoleOwner {
			t.Errorf("CheckKey(owner's key) = %+v, %v", d, err)
		}
	})
}

// TestCheck_DeleteMemberDeniesAtOnce: after DeleteMember returns, the
// check, the key and the session all deny in that account, with no
// catch-up in between; the user and their other membership are untouched.
func TestCheck_DeleteMemberDeniesAtOnce(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		owner, acct := e.signup("owner@acme-corp.com", "Owner")
		acct = e.commit(acct)
		boss, other := e.signup("boss@globex-industries.com", "Boss")
		other = e.commit(other)
		dev := e.join(owner, acct, "dev@acme-corp.com", "developer")
		// The developer also joins the other account, as an existing user.
		if _, err := e.svc.Invite(e.ctx, other, dev.Email, "support", boss.actor()); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.AcceptInvitation(e.ctx, dev.User, e.mail.token(t, dev.Email, "invite"), clientIP); err != nil {
			t.Fatal(err)
		}
		_, key, err := e.svc.CreateAPIKey(e.ctx, dev.User, acct.ID, "ci", clientIP)
		if err != nil {
			t.Fatal(err)
		}
		_, otherKey, err := e.svc.CreateAPIKey(e.ctx, dev.User, other.ID, "ci", clientIP)
		if err != nil {
			t.Fatal(err)
		}
		if d, err := e.svc.CheckUser(e.ctx, acct.ID, dev.ID, roster.NumbersView); err != nil || !d.Allowed {
			t.Fatalf("before: CheckUser = %+v, %v", d, err)
		}
		if d, err := e.svc.CheckKey(e.ctx, acct.ID, key, roster.NumbersView); err != nil || !d.Allowed {
			t.Fatalf("before: CheckKey = %+v, %v", d, err)
		}

		if err := e.svc.DeleteMember(e.ctx, acct, dev.ID, owner.actor()); err != nil {
			t.Fatal(err)
		}

		for _, need := range roster.AllPermissions {
			if d, err := e.svc.CheckUser(e.ctx, acct.ID, dev.ID, need); err != nil || d.Allowed || d.Reason != authz.ReasonNotMember {
				t.Errorf("after delete: CheckUser(%s) = %+v, %v; want not_member", need, d, err)
			}
			if d, err := e.svc.CheckKey(e.ctx, acct.ID, key, need); err != nil || d.Allowed || d.Reason != authz.ReasonNotMember {
				t.Errorf("after delete: CheckKey(%s) = %+v, %v; want not_member", need, d, err)
			}
		}
		_, err = e.svc.Authenticate(e.ctx, service.Credential{APIKey: key}, false)
		wantCode(t, "the deleted member's key", err, roster.EUNAUTHENTICATED)
		c := e.session(dev) // the user and their session are untouched ...
		wantCode(t, "the deleted member's session", e.svc.Authorize(e.ctx, &c, acct.ID, roster.AnyMember), roster.ENOTFOUND)
		// ... and so is their other membership, with its key.
		c = e.session(dev)
		if err := e.svc.Authorize(e.ctx, &c, other.ID, roster.NumbersView); err != nil || c.Role != roster.RoleSupport {
			t.Errorf("other membership after delete: %v, role %s", err, c.Role)
		}
		if d, err := e.svc.CheckKey(e.ctx, other.ID, otherKey, roster.NumbersView); err != nil || !d.Allowed {
			t.Errorf("other membership's key after delete: %+v, %v", d, err)
		}
		ms, _, err := e.svc.Memberships(e.ctx, dev.ID, roster.Page{Limit: 10})
		if err != nil || len(ms) != 1 || ms[0].Account.ID != other.ID {
			t.Errorf("memberships after delete: %+v, %v; want only %s", ms, err, other.ID)
		}
		// Irreversible, and a second delete changes nothing.
		before := e.state(owner, acct.ID)
		wantCode(t, "delete again", e.svc.DeleteMember(e.ctx, acct, dev.ID, owner.actor()), roster.ENOTFOUND)
		if after := e.state(owner, acct.ID); !reflect.DeepEqual(before, after) {
			t.Errorf("second delete changed the account:\nbefore %+v\nafter  %+v", before, after)
		}
		// A fresh service loading the same database agrees.
		fresh := service.New(e.db, e.mail, nil, e.svc.Config, nil)
		if err := fresh.LoadIndex(e.ctx); err != nil {
			t.Fatal(err)
		}
		if d, err := fresh.CheckUser(e.ctx, acct.ID, dev.ID, roster.NumbersView); err != nil || d.Reason != authz.ReasonNotMember {
			t.Errorf("reloaded index: CheckUser = %+v, %v", d, err)
		}
	})
}
