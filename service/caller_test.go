package service_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/service"
)

// canIsTheGate asserts, for every permission, that the caller the gate
// admitted (AnyMember) Can exactly what the gate allows when asked for
// that permission, and that Permissions lists those.
func canIsTheGate(t *testing.T, e *env, cred service.Credential, authID, who string) {
	t.Helper()
	c, err := e.svc.Authenticate(e.ctx, cred, false)
	if err != nil {
		t.Fatalf("%s: Authenticate: %v", who, err)
	}
	if err := e.svc.Authorize(e.ctx, &c, authID, roster.AnyMember); err != nil {
		t.Fatalf("%s: Authorize(AnyMember): %v", who, err)
	}
	var allowed []roster.Permission
	for _, p := range append([]roster.Permission{roster.PermissionNone}, roster.AllPermissions...) {
		g, _ := e.svc.Authenticate(e.ctx, cred, false)
		gate := e.svc.Authorize(e.ctx, &g, authID, p) == nil
		if c.Can(p) != gate {
			t.Errorf("%s: Can(%s) = %v, the gate allows: %v", who, p, c.Can(p), gate)
		}
		if gate {
			allowed = append(allowed, p)
		}
	}
	if got := c.Permissions(); !slices.Equal(got, allowed) && len(got)+len(allowed) > 0 {
		t.Errorf("%s: Permissions %v, the gate allows %v", who, got, allowed)
	}
}

// TestCaller_CanIsTheGate: what a caller Can is what the gate decides,
// for a person of each role, a suspended member (standard plan), a member
// without the two-factor sign-in the account requires, and the account's
// own credentials (a machine credential: no credentials.view/edit), and a
// personal API key.
func TestCaller_CanIsTheGate(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		f := newTeam(e)
		for role, p := range f.byRole() {
			canIsTheGate(t, e, service.Credential{Session: p.Session}, f.acct.ID, role.String())
		}
		_, devKey, err := e.svc.CreateAPIKey(e.ctx, f.dev.User, f.acct.ID, "ci", clientIP)
		if err != nil {
			t.Fatal(err)
		}
		canIsTheGate(t, e, service.Credential{APIKey: devKey}, f.acct.ID, "developer's API key")
		creds, err := e.svc.Credentials(e.ctx, f.acct, f.owner.actor())
		if err != nil {
			t.Fatal(err)
		}
		basic := service.Credential{Basic: true, AuthID: f.acct.ID, AuthToken: creds.AuthToken}
		canIsTheGate(t, e, basic, f.acct.ID, "account credentials")
		c, _ := e.svc.Authenticate(e.ctx, basic, false)
		if err := e.svc.Authorize(e.ctx, &c, f.acct.ID, roster.AnyMember); err != nil || c.Can(roster.CredentialsView) || !c.Can(roster.NumbersEdit) {
			t.Errorf("account credentials: Can(credentials.view) %v, Can(numbers.edit) %v (%v)", c.Can(roster.CredentialsView), c.Can(roster.NumbersEdit), err)
		}

		// Two-factor required: the admin has none, so holds nothing,
		// though the matrix gives the admin role team.view.
		if _, err := e.svc.SetRequireMFA(e.ctx, f.acct, roster.User{MFAEnabled: true}, true, f.owner.actor()); err != nil {
			t.Fatal(err)
		}
		canIsTheGate(t, e, service.Credential{Session: f.admin.Session}, f.acct.ID, "admin without two-factor")
		c = e.session(f.admin)
		if err := e.svc.Authorize(e.ctx, &c, f.acct.ID, roster.AnyMember); err != nil || c.Can(roster.TeamView) || len(c.Permissions()) != 0 {
			t.Errorf("admin without two-factor: Can(team.view) %v, Permissions %v (%v)", c.Can(roster.TeamView), c.Permissions(), err)
		}

		// Suspended: the account back on the standard plan (and the
		// requirement off, so the plan is the one reason).
		if _, err := e.svc.SetRequireMFA(e.ctx, f.acct, roster.User{MFAEnabled: true}, false, f.owner.actor()); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.SetPlan(e.ctx, f.acct.ID, roster.PlanStandard, 0, 0, operator); err != nil {
			t.Fatal(err)
		}
		canIsTheGate(t, e, service.Credential{Session: f.support.Session}, f.acct.ID, "suspended support")
		canIsTheGate(t, e, service.Credential{APIKey: devKey}, f.acct.ID, "suspended developer's API key")
		c = e.session(f.support)
		if err := e.svc.Authorize(e.ctx, &c, f.acct.ID, roster.AnyMember); err != nil || c.Status != roster.MemberSuspended || c.Can(roster.NumbersView) {
			t.Errorf("suspended support: status %s, Can(numbers.view) %v (%v)", c.Status, c.Can(roster.NumbersView), err)
		}

		// Before Authorize, or refused as not a member: nothing.
		c = e.session(f.outsider)
		if c.Can(roster.NumbersView) || len(c.Permissions()) != 0 {
			t.Error("an unauthorized caller Can something")
		}
		if err := e.svc.Authorize(e.ctx, &c, f.acct.ID, roster.AnyMember); roster.ErrorCode(err) != roster.ENOTFOUND || c.Can(roster.NumbersView) {
			t.Errorf("outsider: %v, Can(numbers.view) %v", err, c.Can(roster.NumbersView))
		}
	})
}

// The matrix as the service shows it is authz's, role by role.
func TestRoleAllowsAndRolesWith_AreTheMatrix(t *testing.T) {
	for _, p := range roster.AllPermissions {
		var with []roster.Role
		for _, r := range roster.Roles {
			if service.RoleAllows(r, p) != authz.Allowed(r, p) {
				t.Errorf("RoleAllows(%s, %s) = %v", r, p, service.RoleAllows(r, p))
			}
			if authz.Allowed(r, p) {
				with = append(with, r)
			}
		}
		if got := service.RolesWith(p); fmt.Sprint(got) != fmt.Sprint(with) {
			t.Errorf("RolesWith(%s) = %v, want %v", p, got, with)
		}
	}
}
