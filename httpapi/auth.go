package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/service"
)

// sessionCaller authenticates by the session cookie alone: the /v1/me
// routes and account creation belong to a person, not to a key.
func (s *Server) sessionCaller(r *http.Request, c *Caller) error {
	ck, err := r.Cookie(CookieName)
	if err != nil || ck.Value == "" {
		return roster.Errorf(roster.EUNAUTHENTICATED, "log in first")
	}
	u, err := s.Svc.SessionUser(r.Context(), ck.Value)
	if err != nil {
		return err
	}
	c.User, c.Session, c.Via = u, ck.Value, ViaSession
	return nil
}

// authorizeMember authenticates a request on /v1/accounts/{id}/... by
// personal API key (Bearer rk_...), account credentials (Basic Auth ID and
// Auth Token) or session cookie, then checks the route's permission. Each
// credential reaches only its own account: any other answers not_found.
func (s *Server) authorizeMember(r *http.Request, rt Route, c *Caller) error {
	ctx := r.Context()
	authID := r.PathValue("id")
	var d authz.Decision
	auth := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(auth, "Bearer "):
		key := strings.TrimPrefix(auth, "Bearer ")
		keyID, seq, uid, ok := s.Svc.KeyMember(key)
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
		c.Via, c.User, c.Account = ViaAPIKey, u, a
		d = s.Svc.Index.Check(seq, uid, rt.Perm)
		go s.Svc.TouchAPIKey(context.WithoutCancel(ctx), keyID)
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
		if a.ID != authID {
			return roster.Errorf(roster.ENOTFOUND, "no such account")
		}
		c.Via, c.Account = ViaAccount, a
		c.User = roster.User{Email: "auth_id:" + a.ID}
		d = service.CheckDecision(roster.RoleDeveloper, rt.Perm)
	default:
		if err := s.sessionCaller(r, c); err != nil {
			return err
		}
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
