package client

import (
	"context"
	"net/url"
	"strconv"
	"time"
)

// --- single sign-on (issue 22)

// Error codes of single sign-on. CodeSSORequired (403) is with the other
// codes; CodeDomainUnverified also answers a connection or a requirement
// asked for before the account verified a domain.
const (
	CodeSSONotConfigured = "sso_not_configured" // 404: no enabled single sign-on for the address's domain
	CodeSSOInvalid       = "sso_invalid"        // 422: the provider's discovery document or metadata is unusable (the message says why)
)

// The two kinds of connection (SSOConnection.Type).
const (
	SSOTypeOIDC = "oidc" // OpenID Connect
	SSOTypeSAML = "saml" // SAML 2.0
)

// SSOConnection is an account's connection to its identity provider. The
// fields of the other protocol are empty; the client secret is never
// answered.
type SSOConnection struct {
	ID      int64  `json:"id"`
	Type    string `json:"type"` // SSOTypeOIDC or SSOTypeSAML
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
	// DefaultRole is the role a person who is not a member joins with when
	// they first sign in (the account on the committed plan); "": they are
	// told to ask an admin.
	DefaultRole string `json:"default_role"`
	// CountsAsMFA: a session that came through this connection satisfies
	// the account's requirement of two-factor sign-in.
	CountsAsMFA bool      `json:"counts_as_mfa"`
	CreatedAt   time.Time `json:"created_at"`

	// OpenID Connect: RedirectURI ({BASE_URL}/sso/oidc/callback) is what
	// to register at the provider.
	Issuer      string `json:"issuer"`
	ClientID    string `json:"client_id"`
	RedirectURI string `json:"redirect_uri"`

	// SAML: SPEntityID and ACSURL are what to give the provider;
	// SPMetadataURL ({BASE_URL}/sso/saml/{id}/metadata, the same as the
	// entity ID) serves them as metadata.
	IdPEntityID       string `json:"idp_entity_id"`
	SPEntityID        string `json:"sp_entity_id"`
	ACSURL            string `json:"acs_url"`
	SPMetadataURL     string `json:"sp_metadata_url"`
	MetadataURL       string `json:"metadata_url"` // where the provider's metadata was read, when given as a URL
	AllowIdPInitiated bool   `json:"allow_idp_initiated"`
}

// OIDCConnection is a new OpenID Connect connection. The server fetches
// the issuer's discovery document and checks it before saving.
type OIDCConnection struct {
	Name         string
	Issuer       string // e.g. https://acme.okta.com, https://login.microsoftonline.com/{tenant}/v2.0
	ClientID     string
	ClientSecret string
	DefaultRole  string // a role other than owner; "": none
	CountsAsMFA  bool
}

// SAMLConnection is a new SAML 2.0 connection: the identity provider's
// metadata as XML or as a URL to fetch, not both.
type SAMLConnection struct {
	Name              string
	MetadataXML       string
	MetadataURL       string
	DefaultRole       string // a role other than owner; "": none
	AllowIdPInitiated bool   // accept sign-ins the provider starts (its dashboard's tile)
	CountsAsMFA       bool
}

type createSSOConnection struct {
	Type              string `json:"type"`
	Name              string `json:"name"`
	Issuer            string `json:"issuer,omitempty"`
	ClientID          string `json:"client_id,omitempty"`
	ClientSecret      string `json:"client_secret,omitempty"`
	MetadataXML       string `json:"metadata_xml,omitempty"`
	MetadataURL       string `json:"metadata_url,omitempty"`
	DefaultRole       string `json:"default_role,omitempty"`
	AllowIdPInitiated bool   `json:"allow_idp_initiated,omitempty"`
	CountsAsMFA       bool   `json:"counts_as_mfa,omitempty"`
}

// CreateOIDCConnection adds an OpenID Connect connection, enabled (POST
// /v1/accounts/{id}/sso-connections; team.edit). Refusals:
// CodeDomainUnverified (the account has verified no domain),
// CodeSSOInvalid (the issuer's discovery document is unusable, or the
// issuer is not https on a globally reachable address), CodeInvalidRequest.
func (c *Client) CreateOIDCConnection(ctx context.Context, accountID string, in OIDCConnection) (SSOConnection, error) {
	return c.createSSOConnection(ctx, accountID, createSSOConnection{Type: SSOTypeOIDC, Name: in.Name, Issuer: in.Issuer,
		ClientID: in.ClientID, ClientSecret: in.ClientSecret, DefaultRole: in.DefaultRole, CountsAsMFA: in.CountsAsMFA})
}

// CreateSAMLConnection adds a SAML 2.0 connection, enabled (POST
// /v1/accounts/{id}/sso-connections; team.edit). Refusals:
// CodeDomainUnverified, CodeSSOInvalid (the metadata is unusable: no
// entity ID, signing certificate or single sign-on endpoint, or its URL
// could not be fetched), CodeInvalidRequest.
func (c *Client) CreateSAMLConnection(ctx context.Context, accountID string, in SAMLConnection) (SSOConnection, error) {
	return c.createSSOConnection(ctx, accountID, createSSOConnection{Type: SSOTypeSAML, Name: in.Name, MetadataXML: in.MetadataXML,
		MetadataURL: in.MetadataURL, DefaultRole: in.DefaultRole, AllowIdPInitiated: in.AllowIdPInitiated, CountsAsMFA: in.CountsAsMFA})
}

func (c *Client) createSSOConnection(ctx context.Context, accountID string, in createSSOConnection) (SSOConnection, error) {
	var conn SSOConnection
	err := c.Do(ctx, "POST", accountPath(accountID, "/sso-connections"), in, &conn)
	return conn, err
}

// SSOConnections lists the account's connections, oldest first (GET
// /v1/accounts/{id}/sso-connections; team.edit).
func (c *Client) SSOConnections(ctx context.Context, accountID string) (List[SSOConnection], error) {
	var l List[SSOConnection]
	err := c.Do(ctx, "GET", accountPath(accountID, "/sso-connections"), nil, &l)
	return l, err
}

// SSOConnection returns one of the account's connections (GET
// /v1/accounts/{id}/sso-connections/{cid}; team.edit).
func (c *Client) SSOConnection(ctx context.Context, accountID string, id int64) (SSOConnection, error) {
	var conn SSOConnection
	err := c.Do(ctx, "GET", ssoConnectionPath(accountID, id), nil, &conn)
	return conn, err
}

// SSOConnectionChange is a change to a connection: nil fields stay.
// ClientSecret is for OpenID Connect connections only; MetadataXML,
// MetadataURL and AllowIdPInitiated for SAML ones.
type SSOConnectionChange struct {
	Name              *string `json:"name,omitempty"`
	Enabled           *bool   `json:"enabled,omitempty"` // false ends every session the connection made
	DefaultRole       *string `json:"default_role,omitempty"`
	CountsAsMFA       *bool   `json:"counts_as_mfa,omitempty"`
	ClientSecret      *string `json:"client_secret,omitempty"`
	MetadataXML       *string `json:"metadata_xml,omitempty"`
	MetadataURL       *string `json:"metadata_url,omitempty"`
	AllowIdPInitiated *bool   `json:"allow_idp_initiated,omitempty"`
}

// UpdateSSOConnection changes a connection and returns it (PATCH
// /v1/accounts/{id}/sso-connections/{cid}; team.edit). Turning it off
// ends the sessions it made. Refusals: CodeNotFound, CodeInvalidRequest,
// CodeSSOInvalid (new metadata unusable).
func (c *Client) UpdateSSOConnection(ctx context.Context, accountID string, id int64, ch SSOConnectionChange) (SSOConnection, error) {
	var conn SSOConnection
	err := c.Do(ctx, "PATCH", ssoConnectionPath(accountID, id), ch, &conn)
	return conn, err
}

// DeleteSSOConnection removes a connection and ends the sessions it made
// (DELETE /v1/accounts/{id}/sso-connections/{cid}; team.edit).
func (c *Client) DeleteSSOConnection(ctx context.Context, accountID string, id int64) error {
	return c.Do(ctx, "DELETE", ssoConnectionPath(accountID, id), nil, nil)
}

func ssoConnectionPath(accountID string, id int64) string {
	return accountPath(accountID, "/sso-connections/"+strconv.FormatInt(id, 10))
}

// SetRequireSSO turns on or off the account's requirement of its single
// sign-on and returns the account as the caller now sees it (PATCH
// /v1/accounts/{id}/security; team.edit). While it is on, a member whose
// address is on one of the account's verified domains acts in it only
// through a session that came through one of its connections: other
// sessions and personal API keys get CodeSSORequired, and the check
// answers ReasonSSORequired. The owner and members on other domains are
// not bound. Turning it on is refused with CodeDomainUnverified (no
// verified domain) or CodeConflict (no enabled connection, or the caller
// would be bound and did not sign in through it).
func (c *Client) SetRequireSSO(ctx context.Context, accountID string, on bool) (Account, error) {
	var a Account
	err := c.Do(ctx, "PATCH", accountPath(accountID, "/security"), map[string]bool{"require_sso": on}, &a)
	return a, err
}

// StartSSO starts single sign-on for an address and returns the identity
// provider's URL to send the browser to (POST /v1/sso/start; no
// credential). The answer also sets a short-lived cookie that binds the
// sign-in to the cookie jar that asked (WithSession, WithCookieJar): the
// provider's answer is accepted only from that jar's browser. To sign a
// person in through their own browser, open SSOStartURL(email) in it
// instead. Refusals: CodeSSONotConfigured (no account verified the
// address's domain, or it has no enabled connection), CodeInvalidRequest
// (not an address), CodeSSOInvalid (the provider cannot be used).
func (c *Client) StartSSO(ctx context.Context, email string) (string, error) {
	var out struct {
		RedirectURL string `json:"redirect_url"`
	}
	err := c.Do(ctx, "POST", "/v1/sso/start", map[string]string{"email": email}, &out)
	return out.RedirectURL, err
}

// SSOStartURL is the page that starts single sign-on for an address in a
// browser ({base}/sso/start?email=...): it redirects to the provider, or
// to the login page saying single sign-on is not set up for the address.
func (c *Client) SSOStartURL(email string) string {
	return c.base + "/sso/start?" + url.Values{"email": {email}}.Encode()
}
