package service_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/service"
)

// The gate: who a credential is, and what it may do in which account.

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
