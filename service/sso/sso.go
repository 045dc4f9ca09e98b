// Package sso is the room of enterprise sign-in (issue 22): the domains an
// account proves it holds (a TXT record), its connections to its identity
// provider (OpenID Connect and SAML 2.0), signing people in through them
// (finding or making the user, joining them just in time) and requiring
// it of the members on the account's domains.
package sso

import "github.com/rosterhq/roster/service/internal/core"

// SSO is the room's receiver: its methods over the floor the door shares
// with every other room.
type SSO struct {
	c *core.Core
}

// New returns the room over the floor c.
func New(c *core.Core) *SSO { return &SSO{c: c} }
