package service

import (
	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
)

// What a caller may do, handed out by the gate: an edge asks the caller
// the gate authorized (Can, Permissions) instead of the role matrix, so a
// button, a link or a menu entry shows exactly when the gate would let
// the request through: the matrix, the plan's suspension, the account's
// two-factor requirement and the limits of a machine credential are all
// in Caller.Held (see held and credentialHeld). The edges do not import
// authz; where they show the matrix itself (the roles page, who may open
// a page), they read it here.

// Can reports whether the caller, as Authorize placed them in an account,
// may use the permission there: what the gate would decide for a request
// needing p. False before Authorize, and for a caller it refused as not a
// member.
func (c *Caller) Can(p roster.Permission) bool { return c.Held.Has(p) }

// Permissions lists what the caller may use in the account, in matrix
// order ([] for none).
func (c *Caller) Permissions() []roster.Permission { return c.Held.Permissions() }

// RoleAllows reports whether the role matrix gives role r the permission:
// the role's permissions as the roles page shows them, whatever the
// account's plan or two-factor requirement (for what a caller holds now,
// ask Caller.Can).
func RoleAllows(r roster.Role, p roster.Permission) bool { return authz.Allowed(r, p) }

// RolesWith returns the roles the matrix gives the permission, in role
// order: the answer to "who may do this?".
func RolesWith(p roster.Permission) []roster.Role { return authz.RolesWith(p) }
