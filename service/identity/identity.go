// Package identity is the room of who a person is and how they prove
// it: sign-up and email verification, sign-in with its throttles and the
// bound on password hashing, two-factor sign-in and recovery codes,
// sessions, password resets and personal API keys.
package identity

import (
	"sync"
	"sync/atomic"

	"github.com/rosterhq/roster/service/internal/core"
)

// Identity is the room's receiver: its methods over the floor the door
// shares with every other room, and the state only sign-in needs.
type Identity struct {
	c *core.Core

	hashOnce  sync.Once
	hashSlots chan struct{}
	lastPrune atomic.Int64      // unix seconds of the last throttle pruning
	resets    chan resetRequest // password-reset requests, for RunPasswordResets
}

// New returns the room over c, its password-reset queue sized by
// c.Config.ResetQueue.
func New(c *core.Core) *Identity {
	return &Identity{c: c, resets: make(chan resetRequest, max(1, c.Config.ResetQueue))}
}
