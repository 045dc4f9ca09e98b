package client

import (
	"context"
	"strconv"
	"time"
)

// --- verified domains (issue 22)

// Error codes of the domain routes.
const (
	CodeDomainUnverified = "domain_unverified" // 409: the TXT record was not found or holds another value
	CodeDomainTaken      = "domain_taken"      // 409: another account verified the domain
)

// Domain is a domain an account claims, verified once its TXT record is
// seen.
type Domain struct {
	ID           int64              `json:"id"`
	Domain       string             `json:"domain"` // IDNA to ASCII, lower case
	Status       string             `json:"status"` // pending or verified
	Verification DomainVerification `json:"verification"`
	VerifiedAt   time.Time          `json:"verified_at"` // zero while pending
	CreatedAt    time.Time          `json:"created_at"`
}

// DomainVerification is the DNS record that proves the domain: publish a
// TXT record named Name holding Value.
type DomainVerification struct {
	Type  string `json:"type"` // TXT
	Name  string `json:"name"`
	Value string `json:"value"`
}

// AddDomain claims a domain for the account, pending until VerifyDomain
// sees its record (POST /v1/accounts/{id}/domains; team.edit).
func (c *Client) AddDomain(ctx context.Context, accountID, domain string) (Domain, error) {
	var d Domain
	err := c.Do(ctx, "POST", accountPath(accountID, "/domains"), map[string]string{"domain": domain}, &d)
	return d, err
}

// Domains lists the account's domains (GET /v1/accounts/{id}/domains;
// team.edit).
func (c *Client) Domains(ctx context.Context, accountID string) (List[Domain], error) {
	var l List[Domain]
	err := c.Do(ctx, "GET", accountPath(accountID, "/domains"), nil, &l)
	return l, err
}

// VerifyDomain looks the domain's TXT record up and answers the domain,
// verified; CodeDomainUnverified says what was found otherwise (POST
// /v1/accounts/{id}/domains/{domain_id}/verify; team.edit).
func (c *Client) VerifyDomain(ctx context.Context, accountID string, domainID int64) (Domain, error) {
	var d Domain
	err := c.Do(ctx, "POST", accountPath(accountID, "/domains/"+strconv.FormatInt(domainID, 10)+"/verify"), nil, &d)
	return d, err
}

// DeleteDomain removes one of the account's domains (DELETE
// /v1/accounts/{id}/domains/{domain_id}; team.edit).
func (c *Client) DeleteDomain(ctx context.Context, accountID string, domainID int64) error {
	return c.Do(ctx, "DELETE", accountPath(accountID, "/domains/"+strconv.FormatInt(domainID, 10)), nil, nil)
}
