// Package areas is the room of the guarded areas of an account: its
// numbers, applications, settings and credentials (and who has read the
// auth token), and its billing: payment methods, credit, recharges, the
// price list and the call log.
package areas

import "github.com/rosterhq/roster/service/internal/core"

// Areas is the room's receiver: its methods over the floor the door shares
// with every other room.
type Areas struct {
	c *core.Core
}

// New returns the room over the floor c.
func New(c *core.Core) *Areas { return &Areas{c: c} }
