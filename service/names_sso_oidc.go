package service

import (
	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service/sso"
)

// The names of the sso room's connections and OpenID Connect sign-in, as
// the edges spell them.

// SSOConnectionInput is sso.ConnectionInput: a new connection.
type SSOConnectionInput = sso.ConnectionInput

// SSOConnectionChange is sso.ConnectionChange: a PATCH.
type SSOConnectionChange = sso.ConnectionChange

// SSOStarted is sso.Started: where to send the browser, and its binding.
type SSOStarted = sso.Started

// SSOCallback is sso.Callback: what the provider's redirect back brings.
type SSOCallback = sso.Callback

// SSOSignedIn is sso.SignedIn: the session and the account to land on.
type SSOSignedIn = sso.SignedIn

// SSOBindingCookie is sso.BindingCookie.
const SSOBindingCookie = sso.BindingCookie

// SSOFlowTTL is sso.FlowTTL.
const SSOFlowTTL = sso.FlowTTL

// SSORoleName is sso.RoleName: a default role as the API names it.
func SSORoleName(r roster.Role) string { return sso.RoleName(r) }
