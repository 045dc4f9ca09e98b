package service_test

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
)

// The team room: members, roles and invitations.

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
