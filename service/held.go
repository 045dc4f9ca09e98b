package service

import (
	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service/internal/core"
)

// Held is what a member holds in an account now (see core.Held): the gate
// hands it out with the Caller, and the team's views show it.
type Held = core.Held

// MemberHeld is what the member holds in the account: none while the plan
// suspends them, or while the account requires two-factor sign-in and
// they have none.
func MemberHeld(a roster.Account, m roster.Member) Held { return core.MemberHeld(a, m) }

// MembershipHeld is what the user holds in one of their accounts.
func MembershipHeld(m roster.Membership, u roster.User) Held { return core.MembershipHeld(m, u) }

// InvitationHeld is what a pending invitation's role will hold once
// accepted.
func InvitationHeld(a roster.Account, r roster.Role) Held { return core.InvitationHeld(a, r) }
