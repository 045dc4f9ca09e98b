package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service"
)

// Single sign-on: an account's connections to its identity provider, and
// starting a sign-in by address (the browser finishes it on the console's
// /sso/ routes).

func (s *Server) ssoRoutes() []Route {
	return []Route{
		{"GET /v1/accounts/{id}/sso-connections", Member, roster.TeamEdit, s.ssoConnections},
		{"POST /v1/accounts/{id}/sso-connections", Member, roster.TeamEdit, s.createSSOConnection},
		{"GET /v1/accounts/{id}/sso-connections/{cid}", Member, roster.TeamEdit, s.ssoConnection},
		{"PATCH /v1/accounts/{id}/sso-connections/{cid}", Member, roster.TeamEdit, s.updateSSOConnection},
		{"DELETE /v1/accounts/{id}/sso-connections/{cid}", Member, roster.TeamEdit, s.deleteSSOConnection},
		{"POST /v1/sso/start", Public, 0, s.ssoStart},
	}
}

// ssoConnectionJSON is a connection as the API shows it: the fields of its
// protocol only, and never the client secret.
type ssoConnectionJSON struct {
	ID          int64     `json:"id"`
	Type        string    `json:"type"`
	Name        string    `json:"name"`
	Enabled     bool      `json:"enabled"`
	DefaultRole *string   `json:"default_role"` // null: people who are not members ask an admin
	CountsAsMFA bool      `json:"counts_as_mfa"`
	CreatedAt   time.Time `json:"created_at"`

	Issuer      string `json:"issuer,omitempty"`
	ClientID    string `json:"client_id,omitempty"`
	RedirectURI string `json:"redirect_uri,omitempty"`

	IdPEntityID       string `json:"idp_entity_id,omitempty"`
	SPEntityID        string `json:"sp_entity_id,omitempty"`
	ACSURL            string `json:"acs_url,omitempty"`
	SPMetadataURL     string `json:"sp_metadata_url,omitempty"`
	MetadataURL       string `json:"metadata_url,omitempty"`
	AllowIdPInitiated *bool  `json:"allow_idp_initiated,omitempty"`
}

func (s *Server) toSSOConnection(c roster.SSOConnection) ssoConnectionJSON {
	base := strings.TrimRight(s.Svc.Config.BaseURL, "/")
	out := ssoConnectionJSON{ID: c.ID, Type: string(c.Type), Name: c.Name, Enabled: c.Enabled, CountsAsMFA: c.CountsAsMFA, CreatedAt: c.CreatedAt}
	if r := service.SSORoleName(c.DefaultRole); r != "" {
		out.DefaultRole = &r
	}
	switch c.Type {
	case roster.SSOOIDC:
		out.Issuer, out.ClientID, out.RedirectURI = c.Issuer, c.ClientID, base+"/sso/oidc/callback"
	case roster.SSOSAML:
		md := base + "/sso/saml/" + strconv.FormatInt(c.ID, 10) + "/metadata"
		idp := c.AllowIdPInitiated
		out.IdPEntityID, out.SPEntityID, out.SPMetadataURL, out.ACSURL = c.IdPEntityID, md, md, base+"/sso/saml/acs"
		out.MetadataURL, out.AllowIdPInitiated = c.MetadataURL, &idp
	}
	return out
}

func (s *Server) ssoConnections(w http.ResponseWriter, r *http.Request, c *Caller) error {
	cs, err := s.Svc.Connections(r.Context(), c.Account)
	if err != nil {
		return err
	}
	out := make([]ssoConnectionJSON, len(cs))
	for i, conn := range cs {
		out[i] = s.toSSOConnection(conn)
	}
	// At most a handful: one page, whole.
	return writeJSON(w, http.StatusOK, newList(roster.Page{Limit: 100}, len(out), out))
}

type createSSOConnectionBody struct {
	Type              string `json:"type"`
	Name              string `json:"name"`
	Issuer            string `json:"issuer"`
	ClientID          string `json:"client_id"`
	ClientSecret      string `json:"client_secret"`
	MetadataXML       string `json:"metadata_xml"`
	MetadataURL       string `json:"metadata_url"`
	DefaultRole       string `json:"default_role"`
	AllowIdPInitiated bool   `json:"allow_idp_initiated"`
	CountsAsMFA       bool   `json:"counts_as_mfa"`
}

func (s *Server) createSSOConnection(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in createSSOConnectionBody
	if err := decode(r, &in); err != nil {
		return err
	}
	conn, err := s.Svc.CreateConnection(r.Context(), c.Account, service.SSOConnectionInput{Type: in.Type, Name: in.Name,
		DefaultRole: in.DefaultRole, CountsAsMFA: in.CountsAsMFA, Issuer: in.Issuer, ClientID: in.ClientID, ClientSecret: in.ClientSecret,
		MetadataXML: in.MetadataXML, MetadataURL: in.MetadataURL, AllowIdPInitiated: in.AllowIdPInitiated}, c.Actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, s.toSSOConnection(conn))
}

func (s *Server) ssoConnection(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id, err := pathInt(r, "cid")
	if err != nil {
		return err
	}
	conn, err := s.Svc.Connection(r.Context(), c.Account, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.toSSOConnection(conn))
}

type updateSSOConnectionBody struct {
	Name              *string `json:"name"`
	Enabled           *bool   `json:"enabled"`
	DefaultRole       *string `json:"default_role"`
	CountsAsMFA       *bool   `json:"counts_as_mfa"`
	ClientSecret      *string `json:"client_secret"`
	MetadataXML       *string `json:"metadata_xml"`
	MetadataURL       *string `json:"metadata_url"`
	AllowIdPInitiated *bool   `json:"allow_idp_initiated"`
}

func (s *Server) updateSSOConnection(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id, err := pathInt(r, "cid")
	if err != nil {
		return err
	}
	var in updateSSOConnectionBody
	if err := decode(r, &in); err != nil {
		return err
	}
	conn, err := s.Svc.UpdateConnection(r.Context(), c.Account, id, service.SSOConnectionChange{Name: in.Name, Enabled: in.Enabled,
		DefaultRole: in.DefaultRole, CountsAsMFA: in.CountsAsMFA, ClientSecret: in.ClientSecret, MetadataXML: in.MetadataXML,
		MetadataURL: in.MetadataURL, AllowIdPInitiated: in.AllowIdPInitiated}, c.Actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.toSSOConnection(conn))
}

func (s *Server) deleteSSOConnection(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id, err := pathInt(r, "cid")
	if err != nil {
		return err
	}
	if err := s.Svc.DeleteConnection(r.Context(), c.Account, id, c.Actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ssoStart starts single sign-on for an address. The answer also sets
// the cookie binding the sign-in to this browser: the provider's redirect
// back is accepted only with it. A client that is not the browser should
// open {BASE_URL}/sso/start?email= in it instead.
func (s *Server) ssoStart(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	st, err := s.Svc.StartSSO(r.Context(), in.Email, c.IP)
	if err != nil {
		return err
	}
	if st.SAML {
		s.Proxies.SetSAMLBinding(w, r, st.Binding, service.SSOFlowTTL)
	} else {
		s.Proxies.SetSSOBinding(w, r, st.Binding, service.SSOFlowTTL)
	}
	return writeJSON(w, http.StatusOK, map[string]string{"redirect_url": st.RedirectURL})
}
