package sso

import (
	"context"
	"errors"

	"github.com/rosterhq/roster/emailaddr"
	"github.com/rosterhq/roster/store"
)

// LoginOptions is what the console's login page may do for an address
// before any password is typed: offer single sign-on (SSO), or go
// straight to the provider (Required). It says no more than Start does
// (whether the address's domain has single sign-on) and whether the
// domain's account requires it: facts about the organization, the same
// for every address on the domain, never whether a person exists.
type LoginOptions struct {
	SSO      bool // Start would send this address to a provider
	Required bool // the domain's account requires single sign-on
}

// LoginOptionsFor answers the login page's first step for an address. An
// address that is not valid, or whose domain no account has verified with
// an enabled connection, has no options (no error: the password step
// follows, and says what is wrong).
func (s *SSO) LoginOptionsFor(ctx context.Context, rawEmail string) (LoginOptions, error) {
	email, err := emailaddr.Normalize(rawEmail)
	if err != nil {
		return LoginOptions{}, nil
	}
	d, err := s.c.DB.VerifiedDomain(ctx, emailaddr.Domain(email))
	if errors.Is(err, store.ErrNoRows) {
		return LoginOptions{}, nil
	} else if err != nil {
		return LoginOptions{}, err
	}
	var out LoginOptions
	err = s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		n, err := tx.CountEnabledSSOConnections(ctx, d.AccountSeq)
		if err != nil || n == 0 {
			return err
		}
		a, err := tx.AccountBySeq(ctx, d.AccountSeq)
		if err != nil {
			return err
		}
		out = LoginOptions{SSO: true, Required: a.RequireSSO}
		return nil
	})
	return out, err
}
