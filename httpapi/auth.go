package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/service"
)

// authenticate establishes who is calling, as the route's access asks,
// before anything else costs time: a request that proves no identity never
// waits for a revision or reaches a handler.
func (s *Server) authenticate(r *http.Request, rt Route, c *Caller) error {
	switch rt.Access {
	case Public:
		return nil
	case Service:
		return bearerIs(r, s.ServiceToken, "service")
	case Operator:
		return bearerIs(r, s.OperatorToken, "operator")
	case Session:
		return s.sessionCaller(r, c)
	case Member:
		// A server cut off from its database must not answer from a stale
		// index: it may hold an access that was revoked.
		if err := s.Svc.Fresh(); err != nil {
			return err
		}
		return s.memberCredential(r, c)
	}
	return roster.Errorf(roster.EFORBIDDEN, "no access is defined for this route")
}

// authorize decides, once the caller is known (and any revision they
// asked for is applied), whether they may call the route.
func (s *Server) authorize(r *http.Request, rt Route, c *Caller) error {
	if rt.Access != Member {
		return nil
	}
	if err := s.Svc.Fresh(); err != nil {
		return err // went stale while waiting
	}
	return s.authorizeMember(r, rt, c)
}

// sessionCaller authenticates by the session cookie alone: the /v1/me
// routes and account creation belong to a person, not to a key.
func (s *Server) sessionCaller(r *http.Request, c *Caller) error {
	session := edge.Session(r)
	if session == "" {
		return roster.Errorf(roster.EUNAUTHENTICATED, "log in first")
	}
	u, err := s.Svc.SessionUser(r.Context(), session)
	if err != nil {
		return err
	}
	c.User, c.Session, c.Via = u, session, ViaSession
	return nil
}

// memberCredential authenticates a request on /v1/accounts/{id}/... by
// personal API key (Bearer rk_...), account credentials (Basic Auth ID and
// Auth Token) or session cookie.
func (s *Server) memberCredential(r *http.Request, c *Caller) error {
	ctx := r.Context()
	auth := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(auth, "Bearer "):
		ok, err := s.Svc.KeyExists(ctx, strings.TrimPrefix(auth, "Bearer "))
		if err != nil {
			return err
		} else if !ok {
			return roster.Errorf(roster.EUNAUTHENTICATED, "the API key is not valid (deleted, or its member was removed)")
		}
		c.Via = ViaAPIKey
	case strings.HasPrefix(auth, "Basic "):
		id, token, _ := r.BasicAuth()
		a, err := s.Svc.DB.Account(ctx, id)
		if err != nil {
			return roster.Errorf(roster.EUNAUTHENTICATED, "wrong Auth ID or Auth Token")
		}
		ok, err := s.Svc.CheckAccountToken(ctx, a, token)
		if err != nil {
			return err
		} else if !ok {
			return roster.Errorf(roster.EUNAUTHENTICATED, "wrong Auth ID or Auth Token")
		}
		c.Via, c.Account = ViaAccount, a
		c.User = roster.User{Email: "auth_id:" + a.ID}
	default:
		return s.sessionCaller(r, c)
	}
	return nil
}

// authorizeMember checks the authenticated caller's access to {id} and
// the route's permission. Each credential reaches only its own account:
// any other answers not_found.
func (s *Server) authorizeMember(r *http.Request, rt Route, c *Caller) error {
	ctx := r.Context()
	authID := r.PathValue("id")
	var d authz.Decision
	switch c.Via {
	case ViaAPIKey:
		keyID, seq, uid, ok := s.Svc.KeyMember(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if !ok {
			return roster.Errorf(roster.EUNAUTHENTICATED, "the API key is not valid (deleted, or its member was removed)")
		}
		a, err := s.Svc.DB.Account(ctx, authID)
		if err != nil || a.Seq != seq {
			return roster.Errorf(roster.ENOTFOUND, "no such account")
		}
		u, err := s.Svc.DB.UserByID(ctx, uid)
		if err != nil {
			return err
		}
		c.User, c.Account = u, a
		d = s.Svc.Index.Check(seq, uid, rt.Perm)
		go s.Svc.TouchAPIKey(context.WithoutCancel(ctx), keyID)
	case ViaAccount:
		if c.Account.ID != authID {
			return roster.Errorf(roster.ENOTFOUND, "no such account")
		}
		d = service.CredentialDecision(rt.Perm)
		if !d.Allowed && rt.Perm != AnyMember {
			return roster.Errorf(roster.EFORBIDDEN, "account credentials (Auth ID and Auth Token) do not allow %s: a machine credential cannot %s; a member must sign in", rt.Perm, machineRefusal(rt.Perm))
		}
	default:
		a, role, err := s.Svc.Account(ctx, c.User.ID, authID)
		if err != nil {
			return err
		}
		c.Account = a
		d = s.Svc.Index.Check(a.Seq, c.User.ID, rt.Perm)
		if d.Role == roster.RoleNone {
			d.Role = role
		}
	}
	c.Role = d.Role
	if d.Role == roster.RoleNone {
		return roster.Errorf(roster.ENOTFOUND, "no such account")
	}
	if rt.Perm == AnyMember {
		return nil
	}
	if !d.Allowed {
		return denied(d.Reason.String(), d.Role, rt.Perm)
	}
	return nil
}

func machineRefusal(p roster.Permission) string {
	if p == roster.CredentialsView || p == roster.CredentialsEdit {
		return "read or rotate the credentials themselves"
	}
	return "act beyond the developer role"
}
