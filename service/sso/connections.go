package sso

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/store"
	"github.com/rosterhq/roster/webhook"
)

// fetchTimeout bounds every request to an identity provider (discovery,
// keys, token exchange, metadata), connecting included.
const fetchTimeout = 10 * time.Second

// maxConnections is the most connections an account may have.
const maxConnections = 10

// client fetches what an account's connection names: https and globally
// reachable addresses only unless Config.SSOAllowPrivate, bounded in time
// and size (webhook.SafeClient: the rule webhooks follow).
func (s *SSO) client() *http.Client {
	return webhook.SafeClient(s.c.Config.SSOAllowPrivate, fetchTimeout, s.c.Config.DNSResolver)
}

// ConnectionInput is a new connection. The fields of the other protocol
// must be empty.
type ConnectionInput struct {
	Type        string
	Name        string
	DefaultRole string // a role name; "" or "none": people who are not members ask an admin
	CountsAsMFA bool

	Issuer, ClientID, ClientSecret string // OIDC

	MetadataXML, MetadataURL string // SAML: one of them
	AllowIdPInitiated        bool
}

// ConnectionChange is a PATCH: nil fields stay.
type ConnectionChange struct {
	Name              *string
	Enabled           *bool
	DefaultRole       *string
	CountsAsMFA       *bool
	ClientSecret      *string
	MetadataXML       *string
	MetadataURL       *string
	AllowIdPInitiated *bool
}

// defaultRole parses a connection's default role: a role name, "" (or
// "none") for none, never the owner's. Errors: EINVALID.
func defaultRole(s string) (roster.Role, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return roster.RoleNone, nil
	}
	r, err := roster.ParseRole(s)
	if err != nil {
		return 0, roster.FieldErrorf("default_role", roster.EINVALID, "Unknown role %q: use one of admin, developer, finance_analyst, support, or none", s)
	}
	if r == roster.RoleOwner {
		return 0, roster.FieldErrorf("default_role", roster.EINVALID, "Single sign-on cannot make anyone the owner: choose another default role")
	}
	return r, nil
}

func required(field, what, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", roster.FieldErrorf(field, roster.EINVALID, "The %s is required", what)
	}
	if len(v) > 2000 || strings.ContainsAny(v, "\r\n\x00") {
		return "", roster.FieldErrorf(field, roster.EINVALID, "The %s is longer than 2000 characters or holds a line break", what)
	}
	return v, nil
}

// checkIssuer fetches the issuer's discovery document and checks it (the
// issuer it names must be the one given). Errors: EINVALID, ESSOINVALID
// with the reason.
func (s *SSO) checkIssuer(ctx context.Context, issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil {
		return roster.FieldErrorf("issuer", roster.EINVALID, "The issuer must be an absolute https:// URL without credentials")
	}
	if u.Scheme != "https" && !s.c.Config.SSOAllowPrivate {
		return roster.FieldErrorf("issuer", roster.ESSOINVALID, "The issuer must use https")
	}
	_, err = s.provider(ctx, issuer)
	return err
}

// provider reads the issuer's discovery document through the safe
// client. Errors: ESSOINVALID with the reason.
func (s *SSO) provider(ctx context.Context, issuer string) (*oidc.Provider, error) {
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, s.client()), issuer)
	if err != nil {
		return nil, roster.FieldErrorf("issuer", roster.ESSOINVALID, "The issuer's OpenID Connect discovery document could not be used: %s", reason(err))
	}
	return p, nil
}

// reason is an error from fetching a provider's document, in words.
func reason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return "the request timed out"
		}
		msg := ue.Err.Error()
		if strings.Contains(msg, "address not allowed") {
			return "its host is a private, loopback or link-local address, or one reserved for special use: identity providers must be globally reachable"
		}
		if strings.Contains(msg, "not https") {
			return "it must use https"
		}
		return msg
	}
	return err.Error()
}

// readMetadata reads SAML metadata from the XML given or from the URL
// (through the safe client) and returns the XML and the provider's
// entity ID. Errors: EINVALID, ESSOINVALID with the reason.
func (s *SSO) readMetadata(ctx context.Context, xml, rawURL string) (string, string, error) {
	xml, rawURL = strings.TrimSpace(xml), strings.TrimSpace(rawURL)
	switch {
	case xml != "" && rawURL != "":
		return "", "", roster.FieldErrorf("metadata_url", roster.EINVALID, "Give the metadata either as XML or as a URL, not both")
	case xml == "" && rawURL == "":
		return "", "", roster.FieldErrorf("metadata_xml", roster.EINVALID, "The identity provider's metadata is required, as XML or as a URL")
	case rawURL != "":
		u, err := url.Parse(rawURL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || len(rawURL) > 2000 {
			return "", "", roster.FieldErrorf("metadata_url", roster.EINVALID, "The metadata URL must be an absolute https:// URL without credentials")
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return "", "", roster.FieldErrorf("metadata_url", roster.EINVALID, "The metadata URL must be an absolute https:// URL without credentials")
		}
		resp, err := s.client().Do(req)
		if err != nil {
			return "", "", roster.FieldErrorf("metadata_url", roster.ESSOINVALID, "The metadata could not be fetched: %s", reason(err))
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return "", "", roster.FieldErrorf("metadata_url", roster.ESSOINVALID, "The metadata could not be read: %s", reason(err))
		}
		if resp.StatusCode != http.StatusOK {
			return "", "", roster.FieldErrorf("metadata_url", roster.ESSOINVALID, "The metadata URL answered HTTP %d", resp.StatusCode)
		}
		xml = string(body)
	}
	if len(xml) > webhook.SafeMaxBody {
		return "", "", roster.FieldErrorf("metadata_xml", roster.ESSOINVALID, "The metadata is larger than 1 MiB")
	}
	ed, err := samlsp.ParseMetadata([]byte(xml))
	if err != nil {
		return "", "", roster.FieldErrorf("metadata_xml", roster.ESSOINVALID, "The metadata is not SAML 2.0 metadata: %s", err)
	}
	if err := usableIdP(ed); err != nil {
		return "", "", err
	}
	return xml, ed.EntityID, nil
}

// usableIdP checks that metadata describes an identity provider Roster
// can use: an entity ID, a signing certificate and a single sign-on
// endpoint. Errors: ESSOINVALID.
func usableIdP(ed *saml.EntityDescriptor) error {
	if ed.EntityID == "" {
		return roster.FieldErrorf("metadata_xml", roster.ESSOINVALID, "The metadata names no entity ID")
	}
	if len(ed.IDPSSODescriptors) == 0 {
		return roster.FieldErrorf("metadata_xml", roster.ESSOINVALID, "The metadata describes no identity provider")
	}
	certs, sso := 0, 0
	for _, d := range ed.IDPSSODescriptors {
		sso += len(d.SingleSignOnServices)
		for _, k := range d.KeyDescriptors {
			if k.Use == "" || k.Use == "signing" {
				certs += len(k.KeyInfo.X509Data.X509Certificates)
			}
		}
	}
	if certs == 0 {
		return roster.FieldErrorf("metadata_xml", roster.ESSOINVALID, "The metadata holds no signing certificate")
	}
	if sso == 0 {
		return roster.FieldErrorf("metadata_xml", roster.ESSOINVALID, "The metadata names no single sign-on endpoint")
	}
	return nil
}

// needVerifiedDomain refuses an account that has verified no domain: a
// connection vouches only for addresses on the account's domains.
func needVerifiedDomain(ctx context.Context, tx *store.Tx, accountSeq int64) error {
	n, err := tx.CountVerifiedDomains(ctx, accountSeq)
	if err != nil {
		return err
	}
	if n == 0 {
		return roster.Errorf(roster.EDOMAINUNVERIFIED, "Verify a domain first: single sign-on signs in only addresses on the account's verified domains")
	}
	return nil
}

// CreateConnection adds a single sign-on connection, enabled. OIDC: the
// issuer's discovery document is fetched and checked; SAML: the
// metadata is read (from the XML or the URL) and checked. The caller
// holds team.edit. Errors: EINVALID, EDOMAINUNVERIFIED (no verified
// domain), ESSOINVALID (discovery or metadata unusable, with the reason).
func (s *SSO) CreateConnection(ctx context.Context, a roster.Account, in ConnectionInput, actor roster.Actor) (roster.SSOConnection, error) {
	name, err := core.CleanName(in.Name, "connection's name")
	if err != nil {
		return roster.SSOConnection{}, err
	}
	role, err := defaultRole(in.DefaultRole)
	if err != nil {
		return roster.SSOConnection{}, err
	}
	c := roster.SSOConnection{AccountSeq: a.Seq, Type: roster.SSOType(in.Type), Name: name, Enabled: true, DefaultRole: role, CountsAsMFA: in.CountsAsMFA}
	// The cheap refusal first: no fetch for an account that cannot have one.
	if err := s.c.DB.Transact(ctx, func(tx *store.Tx) error { return needVerifiedDomain(ctx, tx, a.Seq) }); err != nil {
		return roster.SSOConnection{}, err
	}
	if all, err := s.c.DB.SSOConnections(ctx, a.Seq); err != nil {
		return c, err
	} else if len(all) >= maxConnections {
		return c, roster.Errorf(roster.EINVALID, "An account has at most %d single sign-on connections", maxConnections)
	}
	switch c.Type {
	case roster.SSOOIDC:
		if in.MetadataXML != "" || in.MetadataURL != "" || in.AllowIdPInitiated {
			return c, roster.FieldErrorf("metadata_xml", roster.EINVALID, "An OpenID Connect connection takes no SAML metadata")
		}
		if c.Issuer, err = required("issuer", "issuer", strings.TrimRight(in.Issuer, "/")); err != nil {
			return c, err
		}
		if c.ClientID, err = required("client_id", "client ID", in.ClientID); err != nil {
			return c, err
		}
		if c.ClientSecret, err = required("client_secret", "client secret", in.ClientSecret); err != nil {
			return c, err
		}
		if err := s.checkIssuer(ctx, c.Issuer); err != nil {
			return c, err
		}
	case roster.SSOSAML:
		if in.Issuer != "" || in.ClientID != "" || in.ClientSecret != "" {
			return c, roster.FieldErrorf("issuer", roster.EINVALID, "A SAML connection takes no issuer, client ID or secret: give its metadata")
		}
		c.AllowIdPInitiated, c.MetadataURL = in.AllowIdPInitiated, strings.TrimSpace(in.MetadataURL)
		if c.MetadataXML, c.IdPEntityID, err = s.readMetadata(ctx, in.MetadataXML, in.MetadataURL); err != nil {
			return c, err
		}
	default:
		return c, roster.FieldErrorf("type", roster.EINVALID, "The type must be oidc or saml")
	}
	// c is the input of every attempt (a serialization failure runs the
	// transaction again): what it makes goes to out.
	var out roster.SSOConnection
	err = s.c.Write(ctx, func(tx *store.Tx) error {
		if err := needVerifiedDomain(ctx, tx, a.Seq); err != nil {
			return err
		}
		var err error
		if out, err = tx.CreateSSOConnection(ctx, c); err != nil {
			return err
		}
		return tx.Audit(ctx, a.Seq, actor, roster.ActionSSOConnectionCreate, fmt.Sprint(out.ID), string(out.Type)+" "+out.Name)
	})
	if err != nil {
		return c, err
	}
	return out, nil
}

// Connections lists the account's connections, oldest first. The caller
// holds team.edit.
func (s *SSO) Connections(ctx context.Context, a roster.Account) ([]roster.SSOConnection, error) {
	return s.c.DB.SSOConnections(ctx, a.Seq)
}

// Connection returns one of the account's connections. Errors: ENOTFOUND.
func (s *SSO) Connection(ctx context.Context, a roster.Account, id int64) (roster.SSOConnection, error) {
	var c roster.SSOConnection
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		c, err = tx.SSOConnection(ctx, a.Seq, id)
		return err
	})
	return c, core.DBErr(err, "No such single sign-on connection")
}

// UpdateConnection changes a connection. Turning it off ends the sessions
// it made. New SAML metadata is read and checked as at creation. The
// caller holds team.edit. Errors: EINVALID, ENOTFOUND, ESSOINVALID.
func (s *SSO) UpdateConnection(ctx context.Context, a roster.Account, id int64, ch ConnectionChange, actor roster.Actor) (roster.SSOConnection, error) {
	c, err := s.Connection(ctx, a, id)
	if err != nil {
		return c, err
	}
	var changed []string
	if ch.Name != nil {
		if c.Name, err = core.CleanName(*ch.Name, "connection's name"); err != nil {
			return c, err
		}
		changed = append(changed, "name")
	}
	if ch.DefaultRole != nil {
		if c.DefaultRole, err = defaultRole(*ch.DefaultRole); err != nil {
			return c, err
		}
		changed = append(changed, "default role "+RoleName(c.DefaultRole))
	}
	if ch.CountsAsMFA != nil {
		c.CountsAsMFA = *ch.CountsAsMFA
		changed = append(changed, fmt.Sprintf("counts as MFA %t", c.CountsAsMFA))
	}
	if ch.ClientSecret != nil {
		if c.Type != roster.SSOOIDC {
			return c, roster.FieldErrorf("client_secret", roster.EINVALID, "Only an OpenID Connect connection has a client secret")
		}
		if c.ClientSecret, err = required("client_secret", "client secret", *ch.ClientSecret); err != nil {
			return c, err
		}
		changed = append(changed, "client secret")
	}
	if ch.MetadataXML != nil || ch.MetadataURL != nil || ch.AllowIdPInitiated != nil {
		if c.Type != roster.SSOSAML {
			return c, roster.FieldErrorf("metadata_xml", roster.EINVALID, "Only a SAML connection has metadata")
		}
	}
	if ch.MetadataXML != nil || ch.MetadataURL != nil {
		var x, u string
		if ch.MetadataXML != nil {
			x = *ch.MetadataXML
		}
		if ch.MetadataURL != nil {
			u = *ch.MetadataURL
		}
		if c.MetadataXML, c.IdPEntityID, err = s.readMetadata(ctx, x, u); err != nil {
			return c, err
		}
		c.MetadataURL = strings.TrimSpace(u)
		changed = append(changed, "metadata")
	}
	if ch.AllowIdPInitiated != nil {
		c.AllowIdPInitiated = *ch.AllowIdPInitiated
		changed = append(changed, fmt.Sprintf("IdP-initiated %t", c.AllowIdPInitiated))
	}
	ended := false
	if ch.Enabled != nil && *ch.Enabled != c.Enabled {
		c.Enabled = *ch.Enabled
		ended = !c.Enabled
		changed = append(changed, map[bool]string{true: "enabled", false: "disabled"}[c.Enabled])
	}
	err = s.c.Write(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateSSOConnection(ctx, c); err != nil {
			return err
		}
		if ended {
			if _, err := tx.EndSSOSessions(ctx, c.ID); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, a.Seq, actor, roster.ActionSSOConnectionUpdate, fmt.Sprint(c.ID), strings.Join(changed, ", "))
	})
	return c, core.DBErr(err, "No such single sign-on connection")
}

// DeleteConnection removes a connection and ends the sessions it made.
// The caller holds team.edit. Errors: ENOTFOUND.
func (s *SSO) DeleteConnection(ctx context.Context, a roster.Account, id int64, actor roster.Actor) error {
	err := s.c.Write(ctx, func(tx *store.Tx) error {
		c, err := tx.SSOConnection(ctx, a.Seq, id)
		if err != nil {
			return err
		}
		// The sessions go with it (ON DELETE CASCADE); ended first all the
		// same, so the rule does not rest on the schema alone.
		if _, err := tx.EndSSOSessions(ctx, c.ID); err != nil {
			return err
		}
		if err := tx.DeleteSSOConnection(ctx, a.Seq, id); err != nil {
			return err
		}
		return tx.Audit(ctx, a.Seq, actor, roster.ActionSSOConnectionDelete, fmt.Sprint(id), string(c.Type)+" "+c.Name)
	})
	return core.DBErr(err, "No such single sign-on connection")
}

// RoleName is a connection's default role as the API names it: "" for
// none.
func RoleName(r roster.Role) string {
	if r == roster.RoleNone {
		return ""
	}
	return r.String()
}
