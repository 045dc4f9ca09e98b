package sso

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	"github.com/jonboulle/clockwork"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/service/internal/guard"
	"github.com/rosterhq/roster/store"
)

// SAML 2.0 service provider (issue 22): one per connection, on crewjam/saml.
//
// Each connection is its own service provider: its entity ID is its
// metadata URL, {BASE_URL}/sso/saml/{cid}/metadata, so the audience of an
// assertion names the connection it was issued for. Every connection
// shares one assertion consumer service, {BASE_URL}/sso/saml/acs.
//
// The service provider has no key of its own: AuthnRequests go out
// unsigned over the HTTP-Redirect binding (which SAML allows, and which
// Okta and Entra ID accept), and assertions come back signed, not
// encrypted (TLS protects them on the way). So there is nothing to
// generate, keep or rotate on this side; the metadata publishes no
// certificate.

const (
	// samlFlowTTL is how long a started sign-in waits for its response.
	samlFlowTTL = 10 * time.Minute
	// maxSAMLResponse caps the base64 SAMLResponse read (the console's
	// form cap, 64 KiB, is lower still).
	maxSAMLResponse = 256 << 10
)

func init() {
	// The issue's "2 minutes of skew": NotBefore may be 2 minutes ahead
	// of this server's clock and NotOnOrAfter 2 minutes behind. An
	// assertion's IssueInstant may be 3 minutes old: the 2 minutes of
	// skew and a minute for the browser to carry it here. crewjam/saml
	// has these as package settings (its defaults: 180 s and 90 s); no
	// other code in the process uses the package.
	saml.MaxClockSkew = 2 * time.Minute
	saml.MaxIssueDelay = 3 * time.Minute
}

// SAMLEntityID is the connection's service provider entity ID, which is
// also the URL of its metadata: {BASE_URL}/sso/saml/{cid}/metadata.
func (s *SSO) SAMLEntityID(cid int64) string {
	return strings.TrimSuffix(s.c.Config.BaseURL, "/") + "/sso/saml/" + strconv.FormatInt(cid, 10) + "/metadata"
}

// SAMLACSURL is the assertion consumer service every SAML connection
// shares: {BASE_URL}/sso/saml/acs.
func (s *SSO) SAMLACSURL() string {
	return strings.TrimSuffix(s.c.Config.BaseURL, "/") + "/sso/saml/acs"
}

// dbClock is the database's clock (store.DB.Now, which tests may move) as
// the clock crewjam/saml and goxmldsig ask for: the service provider
// judges an assertion's times by the same clock as everything else.
type dbClock struct {
	clockwork.Clock
	now func() time.Time
}

func (c dbClock) Now() time.Time                  { return c.now() }
func (c dbClock) Since(t time.Time) time.Duration { return c.now().Sub(t) }
func (c dbClock) Until(t time.Time) time.Duration { return t.Sub(c.now()) }

// serviceProvider is the connection's service provider. With idp false it
// is the provider's metadata side only (no identity provider needed).
func (s *SSO) serviceProvider(c roster.SSOConnection, idp bool) (*saml.ServiceProvider, error) {
	entity, err := url.Parse(s.SAMLEntityID(c.ID))
	if err != nil {
		return nil, err
	}
	acs, err := url.Parse(s.SAMLACSURL())
	if err != nil {
		return nil, err
	}
	sp := &saml.ServiceProvider{
		EntityID:                         entity.String(),
		MetadataURL:                      *entity,
		AcsURL:                           *acs,
		AuthnNameIDFormat:                saml.EmailAddressNameIDFormat,
		AssertionConsumerServiceBindings: []string{saml.HTTPPostBinding},
		// The metadata says how long to cache it rather than a validUntil
		// that a provider which imported the file would see pass.
		MetadataOmitValidUntil: true,
		AllowIDPInitiated:      c.AllowIdPInitiated,
		RejectSHA1Signatures:   true,
		Clock:                  dsig.NewFakeClock(dbClock{Clock: clockwork.NewRealClock(), now: s.c.DB.Now}),
	}
	if !idp {
		return sp, nil
	}
	var md *saml.EntityDescriptor
	if c.IdPEntityID != "" {
		md, err = samlsp.ParseMetadataByEntityID([]byte(c.MetadataXML), c.IdPEntityID)
	} else {
		md, err = samlsp.ParseMetadata([]byte(c.MetadataXML))
	}
	if err != nil {
		s.c.Log().Warn("saml metadata unreadable", "connection", c.ID, "err", err)
		return nil, roster.Errorf(roster.ESSOINVALID, "The identity provider's metadata of this connection cannot be read: ask an admin to update it")
	}
	sp.IDPMetadata = md
	return sp, nil
}

// samlConnection returns the SAML connection with the ID, whatever its
// account. ESSONOTCONFIG when there is none, or it is turned off and
// enabled is asked for.
func (s *SSO) samlConnection(ctx context.Context, cid int64, enabled bool) (roster.SSOConnection, error) {
	c, err := s.c.DB.SSOConnectionByID(ctx, cid)
	if errors.Is(err, store.ErrNoRows) || (err == nil && (c.Type != roster.SSOSAML || (enabled && !c.Enabled))) {
		return roster.SSOConnection{}, roster.Errorf(roster.ESSONOTCONFIG, "There is no SAML single sign-on connection here with that ID, or it is turned off")
	}
	return c, core.DBErr(err, "There is no SAML single sign-on connection here with that ID")
}

// SAMLMetadata returns the service provider metadata of the SAML
// connection cid (public: the provider's admin pastes its link). Errors:
// ESSONOTCONFIG when there is no such SAML connection.
func (s *SSO) SAMLMetadata(ctx context.Context, cid int64) ([]byte, error) {
	c, err := s.samlConnection(ctx, cid, false)
	if err != nil {
		return nil, err
	}
	sp, err := s.serviceProvider(c, false)
	if err != nil {
		return nil, err
	}
	out, err := xml.MarshalIndent(sp.Metadata(), "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), out...), nil
}

// StartSAMLByID starts a sign-in through the SAML connection cid (the
// console's "test connection" link): StartSAML. Errors: ESSONOTCONFIG
// when there is no such enabled SAML connection.
func (s *SSO) StartSAMLByID(ctx context.Context, cid int64, ip string) (redirectURL, browserBinding string, err error) {
	if err := guard.New(s.c).Limit(ctx, "sso:ip:", guard.IPKey(ip), guard.FlowStartWindow, guard.FlowStartsPerIP, &s.c.Stats.SSOThrottled,
		"Too many single sign-on attempts from your network: try again in %s"); err != nil {
		return "", "", err
	}
	c, err := s.samlConnection(ctx, cid, true)
	if err != nil {
		return "", "", err
	}
	return s.StartSAML(ctx, c)
}

// StartSAML starts a sign-in through the SAML connection c: it records an
// AuthnRequest (under the hash of its ID, for 10 minutes) and returns the
// provider's URL carrying it (HTTP-Redirect binding) and the browser
// binding, which the edge keeps in a short-lived cookie of the browser
// that started (the response is accepted only from it: no login CSRF).
// The binding is the RelayState the provider sends back. Errors:
// ESSONOTCONFIG when c is not an enabled SAML connection; ESSOINVALID
// when its metadata is unusable.
func (s *SSO) StartSAML(ctx context.Context, c roster.SSOConnection) (redirectURL, browserBinding string, err error) {
	if c.Type != roster.SSOSAML || !c.Enabled {
		return "", "", roster.Errorf(roster.ESSONOTCONFIG, "This single sign-on connection is not an enabled SAML connection")
	}
	sp, err := s.serviceProvider(c, true)
	if err != nil {
		return "", "", err
	}
	loc := sp.GetSSOBindingLocation(saml.HTTPRedirectBinding)
	if loc == "" {
		return "", "", roster.Errorf(roster.ESSOINVALID, "The identity provider's metadata names no single sign-on URL for the HTTP-Redirect binding: ask an admin to update it")
	}
	req, err := sp.MakeAuthenticationRequest(loc, saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		return "", "", err
	}
	relay, relayHash := core.NewToken()
	// The flow's Verifier (the PKCE verifier for OIDC) holds the hash of
	// the RelayState here: the response must come back with it, from the
	// browser holding it.
	if err := s.c.DB.CreateSSOFlow(ctx, core.HashToken(req.ID), store.SSOFlow{ConnectionID: c.ID, Verifier: hex.EncodeToString(relayHash)}, samlFlowTTL); err != nil {
		return "", "", core.DBErr(err, "There is no SAML single sign-on connection here with that ID")
	}
	u, err := req.Redirect(relay, sp)
	if err != nil {
		return "", "", err
	}
	return u.String(), relay, nil
}

// SAMLResponse is what arrives at the assertion consumer service.
type SAMLResponse struct {
	Response       string // the form's SAMLResponse (base64)
	RelayState     string // the form's RelayState
	BrowserBinding string // the binding cookie StartSAML's caller set ("" when none)
	IP, UserAgent  string
}

// samlPeek is what is read from a response before it is verified: whom
// it claims to come from (to find the connections that trust that
// provider) and which request it claims to answer.
type samlPeek struct {
	InResponseTo string `xml:"InResponseTo,attr"`
	Issuer       string `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	Assertion    struct {
		Issuer string `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:assertion Assertion"`
}

// FinishSAML signs in with a SAML response posted to the assertion
// consumer service. The response or its assertion must be signed by the
// certificate in the metadata of an enabled connection trusting its
// issuer; the audience must be that connection's entity ID, the
// destination and recipient the ACS, its times hold (2 minutes of skew);
// it must answer a request this server made for that connection, from
// the browser that started it (once), or, with no InResponseTo, the
// connection must allow IdP-initiated sign-in; its assertion is accepted
// once on any replica. The address comes from the NameID (emailAddress
// format) or an email attribute; then finish (the verified domain, the
// user, the session, the just-in-time join). Errors: EUNAUTHENTICATED,
// saying what went wrong, and nothing is created; finish's errors.
func (s *SSO) FinishSAML(ctx context.Context, in SAMLResponse) (SignedIn, error) {
	if in.Response == "" {
		return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "The sign-in request carries no SAML response: start signing in again")
	}
	if len(in.Response) > maxSAMLResponse {
		return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "The SAML response is too large to be a sign-in")
	}
	raw, err := base64.StdEncoding.DecodeString(in.Response)
	if err != nil {
		return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "The sign-in request carries no readable SAML response")
	}
	var peek samlPeek
	if err := xml.NewDecoder(bytes.NewReader(raw)).Decode(&peek); err != nil {
		return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "The sign-in request carries no readable SAML response")
	}
	issuer := peek.Issuer
	if issuer == "" {
		issuer = peek.Assertion.Issuer
	}
	if issuer == "" {
		return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "The SAML response does not say which identity provider sent it")
	}
	conns, err := s.c.DB.SSOConnectionsForSAMLEntity(ctx, issuer)
	if err != nil {
		return SignedIn{}, core.DBErr(err, "There is no SAML single sign-on connection here with that ID")
	}
	if len(conns) == 0 {
		return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "The SAML response comes from an identity provider that no enabled connection here trusts")
	}

	// Several connections may trust one provider (Entra ID has one entity
	// ID per tenant): the assertion's audience, checked by each, picks
	// the one it was issued for. The assertion ID is recorded (once, on
	// any replica) only when every other check has passed.
	var possible []string
	if peek.InResponseTo != "" {
		possible = []string{peek.InResponseTo}
	}
	var conn roster.SSOConnection
	var assertion *saml.Assertion
	var firstErr error
	for _, c := range conns {
		sp, err := s.serviceProvider(c, true)
		if err != nil {
			firstErr = cmp(firstErr, err)
			continue
		}
		sp.ReplayCache = replayCache{ctx: ctx, db: s.c.DB, connectionID: c.ID}
		a, err := sp.ParseXMLResponse(raw, possible, sp.AcsURL)
		if err != nil {
			s.c.Log().Info("saml response refused", "connection", c.ID, "err", privateErr(err))
			firstErr = cmp(firstErr, err)
			continue
		}
		conn, assertion = c, a
		break
	}
	if assertion == nil {
		return SignedIn{}, samlRefusal(firstErr, peek.InResponseTo)
	}

	if peek.InResponseTo != "" {
		// The request this server made, taken once: the response answers
		// it only from the browser that started it, for this connection.
		f, err := s.c.DB.TakeSSOFlow(ctx, core.HashToken(peek.InResponseTo))
		if errors.Is(err, store.ErrNoRows) || (err == nil && f.ConnectionID != conn.ID) {
			return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "The SAML response answers a sign-in this server did not start, or one that expired or already finished: start signing in again")
		}
		if err != nil {
			return SignedIn{}, core.DBErr(err, "There is no SAML single sign-on connection here with that ID")
		}
		want, _ := hex.DecodeString(f.Verifier)
		if in.BrowserBinding == "" || subtle.ConstantTimeCompare([]byte(in.BrowserBinding), []byte(in.RelayState)) != 1 ||
			subtle.ConstantTimeCompare(core.HashToken(in.RelayState), want) != 1 {
			return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "This sign-in was started in another browser, or its cookie expired: start signing in again from this browser")
		}
	}

	email, name := samlIdentity(assertion)
	if email == "" {
		return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "The identity provider sent no email address: it must send the NameID in the emailAddress format, or an email attribute")
	}
	return s.finish(ctx, conn, SignIn{Email: email, Name: name, IP: in.IP, UserAgent: in.UserAgent})
}

// cmp keeps the most telling of two refusals: one connection's audience
// mismatch only says the assertion was for another connection of the
// same provider, so any other reason wins over it.
func cmp(kept, err error) error {
	if kept == nil || (errors.Is(kept, saml.ErrAudienceMismatch) && !errors.Is(err, saml.ErrAudienceMismatch)) {
		return err
	}
	return kept
}

// privateErr is crewjam's reason for a refusal (its Error() is a fixed
// string, so that no caller shows the detail to the browser): for the log.
func privateErr(err error) error {
	var ie *saml.InvalidResponseError
	if errors.As(err, &ie) && ie.PrivateErr != nil {
		return ie.PrivateErr
	}
	return err
}

// samlRefusal says in words why crewjam/saml refused a response.
func samlRefusal(err error, inResponseTo string) error {
	var bad saml.ErrBadStatus
	switch {
	case roster.ErrorCode(err) != roster.EINTERNAL:
		return err // already ours (unreadable metadata)
	case errors.Is(err, saml.ErrAssertionReplayed):
		return roster.Errorf(roster.EUNAUTHENTICATED, "This SAML response was already used to sign in: a response is accepted once. Start signing in again")
	case errors.Is(err, saml.ErrInvalidSignature), errors.Is(err, saml.ErrUntrustedCertificate):
		return roster.Errorf(roster.EUNAUTHENTICATED, "The SAML response's signature does not match the identity provider's certificate: it was forged or altered, or the provider's certificate changed (an admin can update the connection's metadata)")
	case errors.Is(err, saml.ErrCertificateNotValidNow):
		return roster.Errorf(roster.EUNAUTHENTICATED, "The identity provider signed the SAML response with a certificate that has expired or is not valid yet: an admin must update it")
	case errors.Is(err, saml.ErrExpired):
		return roster.Errorf(roster.EUNAUTHENTICATED, "The SAML response has expired: start signing in again (if this keeps happening, the clocks of the identity provider and of Roster disagree)")
	case errors.Is(err, saml.ErrNotYetValid):
		return roster.Errorf(roster.EUNAUTHENTICATED, "The SAML response is not valid yet: the clocks of the identity provider and of Roster disagree")
	case errors.Is(err, saml.ErrAudienceMismatch):
		return roster.Errorf(roster.EUNAUTHENTICATED, "The SAML response is addressed to another service provider: its audience is not this connection's entity ID")
	case errors.Is(err, saml.ErrDestinationMismatch):
		return roster.Errorf(roster.EUNAUTHENTICATED, "The SAML response is addressed to another URL: its destination or recipient is not this server's assertion consumer service")
	case errors.Is(err, saml.ErrIssuerMismatch):
		return roster.Errorf(roster.EUNAUTHENTICATED, "The SAML response's assertion comes from another identity provider than the connection's")
	case errors.Is(err, saml.ErrRequestIDMismatch) && inResponseTo == "":
		return roster.Errorf(roster.EUNAUTHENTICATED, "The identity provider started this sign-in (IdP-initiated), and this connection does not allow that: start signing in from Roster")
	case errors.Is(err, saml.ErrRequestIDMismatch):
		return roster.Errorf(roster.EUNAUTHENTICATED, "The SAML response answers a sign-in this server did not start: start signing in again")
	case errors.As(privateErr(err), &bad), errors.As(err, &bad):
		return roster.Errorf(roster.EUNAUTHENTICATED, "The identity provider did not sign you in (status %s)", bad.Status)
	case errors.Is(err, saml.ErrMalformedMessage), errors.Is(err, saml.ErrMissingElement):
		return roster.Errorf(roster.EUNAUTHENTICATED, "The SAML response is malformed or lacks what a sign-in needs (a signed assertion with a subject and conditions)")
	default:
		return roster.Errorf(roster.EUNAUTHENTICATED, "The SAML response could not be verified")
	}
}

// replayCache records accepted assertion IDs in the database, for the
// connection: UseSSOAssertion refuses one seen before, on any replica.
type replayCache struct {
	ctx          context.Context
	db           *store.DB
	connectionID int64
}

func (r replayCache) Consume(assertionID string, expiresAt time.Time) error {
	err := r.db.UseSSOAssertion(r.ctx, r.connectionID, assertionID, expiresAt)
	if errors.Is(err, store.ErrUnique) {
		return saml.ErrAssertionReplayed
	}
	return err
}

// The attribute names providers give the address and the name: the SAML
// convention ("email", LDAP's mail and its OID), and the claim URIs of
// Entra ID and AD FS (Okta sends what its app's attribute statements say).
var (
	emailAttributes = []string{"email", "mail", "emailaddress", "urn:oid:0.9.2342.19200300.100.1.3",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"}
	nameAttributes = []string{"name", "displayName", "cn", "urn:oid:2.16.840.1.113730.3.1.241", "urn:oid:2.5.4.3",
		"http://schemas.microsoft.com/identity/claims/displayname", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"}
)

// samlIdentity is the address and name the assertion gives: the NameID
// when its format is emailAddress, else the first email attribute.
func samlIdentity(a *saml.Assertion) (email, name string) {
	if a.Subject != nil && a.Subject.NameID != nil && a.Subject.NameID.Format == string(saml.EmailAddressNameIDFormat) {
		email = strings.TrimSpace(a.Subject.NameID.Value)
	}
	if email == "" {
		email = attribute(a, emailAttributes)
	}
	name = attribute(a, nameAttributes)
	if name == "" {
		given, sur := attribute(a, []string{"givenName", "firstName", "urn:oid:2.5.4.42", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"}),
			attribute(a, []string{"sn", "surname", "lastName", "urn:oid:2.5.4.4", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"})
		name = strings.TrimSpace(given + " " + sur)
	}
	return email, name
}

// attribute is the first non-empty value of the first of names the
// assertion carries (by Name, or FriendlyName), case-insensitively.
func attribute(a *saml.Assertion, names []string) string {
	for _, n := range names {
		for _, st := range a.AttributeStatements {
			for _, at := range st.Attributes {
				if !strings.EqualFold(at.Name, n) && !strings.EqualFold(at.FriendlyName, n) {
					continue
				}
				for _, v := range at.Values {
					if s := strings.TrimSpace(v.Value); s != "" {
						return s
					}
				}
			}
		}
	}
	return ""
}
