package sso

import (
	"context"
	"fmt"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/emailaddr"
	"github.com/rosterhq/roster/store"
)

// Requiring single sign-on (issue 22). While an account requires it, a
// member whose address is on one of the account's verified domains acts in
// the account only through a session that came through one of its
// connections: the check index knows who is bound (authz.Facts.OnDomain),
// the gate knows how the session signed in, and authz.Decide is the rule.
// The owner is never bound (a password path for when the provider is
// down); each session that takes that path in the account is audited and
// mailed to the owner and admins, once.

// SetRequireSSO turns on or off the account's requirement of its single
// sign-on for the members on its verified domains; the check index knows
// it before this returns, and the owner and admins are mailed. The caller
// holds team.edit; viaSSO says whether the caller's session came through
// the account's single sign-on. Turning it on needs a verified domain
// (else EDOMAINUNVERIFIED) and an enabled connection (else ECONFLICT),
// and a caller who would be bound must be signed in through it (else
// ECONFLICT): no one locks themselves out.
func (s *SSO) SetRequireSSO(ctx context.Context, a roster.Account, caller roster.User, callerRole roster.Role, viaSSO, on bool, actor roster.Actor) (roster.Account, error) {
	if a.RequireSSO == on {
		return a, nil
	}
	err := s.c.Write(ctx, func(tx *store.Tx) error {
		if on {
			if n, err := tx.CountVerifiedDomains(ctx, a.Seq); err != nil {
				return err
			} else if n == 0 {
				return roster.Errorf(roster.EDOMAINUNVERIFIED, "Verify a domain first: single sign-on is required of the members whose addresses are on the account's verified domains")
			}
			if n, err := tx.CountEnabledSSOConnections(ctx, a.Seq); err != nil {
				return err
			} else if n == 0 {
				return roster.Errorf(roster.ECONFLICT, "Add and enable a single sign-on connection first: requiring it now would leave your members no way to sign in")
			}
			if callerRole != roster.RoleOwner && !viaSSO {
				bound, err := s.onVerifiedDomain(ctx, a, caller.Email)
				if err != nil {
					return err
				}
				if bound {
					return roster.Errorf(roster.ECONFLICT, "Sign in through single sign-on first: requiring it would lock you out of this session")
				}
			}
		}
		if err := tx.SetRequireSSO(ctx, a.Seq, on); err != nil {
			return err
		}
		a.RequireSSO = on
		if err := tx.Audit(ctx, a.Seq, actor, roster.ActionAccountRequireSso, a.ID, fmt.Sprint(on)); err != nil {
			return err
		}
		subject := fmt.Sprintf("%s now requires single sign-on", a.Name)
		body := fmt.Sprintf("%s turned on the requirement of single sign-on for the account %s: members whose addresses are on its verified domains now sign in through the account's identity provider; their other sessions and their personal API keys stop working in the account. The owner keeps signing in with a password when needed (each such session is reported to you).", actor.Email, a.Name)
		if !on {
			subject = fmt.Sprintf("%s no longer requires single sign-on", a.Name)
			body = fmt.Sprintf("%s turned off the requirement of single sign-on for the account %s: its members may sign in with a password again.", actor.Email, a.Name)
		}
		return mailAdmins(ctx, tx, a, subject, body)
	})
	return a, err
}

// onVerifiedDomain reports whether the address is on one of the account's
// verified domains.
func (s *SSO) onVerifiedDomain(ctx context.Context, a roster.Account, email string) (bool, error) {
	ds, err := s.c.DB.Domains(ctx, a.Seq)
	if err != nil {
		return false, err
	}
	d := emailaddr.Domain(email)
	for _, x := range ds {
		if x.Status == roster.DomainVerified && x.Domain == d {
			return true, nil
		}
	}
	return false, nil
}

// SSORequired is the refusal of a member bound to the account's single
// sign-on who came another way: it names the account and its provider
// (the enabled connections' names). Always an ESSOREQUIRED error.
func (s *SSO) SSORequired(ctx context.Context, a roster.Account) error {
	var names []string
	if cs, err := s.c.DB.SSOConnections(ctx, a.Seq); err == nil {
		for _, c := range cs {
			if c.Enabled {
				names = append(names, c.Name)
			}
		}
	}
	provider := "its identity provider"
	if len(names) > 0 {
		provider = strings.Join(names, " or ")
	}
	return roster.Errorf(roster.ESSOREQUIRED, "The account %s requires single sign-on through %s: sign in with single sign-on", a.Name, provider)
}

// OwnerBypass records that the owner acts in an account that requires
// single sign-on through a session that did not come through it. The
// first time for the session and account (on any replica) it writes the
// audit event login.sso_bypass and mails the owner and admins; after that
// it costs one read.
func (s *SSO) OwnerBypass(ctx context.Context, a roster.Account, owner roster.User, sessionID int64, ip string) error {
	if seen, err := s.c.DB.SSOBypassRecorded(ctx, sessionID, a.Seq); err != nil {
		return err
	} else if seen {
		return nil
	}
	var first bool
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		if first, err = tx.RecordSSOBypass(ctx, sessionID, a.Seq); err != nil || !first {
			return err
		}
		if err := tx.Audit(ctx, a.Seq, roster.Actor{UserID: owner.ID, Email: owner.Email, IP: ip}, roster.ActionLoginSsoBypass, owner.Email,
			"the owner signed in without single sign-on"); err != nil {
			return err
		}
		return mailAdmins(ctx, tx, a, fmt.Sprintf("The owner of %s signed in without single sign-on", a.Name),
			fmt.Sprintf("%s, the owner of %s, is using the account through a session that did not come through its single sign-on (from %s). The account requires single sign-on; its owner keeps a password path for when the identity provider is down. If you did not expect this, check the account's audit log and the owner's sessions.", owner.Email, a.Name, ip))
	})
	return err
}

// mailAdmins mails the account's owner and admins in tx, the transaction
// of the change. Such mail follows a deliberate act (a setting, a
// session), at most once per act, so it is not held back by the limits.
func mailAdmins(ctx context.Context, tx *store.Tx, a roster.Account, subject, body string) error {
	return tx.QueueMailToMembers(ctx, a.Seq, []roster.Role{roster.RoleOwner, roster.RoleAdmin}, subject,
		fmt.Sprintf("Hello,\n\n%s\n\nThe Roster team\n", body))
}
