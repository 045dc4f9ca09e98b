package service_test

import (
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/service"
)

// What every view of access shows (service.MemberHeld) is what the check
// index answers, for every role, plan, two-factor requirement and state,
// permission by permission, with the same reason when it holds nothing.
func TestMemberHeld_IsWhatTheCheckAnswers(t *testing.T) {
	ix := authz.NewIndex()
	const acct, user = 7, 11
	for _, role := range roster.Roles {
		for _, plan := range []roster.Plan{roster.PlanStandard, roster.PlanCommitted} {
			for _, requireMFA := range []bool{false, true} {
				for _, mfa := range []bool{false, true} {
					ix.SetAccount(acct, "", plan == roster.PlanCommitted, requireMFA)
					ix.SetMember(acct, user, role, mfa)
					a := roster.Account{Plan: plan, RequireMFA: requireMFA}
					h := service.MemberHeld(a, roster.Member{Role: role, MFA: mfa})
					if h.Role != role {
						t.Errorf("%s/%s/require=%v/mfa=%v: role %s", role, plan, requireMFA, mfa, h.Role)
					}
					holdsAny := false
					for _, p := range roster.AllPermissions {
						d := ix.Check(acct, user, p)
						if d.Allowed != h.Has(p) {
							t.Errorf("%s/%s/require=%v/mfa=%v/%s: shown %v, the check answers %+v", role, plan, requireMFA, mfa, p, h.Has(p), d)
						}
						holdsAny = holdsAny || d.Allowed
						if !d.Allowed && d.Reason != authz.ReasonMissingPermission && d.Reason.String() != h.Reason {
							t.Errorf("%s/%s/require=%v/mfa=%v/%s: reason %q, the check's %s", role, plan, requireMFA, mfa, p, h.Reason, d.Reason)
						}
					}
					if holdsAny == (h.Reason != "") || len(h.Permissions()) == 0 == holdsAny {
						t.Errorf("%s/%s/require=%v/mfa=%v: reason %q with permissions %v", role, plan, requireMFA, mfa, h.Reason, h.Permissions())
					}
				}
			}
		}
	}
}
