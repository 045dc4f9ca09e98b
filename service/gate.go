package service

import (
	"context"
	"errors"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/store"
)

// This file is the one gate: every request to an account, from the JSON
// API or the console, is turned into a caller, an account and a decision
// here, and only here. Each edge holds a table of what its routes or pages
// need and hands this gate what the request presented.

// Credential is what a request presents. At most one of its ways is used:
// a personal API key, then account credentials, then the session.
type Credential struct {
	Session   string // the session cookie's token
	APIKey    string // a personal API key (Bearer rk_...)
	AuthID    string // account credentials over HTTP Basic: the Auth ID ...
	AuthToken string // ... and the Auth Token
	Basic     bool   // HTTP Basic was presented (even if empty)
}

// Via is how a caller authenticated.
type Via int

const (
	ViaNone    Via = iota
	ViaSession     // the session cookie: a person, with their role
	ViaAPIKey      // a personal API key: the member's current role
	ViaAccount     // the account's Auth ID and Auth Token: a machine credential
)

// Caller is who is asking and, once authorized, where.
type Caller struct {
	Via     Via
	User    roster.User // for ViaAccount, only an Email naming the Auth ID
	Session string      // the session token, for ViaSession
	Account roster.Account
	Role    roster.Role
	Status  roster.MemberStatus
	// Held is what a member caller holds in the account: what the gate
	// decided by, for pages that show the caller's own access.
	Held Held
	IP   string

	key        string // the personal API key, for ViaAPIKey
	sessionID  int64  // the session's ID, for ViaSession
	ssoAccount int64  // the account (Seq) whose single sign-on the session came through; 0: none
	ssoMFA     bool   // that connection counts as two-factor sign-in
}

// CameThroughSSO reports whether the caller's session came through the
// single sign-on of the account they act in (c.Account).
func (c *Caller) CameThroughSSO() bool {
	return c.Via == ViaSession && c.ssoAccount != 0 && c.ssoAccount == c.Account.Seq
}

// signIn is how the caller signed in, as the check of the account seq
// weighs it: single sign-on counts only in the account whose connection
// the session came through.
func (c *Caller) signIn(seq int64) authz.SignIn {
	switch {
	case c.Via == ViaAPIKey:
		return authz.ByKey
	case c.ssoAccount == 0:
		return authz.ByOtherSession
	case c.ssoAccount != seq:
		return authz.BySSOElsewhere
	case c.ssoMFA:
		return authz.BySSOAsMFA
	}
	return authz.BySSO
}

// Actor returns the caller as an audit actor.
func (c *Caller) Actor() roster.Actor {
	return roster.Actor{UserID: c.User.ID, Email: c.User.Email, IP: c.IP}
}

// Authenticate establishes who presents cred, before anything else costs
// time; sessionOnly refuses every way but the session (the /v1/me routes
// and the console belong to a person, not a key). Errors: EUNAUTHENTICATED.
func (s *Service) Authenticate(ctx context.Context, cred Credential, sessionOnly bool) (Caller, error) {
	var c Caller
	// A server cut off from its database answers 503, whoever asks.
	if err := s.Fresh(ctx); err != nil {
		return c, err
	}
	switch {
	case cred.APIKey != "" && !sessionOnly:
		ok, err := s.KeyExists(ctx, cred.APIKey)
		if err != nil {
			return c, err
		} else if !ok {
			return c, roster.Errorf(roster.EUNAUTHENTICATED, "The API key is not valid (deleted, or its member was removed)")
		}
		c.Via, c.key = ViaAPIKey, cred.APIKey
	case cred.Basic && !sessionOnly:
		a, err := s.account(ctx, cred.AuthID)
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return c, roster.Errorf(roster.EUNAUTHENTICATED, "Wrong Auth ID or Auth Token")
		} else if err != nil {
			return c, err // the database failed: 503, not a wrong token
		}
		ok, err := s.CheckAccountToken(ctx, a, cred.AuthToken)
		if err != nil {
			return c, err
		} else if !ok {
			return c, roster.Errorf(roster.EUNAUTHENTICATED, "Wrong Auth ID or Auth Token")
		}
		c.Via, c.Account = ViaAccount, a
		c.User = roster.User{Email: "auth_id:" + a.ID}
	case cred.Session != "":
		// One query: the user, and the single sign-on the session came
		// through (the gate weighs it in every account).
		ls, err := s.core.DB.LiveSession(ctx, core.HashToken(cred.Session), s.core.Config.SessionIdle)
		if errors.Is(err, store.ErrNoRows) {
			return c, roster.Errorf(roster.EUNAUTHENTICATED, "Log in first")
		} else if err != nil {
			return c, err
		}
		c.Via, c.User, c.Session = ViaSession, ls.User, cred.Session
		c.sessionID, c.ssoAccount, c.ssoMFA = ls.ID, ls.SSOAccount, ls.SSOMFA
	default:
		return c, roster.Errorf(roster.EUNAUTHENTICATED, "Log in first")
	}
	return c, nil
}

// Authorize decides whether the authenticated caller may act on the
// account authID with the permission need (roster.AnyMember: any member,
// active, suspended or deactivated). It fills the caller's Account, Role and Status,
// also when it refuses, so an edge can say what the caller may do instead.
// Each credential reaches only its own account. Errors: EUNAVAILABLE (this
// server's index is stale, or the database failed), ENOTFOUND (not a member, or no such account:
// never revealed apart), EDEACTIVATED (the company's directory
// deactivated the member: every route but the AnyMember ones, which answer
// with status deactivated, as they do a suspended member), EPLANREQUIRED
// (suspended), ESSOREQUIRED (the
// account requires its single sign-on of the member, and the session did
// not come through it, or the caller used a personal API key),
// EMFAREQUIRED (the account requires two-factor sign-in of a person
// without it), EFORBIDDEN. The owner of an account that requires single
// sign-on may act through any session; the first time a session does so
// in the account, it is audited and the owner and admins are mailed.
func (s *Service) Authorize(ctx context.Context, c *Caller, authID string, need roster.Permission) error {
	start, reason := time.Now(), ""
	defer func() {
		if reason != "" {
			s.observeDecision(reason, start)
		}
	}()
	// A server cut off from its database must not answer from a stale
	// index: it may hold an access that was revoked.
	if err := s.Fresh(ctx); err != nil {
		reason = ReasonStale
		return err
	}
	notFound := roster.Errorf(roster.ENOTFOUND, "No such account")
	var d authz.Decision
	switch c.Via {
	case ViaAPIKey:
		keyID, seq, uid, ok := s.KeyMember(c.key)
		if !ok {
			return roster.Errorf(roster.EUNAUTHENTICATED, "The API key is not valid (deleted, or its member was removed)")
		}
		a, err := s.account(ctx, authID)
		if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
			return err // the database failed: 503, never "no such account"
		} else if err != nil || a.Seq != seq {
			reason = authz.ReasonNotMember.String()
			return notFound
		}
		u, err := s.core.DB.UserByID(ctx, uid)
		if errors.Is(err, store.ErrNoRows) {
			return roster.Errorf(roster.EUNAUTHENTICATED, "The API key is not valid (deleted, or its member was removed)")
		} else if err != nil {
			return err
		}
		c.User, c.Account = u, a
		d = s.core.Index.CheckBy(seq, uid, need, authz.ByKey)
		reason = d.Reason.String()
		go s.TouchAPIKey(context.WithoutCancel(ctx), keyID)
	case ViaAccount:
		if c.Account.ID != authID {
			reason = authz.ReasonNotMember.String()
			return notFound
		}
		d = core.CredentialDecision(need)
		reason = d.Reason.String()
		// The account's own credentials are not a team member: the plan
		// does not suspend them (the API of a standard account works).
		c.Role, c.Status, c.Held = d.Role, roster.MemberActive, core.CredentialHeld()
		if need != roster.AnyMember && !d.Allowed {
			return roster.Errorf(roster.EFORBIDDEN, "Account credentials (Auth ID and Auth Token) do not allow %s: a machine credential cannot %s; a member must sign in", need, machineRefusal(need))
		}
		return nil
	case ViaSession:
		a, err := s.account(ctx, authID)
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			reason = authz.ReasonNotMember.String()
			return notFound
		} else if err != nil {
			return err // the database failed: 503, never "no such account"
		}
		c.Account = a
		d = s.core.Index.CheckBy(a.Seq, c.User.ID, need, c.signIn(a.Seq))
		reason = d.Reason.String()
		if a.RequireSSO && d.Role == roster.RoleOwner && c.ssoAccount != a.Seq {
			// The owner's password path, for when the provider is down.
			if err := s.OwnerBypass(ctx, a, c.User, c.sessionID, c.IP); err != nil {
				return err
			}
		}
	default:
		return roster.Errorf(roster.EUNAUTHENTICATED, "Log in first")
	}
	return s.decide(ctx, c, d, need)
}

// decide turns the index's decision into what the caller holds (held, the
// reading every view of access shows too) and the one answer for each
// refusal.
func (s *Service) decide(ctx context.Context, c *Caller, d authz.Decision, need roster.Permission) error {
	if d.Role == roster.RoleNone {
		return roster.Errorf(roster.ENOTFOUND, "No such account")
	}
	h := core.HeldOf(d)
	c.Role, c.Status, c.Held = h.Role, h.Status, h
	switch {
	case need == roster.AnyMember:
		return nil
	case h.Has(need):
		return nil
	case d.Reason == authz.ReasonDeactivated:
		return roster.Errorf(roster.EDEACTIVATED, "Your access to %s was deactivated by your company's directory: ask an admin of the account to restore it", c.Account.Name)
	case d.Reason == authz.ReasonSuspended:
		return roster.ErrSuspended()
	case d.Reason == authz.ReasonSSORequired:
		return s.SSORequired(ctx, c.Account)
	case d.Reason == authz.ReasonMFARequired && c.Via == ViaSession && c.ssoAccount != 0:
		return roster.Errorf(roster.EMFAREQUIRED, "The account %s requires two-factor sign-in, which this single sign-on does not give: log in with your password and two-factor code", c.Account.Name)
	case d.Reason == authz.ReasonMFARequired:
		return roster.Errorf(roster.EMFAREQUIRED, "The account %s requires two-factor sign-in: turn it on in Profile & security, then try again", c.Account.Name)
	}
	return roster.Errorf(roster.EFORBIDDEN, "Your role (%s) does not allow %s", d.Role, need)
}

func machineRefusal(p roster.Permission) string {
	if p == roster.CredentialsView || p == roster.CredentialsEdit {
		return "read or rotate the credentials themselves"
	}
	return "act beyond the developer role"
}

// account returns the account with the Auth ID. Errors: ENOTFOUND (only
// when there is none), EUNAVAILABLE (the database failed).
func (s *Service) account(ctx context.Context, authID string) (roster.Account, error) {
	a, err := s.core.DB.Account(ctx, authID)
	return a, core.DBErr(err, "No such account")
}

// CredentialDecision is the check for the account's own credentials (Auth
// ID and Auth Token over HTTP Basic): see core.CredentialDecision.
func CredentialDecision(p roster.Permission) authz.Decision { return core.CredentialDecision(p) }
