package core

import (
	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
)

// What a member holds is read from the check's own rule (authz.Decide)
// through HeldOf, the function the gate refuses by: a view never shows
// access the gate would refuse, nor hides access it would allow. It is on
// the floor because the gate (in the door) and the team's access views
// (a room) both read it.

// Held is what a member holds in an account now: their role's
// permissions, or none, and why none. It is the gate's answer to every
// permission at once.
type Held struct {
	Role   roster.Role
	Status roster.MemberStatus // suspended while the account's plan suspends the member, deactivated while the directory has
	// Reason says why the member holds none of their role's permissions:
	// "deactivated" (the company's directory), "suspended" (the plan), "mfa_required" (the account requires
	// two-factor sign-in and the member has none) or "sso_required" (the
	// account requires its single sign-on and the caller did not come
	// through it); "" when they hold them.
	Reason string
	mask   uint32
}

// Has reports whether the member holds the permission.
func (h Held) Has(p roster.Permission) bool { return p < 32 && h.mask&(1<<p) != 0 }

// Permissions lists what the member holds, in matrix order ([] for none).
func (h Held) Permissions() []roster.Permission {
	out := []roster.Permission{}
	for _, p := range roster.AllPermissions {
		if h.Has(p) {
			out = append(out, p)
		}
	}
	return out
}

// HeldOf is the one reading of a check's decision as what the member holds:
// the gate refuses by it (decide) and every view of access shows it.
func HeldOf(d authz.Decision) Held {
	h := Held{Role: d.Role, Status: roster.MemberActive}
	switch d.Reason {
	case authz.ReasonAllowed, authz.ReasonMissingPermission:
		h.mask = authz.Mask(d.Role)
	case authz.ReasonSuspended:
		h.Status, h.Reason = roster.MemberSuspended, d.Reason.String()
	case authz.ReasonDeactivated:
		h.Status, h.Reason = roster.MemberDeactivated, d.Reason.String()
	default: // single sign-on or two-factor required and missing, or not a member
		h.Reason = d.Reason.String()
	}
	return h
}

// HeldAs is what a member with role r and the user's two-factor state
// holds in the account, by the check's rule. Single sign-on is not part of
// it: whether a bound member may act depends on the session they use, not
// on the member, so views show the role's access and the gate refuses a
// session that did not come through the account's single sign-on.
func HeldAs(a roster.Account, r roster.Role, hasMFA bool) Held {
	return heldAs(a, r, hasMFA, false)
}

func heldAs(a roster.Account, r roster.Role, hasMFA, deactivated bool) Held {
	return HeldOf(authz.Decide(r, authz.Standing{Deactivated: deactivated, Committed: a.Plan == roster.PlanCommitted, NeedsMFA: a.RequireMFA, HasMFA: hasMFA}, roster.PermissionNone))
}

// MemberHeld is what the member holds in the account: none while the
// company's directory has deactivated them, while the plan suspends them,
// or while the account requires two-factor sign-in and they have none.
func MemberHeld(a roster.Account, m roster.Member) Held {
	return heldAs(a, m.Role, m.MFA, m.Status == roster.MemberDeactivated)
}

// MembershipHeld is what the user holds in one of their accounts.
func MembershipHeld(m roster.Membership, u roster.User) Held {
	return heldAs(m.Account, m.Role, u.MFAEnabled, m.Status == roster.MemberDeactivated)
}

// InvitationHeld is what a pending invitation's role will hold once
// accepted by someone who meets the account's two-factor requirement
// (whether the invitee has two-factor sign-in is not known until then):
// the role's permissions, or none while the plan would suspend them.
func InvitationHeld(a roster.Account, r roster.Role) Held { return HeldAs(a, r, true) }

// CredentialDecision is the check for the account's own credentials (Auth
// ID and Auth Token over HTTP Basic): a machine credential with the
// developer role's permissions except credentials.view and
// credentials.edit, so it can neither read nor rotate itself and a
// rotation revokes a leaked token.
func CredentialDecision(p roster.Permission) authz.Decision {
	role := roster.RoleDeveloper
	if p != roster.CredentialsView && p != roster.CredentialsEdit && authz.Allowed(role, p) {
		return authz.Decision{Allowed: true, Role: role, Reason: authz.ReasonAllowed}
	}
	return authz.Decision{Role: role, Reason: authz.ReasonMissingPermission}
}

// CredentialHeld is what the account's own credentials hold: what
// CredentialDecision allows, permission by permission.
func CredentialHeld() Held {
	h := Held{Role: roster.RoleDeveloper, Status: roster.MemberActive}
	for _, p := range roster.AllPermissions {
		if CredentialDecision(p).Allowed {
			h.mask |= 1 << p
		}
	}
	return h
}
