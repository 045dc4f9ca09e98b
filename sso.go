package roster

import "time"

// Enterprise sign-in (issue 22): an account proves a domain is its own, signs
// its people in through its identity provider, and may require it.

// DomainStatus is where a domain's verification stands.
type DomainStatus string

const (
	DomainPending  DomainStatus = "pending"  // its TXT record has not been seen yet
	DomainVerified DomainStatus = "verified" // the record was seen: the account holds the domain
)

// DomainVerificationPrefix names the TXT record an account publishes:
// "_roster-verification.<domain>", holding DomainVerificationValue(token).
const DomainVerificationPrefix = "_roster-verification."

// DomainVerificationValue is the TXT record's value for a token.
func DomainVerificationValue(token string) string { return "roster-verification=" + token }

// Domain is a domain an account claims, and once verified holds: the
// members whose addresses are on it can be required to use the account's
// single sign-on, and it decides which account's connection an address
// signs in through.
type Domain struct {
	ID         int64        `json:"id"`
	AccountSeq int64        `json:"-"`
	Domain     string       `json:"domain"` // normalized: IDNA to ASCII, lower case
	Token      string       `json:"-"`      // the TXT record's token (see Verification)
	Status     DomainStatus `json:"status"`
	CreatedAt  time.Time    `json:"created_at"`
	VerifiedAt time.Time    `json:"-"` // zero while pending
}

// TXTName is the name of the record that proves the domain.
func (d Domain) TXTName() string { return DomainVerificationPrefix + d.Domain }

// TXTValue is the value the record must hold.
func (d Domain) TXTValue() string { return DomainVerificationValue(d.Token) }

// SSOType is the protocol of a single sign-on connection.
type SSOType string

const (
	SSOOIDC SSOType = "oidc" // OpenID Connect, authorization code with PKCE
	SSOSAML SSOType = "saml" // SAML 2.0, HTTP-Redirect out and HTTP-POST back
)

// SSOConnection is an account's link to its identity provider. The fields
// of the other protocol are empty. ClientSecret is never answered.
type SSOConnection struct {
	ID          int64
	AccountSeq  int64
	Type        SSOType
	Name        string
	Enabled     bool
	DefaultRole Role // RoleNone: people who are not members are sent to ask an admin
	// CountsAsMFA: a session that came through this connection satisfies
	// the account's two-factor requirement (the provider asked for it).
	CountsAsMFA bool

	// OpenID Connect.
	Issuer       string
	ClientID     string
	ClientSecret string

	// SAML 2.0: the provider's metadata as last read (from MetadataURL
	// when given) and the entity ID it names.
	MetadataXML       string
	MetadataURL       string
	IdPEntityID       string
	AllowIdPInitiated bool

	CreatedAt time.Time
}
