package sso

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/emailaddr"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/service/internal/guard"
	"github.com/rosterhq/roster/store"
)

// FlowTTL is how long a started sign-in may take to come back.
const FlowTTL = 10 * time.Minute

// BindingCookie names the cookie that binds a started sign-in to the
// browser that started it (login CSRF): the callback is refused in any
// other browser. It lives as long as a flow, HttpOnly, SameSite=Lax (the
// provider's redirect back is a top-level GET) and on the /sso/ paths.
const BindingCookie = "roster_sso" // edge.SSOBindingCookie sets it

// Started is a sign-in under way: where to send the browser, and the
// value of BindingCookie to set in it.
type Started struct {
	RedirectURL string
	Binding     string
	// SAML: the binding goes in the SAML cookie (edge.SetSAMLBinding),
	// which comes back on the provider's cross-site POST.
	SAML bool
}

// flowKey is what a flow is stored under: the hash of its state and the
// browser's binding together, so a flow is found only by the browser that
// started it.
func flowKey(state, binding string) []byte { return core.HashToken(state + "." + binding) }

// redirectURI is where providers send the browser back after OIDC.
func (s *SSO) redirectURI() string {
	return strings.TrimRight(s.c.Config.BaseURL, "/") + "/sso/oidc/callback"
}

// RedirectURI is the OIDC redirect URI to register at the provider.
func (s *SSO) RedirectURI() string { return s.redirectURI() }

// StartSSO begins single sign-on for an address, from the client ip: its
// domain must be verified by an account with an enabled connection (the
// oldest is used). Each start stores a flow and asks the provider, so a
// client makes at most guard.FlowStartsPerIP in guard.FlowStartWindow.
// Errors: EINVALID, ERATELIMITED (with RetryAfter), ESSONOTCONFIG,
// ESSOINVALID (the provider cannot be reached).
func (s *SSO) StartSSO(ctx context.Context, rawEmail, ip string) (Started, error) {
	if err := guard.New(s.c).Limit(ctx, "sso:ip:", guard.IPKey(ip), guard.FlowStartWindow, guard.FlowStartsPerIP, &s.c.Stats.SSOThrottled,
		"Too many single sign-on attempts from your network: try again in %s"); err != nil {
		return Started{}, err
	}
	none := roster.Errorf(roster.ESSONOTCONFIG, "Single sign-on is not set up for this address: log in with your password")
	email, err := emailaddr.Normalize(rawEmail)
	if err != nil {
		return Started{}, roster.FieldErrorf("email", roster.EINVALID, "Enter a valid email address")
	}
	d, err := s.c.DB.VerifiedDomain(ctx, emailaddr.Domain(email))
	if errors.Is(err, store.ErrNoRows) {
		return Started{}, none
	} else if err != nil {
		return Started{}, err
	}
	conns, err := s.c.DB.SSOConnections(ctx, d.AccountSeq)
	if err != nil {
		return Started{}, err
	}
	for _, c := range conns {
		if !c.Enabled {
			continue
		}
		switch c.Type {
		case roster.SSOOIDC:
			return s.StartOIDC(ctx, c, email)
		case roster.SSOSAML:
			to, binding, err := s.StartSAML(ctx, c)
			return Started{RedirectURL: to, Binding: binding, SAML: true}, err
		}
	}
	return Started{}, none
}

// StartOIDC begins an authorization-code sign-in with PKCE (S256), a
// state and a nonce; the flow is stored, for FlowTTL, under the state and
// the browser binding. loginHint is passed to the provider. Errors:
// ESSOINVALID (the provider's discovery failed).
func (s *SSO) StartOIDC(ctx context.Context, c roster.SSOConnection, loginHint string) (Started, error) {
	p, err := s.provider(ctx, c.Issuer)
	if err != nil {
		return Started{}, err
	}
	state, _ := core.NewToken()
	binding, _ := core.NewToken()
	nonce, _ := core.NewToken()
	verifier := oauth2.GenerateVerifier()
	if err := s.c.DB.CreateSSOFlow(ctx, flowKey(state, binding), store.SSOFlow{ConnectionID: c.ID, Verifier: verifier, Nonce: nonce}, FlowTTL); err != nil {
		return Started{}, err
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)}
	if loginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", loginHint))
	}
	return Started{RedirectURL: s.oauth(c, p).AuthCodeURL(state, opts...), Binding: binding}, nil
}

func (s *SSO) oauth(c roster.SSOConnection, p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: s.redirectURI(), Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
}

// Callback is what the provider's redirect back brings, with the
// browser's binding cookie ("" when it has none).
type Callback struct {
	State, Code             string
	Error, ErrorDescription string // the provider's refusal, when it sent one
	Binding, IP, UserAgent  string
}

// FinishOIDC ends an authorization-code sign-in: the flow is taken once
// (by its state and the browser's binding), the code exchanged with the
// verifier, the ID token checked by go-oidc (signature against the
// provider's keys, issuer, audience, expiry), its nonce matched, its
// email present and verified; then finish. Every refusal is
// EUNAUTHENTICATED in words (EFORBIDDEN from finish for a person who is
// not a member), and nothing is created.
func (s *SSO) FinishOIDC(ctx context.Context, cb Callback) (SignedIn, error) {
	if cb.State == "" {
		return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "This sign-in link is incomplete (no state): start again from the login page")
	}
	if cb.Binding == "" {
		return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "This browser did not start this sign-in (its sign-in cookie is missing): start again from the login page in this browser")
	}
	f, err := s.c.DB.TakeSSOFlow(ctx, flowKey(cb.State, cb.Binding))
	if errors.Is(err, store.ErrNoRows) {
		return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "This sign-in is unknown, was used already, expired or was started in another browser: start again from the login page")
	} else if err != nil {
		return SignedIn{}, err
	}
	if cb.Error != "" {
		return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "The identity provider refused the sign-in: %s", clip(cb.Error+" "+cb.ErrorDescription))
	}
	if cb.Code == "" {
		return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "The identity provider sent no authorization code: start again")
	}
	c, err := s.c.DB.SSOConnectionByID(ctx, f.ConnectionID)
	if errors.Is(err, store.ErrNoRows) || err == nil && (!c.Enabled || c.Type != roster.SSOOIDC) {
		return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "This single sign-on connection was turned off or removed")
	} else if err != nil {
		return SignedIn{}, err
	}
	p, err := s.provider(ctx, c.Issuer)
	if err != nil {
		return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "The identity provider could not be reached: try again later")
	}
	hctx := oidc.ClientContext(context.WithValue(ctx, oauth2.HTTPClient, s.client()), s.client())
	tok, err := s.oauth(c, p).Exchange(hctx, cb.Code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "The identity provider did not accept the authorization code: %s", clip(exchangeReason(err)))
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "The identity provider sent no ID token")
	}
	idt, err := p.VerifierContext(hctx, &oidc.Config{ClientID: c.ClientID}).Verify(hctx, raw)
	if err != nil {
		return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "The identity provider's ID token was refused: %s", clip(err.Error()))
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "The ID token's nonce does not match this sign-in: start again")
	}
	var claims struct {
		Email         string          `json:"email"`
		EmailVerified json.RawMessage `json:"email_verified"`
		EDOV          json.RawMessage `json:"xms_edov"`
		Name          string          `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil {
		return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "The ID token's claims could not be read")
	}
	if claims.Email == "" {
		// Providers that keep the ID token small answer the email claims
		// at the userinfo endpoint, for the same subject.
		ui, err := p.UserInfo(hctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "The identity provider's userinfo could not be read: %s", clip(err.Error()))
		}
		if ui.Subject != idt.Subject {
			return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "The identity provider's userinfo is about another subject than its ID token")
		}
		if err := ui.Claims(&claims); err != nil {
			return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "The identity provider's userinfo could not be read")
		}
	}
	if claims.Email == "" {
		return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "The identity provider did not say which email address signed in: ask your administrator to release the email claim")
	}
	if !claimTrue(claims.EmailVerified) && !claimTrue(claims.EDOV) {
		return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "The identity provider has not verified the address %s", clip(claims.Email))
	}
	return s.finish(ctx, c, SignIn{Email: claims.Email, Name: claims.Name, IP: cb.IP, UserAgent: cb.UserAgent})
}

// claimTrue reports whether a boolean claim is true, sent as JSON true or
// as the string "true" (some providers quote it). Entra ID never sends
// email_verified: its optional claim xms_edov ("email domain owner
// verified") says the same of the address, and is accepted as it.
func claimTrue(raw json.RawMessage) bool {
	return strings.Trim(string(raw), `"`) == "true"
}

// exchangeReason is the provider's words for a refused code exchange.
func exchangeReason(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode != "" {
		return strings.TrimSpace(re.ErrorCode + " " + re.ErrorDescription)
	}
	return err.Error()
}

// clip bounds what a provider or a browser sent before it is shown.
func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
