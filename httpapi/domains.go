package httpapi

import (
	"net/http"
	"time"

	"github.com/rosterhq/roster"
)

// Verified domains (issue 22): an account proves it holds a domain with a
// TXT record. The whole section needs team.edit, reading included: the
// domains are the configuration of the account's single sign-on.

func (s *Server) domainRoutes() []Route {
	return []Route{
		{"GET /v1/accounts/{id}/domains", Member, roster.TeamEdit, s.domains},
		{"POST /v1/accounts/{id}/domains", Member, roster.TeamEdit, s.addDomain},
		{"DELETE /v1/accounts/{id}/domains/{domain_id}", Member, roster.TeamEdit, s.deleteDomain},
		{"POST /v1/accounts/{id}/domains/{domain_id}/verify", Member, roster.TeamEdit, s.verifyDomain},
	}
}

type domainJSON struct {
	ID           int64                  `json:"id"`
	Domain       string                 `json:"domain"`
	Status       roster.DomainStatus    `json:"status"`
	Verification domainVerificationJSON `json:"verification"`
	VerifiedAt   *time.Time             `json:"verified_at,omitempty"` // once verified
	CreatedAt    time.Time              `json:"created_at"`
}

// domainVerificationJSON is the DNS record that proves the domain.
type domainVerificationJSON struct {
	Type  string `json:"type"` // "TXT"
	Name  string `json:"name"`
	Value string `json:"value"`
}

func toDomain(d roster.Domain) domainJSON {
	out := domainJSON{ID: d.ID, Domain: d.Domain, Status: d.Status, CreatedAt: d.CreatedAt,
		Verification: domainVerificationJSON{Type: "TXT", Name: d.TXTName(), Value: d.TXTValue()}}
	if d.Status == roster.DomainVerified {
		at := d.VerifiedAt
		out.VerifiedAt = &at
	}
	return out
}

func (s *Server) domains(w http.ResponseWriter, r *http.Request, c *Caller) error {
	ds, err := s.Svc.Domains(r.Context(), c.Account)
	if err != nil {
		return err
	}
	out := make([]domainJSON, len(ds))
	for i, d := range ds {
		out[i] = toDomain(d)
	}
	return writeJSON(w, http.StatusOK, newList(roster.Page{Limit: len(out)}, len(out), out))
}

type addDomainBody struct {
	Domain string `json:"domain"`
}

func (s *Server) addDomain(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in addDomainBody
	if err := decode(r, &in); err != nil {
		return err
	}
	d, err := s.Svc.AddDomain(r.Context(), c.Account, in.Domain, c.Actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toDomain(d))
}

func (s *Server) deleteDomain(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id, err := pathInt(r, "domain_id")
	if err != nil {
		return err
	}
	if _, err := s.Svc.DeleteDomain(r.Context(), c.Account, id, c.Actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) verifyDomain(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id, err := pathInt(r, "domain_id")
	if err != nil {
		return err
	}
	d, err := s.Svc.VerifyDomain(r.Context(), c.Account, id, c.Actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toDomain(d))
}
