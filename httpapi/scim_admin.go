package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service"
)

// SCIM provisioning (issue 23), its administration: the tokens the
// account's directory presents to {BASE_URL}/scim/v2 and the roles it
// gives. The whole section needs team.edit, reading included: a token
// adds and removes members.

func (s *Server) scimAdminRoutes() []Route {
	return []Route{
		{"GET /v1/accounts/{id}/scim-tokens", Member, roster.TeamEdit, s.scimTokens},
		{"POST /v1/accounts/{id}/scim-tokens", Member, roster.TeamEdit, s.createSCIMToken},
		{"DELETE /v1/accounts/{id}/scim-tokens/{tid}", Member, roster.TeamEdit, s.deleteSCIMToken},
		{"GET /v1/accounts/{id}/scim-settings", Member, roster.TeamEdit, s.scimSettings},
		{"PUT /v1/accounts/{id}/scim-settings", Member, roster.TeamEdit, s.putSCIMSettings},
	}
}

// scimTokenJSON is a token as listed: never the token itself.
type scimTokenJSON struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"` // null: never used
}

func toSCIMToken(t roster.SCIMToken) scimTokenJSON {
	out := scimTokenJSON{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt}
	if !t.LastUsedAt.IsZero() {
		at := t.LastUsedAt
		out.LastUsedAt = &at
	}
	return out
}

// createdSCIMTokenJSON answers the create: the token, this once, and where
// the directory sends it.
type createdSCIMTokenJSON struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Token     string    `json:"token"`
	BaseURL   string    `json:"base_url"`
	CreatedAt time.Time `json:"created_at"`
}

// scimBaseURL is the SCIM service's base URL, which the directory is given.
func (s *Server) scimBaseURL() string {
	return strings.TrimRight(s.Svc.Config.BaseURL, "/") + "/scim/v2"
}

func (s *Server) scimTokens(w http.ResponseWriter, r *http.Request, c *Caller) error {
	ts, err := s.Svc.SCIMTokens(r.Context(), c.Account)
	if err != nil {
		return err
	}
	out := make([]scimTokenJSON, len(ts))
	for i, t := range ts {
		out[i] = toSCIMToken(t)
	}
	return writeJSON(w, http.StatusOK, newList(roster.Page{Limit: len(out)}, len(out), out))
}

type createSCIMTokenBody struct {
	Name string `json:"name"`
}

func (s *Server) createSCIMToken(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in createSCIMTokenBody
	if err := decode(r, &in); err != nil {
		return err
	}
	t, token, err := s.Svc.CreateSCIMToken(r.Context(), c.Account, in.Name, c.Actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, createdSCIMTokenJSON{ID: t.ID, Name: t.Name, Token: token, BaseURL: s.scimBaseURL(), CreatedAt: t.CreatedAt})
}

func (s *Server) deleteSCIMToken(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id, err := pathInt(r, "tid")
	if err != nil {
		return err
	}
	if _, err := s.Svc.DeleteSCIMToken(r.Context(), c.Account, id, c.Actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// scimSettingsJSON is the provisioning settings, roles by name.
type scimSettingsJSON struct {
	DefaultRole string            `json:"default_role"`
	GroupRoles  map[string]string `json:"group_roles"`
	BaseURL     string            `json:"base_url"` // where the directory sends its requests; ignored in a PUT
}

func (s *Server) toSCIMSettings(set roster.SCIMSettings) scimSettingsJSON {
	out := scimSettingsJSON{DefaultRole: set.DefaultRole.String(), GroupRoles: map[string]string{}, BaseURL: s.scimBaseURL()}
	for n, r := range set.GroupRoles {
		out.GroupRoles[n] = r.String()
	}
	return out
}

func (s *Server) scimSettings(w http.ResponseWriter, r *http.Request, c *Caller) error {
	set, err := s.Svc.SCIMSettings(r.Context(), c.Account.Seq)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.toSCIMSettings(set))
}

// putSCIMSettingsBody is the whole settings: a field left out is its
// default (support, no groups). base_url is taken so that what a GET
// answered may be sent back as it is.
type putSCIMSettingsBody struct {
	DefaultRole string            `json:"default_role"`
	GroupRoles  map[string]string `json:"group_roles"`
	BaseURL     *string           `json:"base_url"`
}

func (s *Server) putSCIMSettings(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in putSCIMSettingsBody
	if err := decode(r, &in); err != nil {
		return err
	}
	set, err := s.Svc.UpdateSCIMSettings(r.Context(), c.Account, service.SCIMSettingsInput{DefaultRole: in.DefaultRole, GroupRoles: in.GroupRoles}, c.Actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.toSCIMSettings(set))
}
