// Package team is the room of an account and the people in it: accounts
// and plans, members and roles, invitations (one by one and by the batch),
// what each member holds, the audit log's queries and the account's
// webhooks (their endpoints; delivery is package webhook's).
package team

import "github.com/rosterhq/roster/service/internal/core"

// Team is the room's receiver: its methods over the floor the door shares
// with every other room.
type Team struct {
	c *core.Core
}

// New returns the room over the floor c.
func New(c *core.Core) *Team { return &Team{c: c} }
