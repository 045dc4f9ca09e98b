package httpapi

import (
	"net/http"
	"strings"

	"github.com/rosterhq/roster"
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
		return serviceTokenOf(r, service.NewServiceToken(s.ServiceToken))
	case Operator:
		return bearerIs(r, s.OperatorToken, "operator")
	case Session, Member:
		ip := c.IP
		caller, err := s.Svc.Authenticate(r.Context(), credentialOf(r), rt.Access == Session)
		*c = caller
		c.IP = ip
		return err
	}
	return roster.Errorf(roster.EFORBIDDEN, "No access is defined for this route")
}

// authorize decides, through the service's one gate, whether the caller
// may call a member route: the route table names the permission.
func (s *Server) authorize(r *http.Request, rt Route, c *Caller) error {
	if rt.Access != Member {
		return nil
	}
	return s.Svc.Authorize(r.Context(), c, r.PathValue("id"), rt.Perm)
}

// credentialOf reads what the request presents: a personal API key
// (Bearer rk_...), account credentials (Basic Auth ID and Auth Token), and
// the session cookie.
func credentialOf(r *http.Request) service.Credential {
	cred := service.Credential{Session: edge.Session(r)}
	auth := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(auth, "Bearer "):
		cred.APIKey = strings.TrimPrefix(auth, "Bearer ")
		if cred.APIKey == "" {
			cred.APIKey = " " // presented, but empty: refused, never a session
		}
	case strings.HasPrefix(auth, "Basic "):
		cred.AuthID, cred.AuthToken, _ = r.BasicAuth()
		cred.Basic = true
	}
	return cred
}
