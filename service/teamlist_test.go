package service_test

import (
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// The team list answers pages by search, filter and sort, and refuses
// what it cannot answer with EINVALID and a message in words.
func TestMemberList_PagesAndRefusals(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		f := newTeam(e)
		a := e.account(f.owner, f.acct.ID)

		l, err := e.svc.MemberList(e.ctx, a, roster.MemberQuery{})
		if err != nil || l.Total != 5 || l.All != 5 || l.Start != 1 || len(l.Members) != 5 || l.Members[0].Role != roster.RoleOwner {
			t.Fatalf("first page: %+v, %v", l, err)
		}
		l, err = e.svc.MemberList(e.ctx, a, roster.MemberQuery{Search: "DEV@", Limit: 1})
		if err != nil || l.Total != 1 || l.Members[0].UserID != f.dev.ID {
			t.Errorf("search: %+v, %v", l, err)
		}
		l, err = e.svc.MemberList(e.ctx, a, roster.MemberQuery{Sort: "role", Desc: true, Limit: 2})
		if err != nil || l.Next == "" || l.Members[0].UserID != f.support.ID {
			t.Fatalf("by role, descending: %+v, %v", l, err)
		}
		l2, err := e.svc.MemberList(e.ctx, a, roster.MemberQuery{Sort: "role", Desc: true, Limit: 2, After: l.Next})
		if err != nil || l2.Start != 3 || l2.Members[0].UserID != f.dev.ID {
			t.Errorf("the next page: %+v, %v", l2, err)
		}
		is, err := e.svc.InvitationList(e.ctx, a, roster.InvitationQuery{})
		if err != nil || is.Total != 0 || is.Start != 0 {
			t.Errorf("no invitations: %+v, %v", is, err)
		}

		for name, q := range map[string]roster.MemberQuery{
			"sort":          {Sort: "email"},
			"status":        {Status: "pending"},
			"mfa":           {MFA: "yes"},
			"role":          {Role: roster.Role(9)},
			"limit high":    {Limit: 101},
			"limit low":     {Limit: -1},
			"long search":   {Search: strings.Repeat("é", 255)},
			"garbage":       {After: "nope"},
			"other sort":    {After: l.Next},
			"both cursors":  {After: l.Next, Before: l.Next, Sort: "role", Desc: true},
			"other order":   {After: l.Next, Sort: "role"},
			"invalid utf-8": {Search: "\xff"},
		} {
			_, err := e.svc.MemberList(e.ctx, a, q)
			wantCode(t, "MemberList "+name, err, roster.EINVALID)
			if m := roster.ErrorMessage(err); m == "" || strings.ToUpper(m[:1]) != m[:1] {
				t.Errorf("MemberList %s: message %q does not start with a capital", name, m)
			}
		}
		if _, err := e.svc.MemberList(e.ctx, a, roster.MemberQuery{Search: strings.Repeat("é", 254)}); err != nil {
			t.Errorf("a search of 254 characters: %v", err)
		}
		for name, q := range map[string]roster.InvitationQuery{
			"sort":   {Sort: "name"},
			"status": {Status: roster.InvitationAccepted},
			"limit":  {Limit: 1000},
			"cursor": {Before: l.Next},
			"role":   {Role: roster.Role(7)},
			"search": {Search: strings.Repeat("x", 255)},
		} {
			_, err := e.svc.InvitationList(e.ctx, a, q)
			wantCode(t, "InvitationList "+name, err, roster.EINVALID)
		}
	})
}

// TestMemberList_CountsFollowChanges: the list's counts are the check
// index's (issue 26), so they follow every change made through the
// service at once: a role changed, a member removed, one who joined.
func TestMemberList_CountsFollowChanges(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		f := newTeam(e)
		a := e.account(f.owner, f.acct.ID)
		counts := func(step string, role roster.Role, total, all int) {
			t.Helper()
			l, err := e.svc.MemberList(e.ctx, a, roster.MemberQuery{Role: role})
			if err != nil || l.Total != total || l.All != all || len(l.Members) != total {
				t.Errorf("%s, role %v: total %d all %d rows %d (%v); want %d, %d", step, role, l.Total, l.All, len(l.Members), err, total, all)
			}
		}
		counts("at first", roster.RoleNone, 5, 5)
		counts("at first", roster.RoleDeveloper, 1, 5)
		if _, err := e.svc.SetMemberRole(e.ctx, a, f.support.ID, "developer", f.owner.actor()); err != nil {
			t.Fatal(err)
		}
		counts("after a role change", roster.RoleDeveloper, 2, 5)
		counts("after a role change", roster.RoleSupport, 0, 5)
		if err := e.svc.DeleteMember(e.ctx, a, f.dev.ID, f.owner.actor()); err != nil {
			t.Fatal(err)
		}
		counts("after a removal", roster.RoleNone, 4, 4)
		counts("after a removal", roster.RoleDeveloper, 1, 4)
		e.join(f.owner, f.acct, "late@acme-corp.com", "support")
		counts("after a join", roster.RoleNone, 5, 5)
		counts("after a join", roster.RoleSupport, 1, 5)
	})
}
