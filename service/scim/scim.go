// Package scim is the room of provisioning (issue 23): the company's
// directory, speaking SCIM 2.0 with a bearer token of the account, adds
// the people on the account's verified domains as members, gives them
// roles by its groups, deactivates, reactivates and removes them. The
// tokens and settings are managed by the account's admins.
package scim

import "github.com/rosterhq/roster/service/internal/core"

// SCIM is the room's receiver: its methods over the floor the door shares
// with every other room.
type SCIM struct {
	c *core.Core
}

// New returns the room over the floor c.
func New(c *core.Core) *SCIM { return &SCIM{c: c} }
