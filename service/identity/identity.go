// Package identity is the room of who a person is and how they prove
// it: sign-up and email verification, sign-in with its throttles and the
// bound on password hashing, two-factor sign-in and recovery codes,
// sessions, password resets and personal API keys.
package identity

import (
	"sync"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/service/internal/guard"
)

// Identity is the room's receiver: its methods over the floor the door
// shares with every other room, and the state only sign-in needs.
type Identity struct {
	c *core.Core

	g      *guard.Guard      // the bound on hashing and the throttles
	resets chan resetRequest // password-reset requests, for RunPasswordResets

	waOnce sync.Once          // the passkeys' relying party, made once from Config.BaseURL
	wa     *webauthn.WebAuthn // nil when waErr
	waErr  error
}

// New returns the room over c, its password-reset queue sized by
// c.Config.ResetQueue.
func New(c *core.Core) *Identity {
	return &Identity{c: c, g: guard.New(c), resets: make(chan resetRequest, max(1, c.Config.ResetQueue))}
}
