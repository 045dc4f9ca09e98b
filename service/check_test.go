package service_test

import (
	"reflect"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/service"
)

// The check, answered from the index the writes keep in step.

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
