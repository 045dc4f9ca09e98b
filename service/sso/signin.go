package sso

import (
	"context"
	"errors"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/emailaddr"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/service/internal/guard"
	"github.com/rosterhq/roster/store"
)

// SignIn is what a provider vouched for: the address (already checked by the protocol) and a display name ("" when none).
type SignIn struct{ Email, Name, IP, UserAgent string }

// SignedIn is where the browser goes: a session token and the account it lands on ("" when the person is not a member and cannot join: then Err explains, e.g. "ask an admin").
type SignedIn struct {
	Session   string
	User      roster.User
	AccountID string
}

// finish is the end both protocols share, once the provider's answer is
// checked: the address's domain must be verified by the connection's
// account (EUNAUTHENTICATED otherwise); the user with the address is
// found or made (no password, address verified: the provider vouched for
// it); a person who is not a member joins with the connection's default
// role when it has one and the account is on the committed plan, else
// EFORBIDDEN saying to ask an admin; then a session recording the
// connection starts (audited login.sso). One transaction: on any refusal
// nothing is created.
func (s *SSO) finish(ctx context.Context, c roster.SSOConnection, in SignIn) (SignedIn, error) {
	email, err := emailaddr.Normalize(in.Email)
	if err != nil {
		return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED, "The identity provider sent an address that is not valid")
	}
	domain := emailaddr.Domain(email)
	d, err := s.c.DB.VerifiedDomain(ctx, domain)
	if errors.Is(err, store.ErrNoRows) || err == nil && d.AccountSeq != c.AccountSeq {
		return SignedIn{}, roster.Errorf(roster.EUNAUTHENTICATED,
			"The address %s is not on a domain this account has verified, so its single sign-on cannot vouch for it", email)
	} else if err != nil {
		return SignedIn{}, err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = strings.SplitN(email, "@", 2)[0]
	}
	if name, err = core.CleanMailName(name, email, "name"); err != nil {
		name = strings.SplitN(email, "@", 2)[0]
	}

	var out SignedIn
	token, tokenHash := core.NewToken()
	err = s.c.Write(ctx, func(tx *store.Tx) error {
		// Read again in the transaction: a connection turned off or
		// removed since the flow started makes no session.
		if now, err := tx.SSOConnection(ctx, c.AccountSeq, c.ID); errors.Is(err, store.ErrNoRows) || err == nil && !now.Enabled {
			return roster.Errorf(roster.EUNAUTHENTICATED, "This single sign-on connection was turned off or removed")
		} else if err != nil {
			return err
		}
		a, err := tx.AccountBySeq(ctx, c.AccountSeq)
		if err != nil {
			return err
		}
		uid, err := tx.UserIDByEmail(ctx, email)
		member := false
		if err == nil {
			_, err = tx.MemberRole(ctx, a.Seq, uid)
			member = err == nil
			if errors.Is(err, store.ErrNoRows) {
				err = nil
			}
		} else if errors.Is(err, store.ErrNoRows) {
			uid, err = 0, nil
		}
		if err != nil {
			return err
		}
		if !member && (c.DefaultRole == roster.RoleNone || c.DefaultRole == roster.RoleOwner || a.Plan != roster.PlanCommitted) {
			return roster.Errorf(roster.EFORBIDDEN,
				"You are not a member of %s yet: ask an admin of the account to invite you", a.Name)
		}
		if uid, _, err = s.c.FindOrMakeUser(ctx, tx, email, name); err != nil {
			return err
		}
		actor := roster.Actor{UserID: uid, Email: email, IP: in.IP}
		if !member {
			if err := s.c.AddJoined(ctx, tx, a, uid, email, c.DefaultRole); err != nil {
				return err
			}
			if err := tx.Audit(ctx, a.Seq, actor, roster.ActionMemberJoinSSO, email, c.DefaultRole.String()); err != nil {
				return err
			}
		}
		if err := tx.SetDefaultAccountIfNone(ctx, uid, a.Seq); err != nil {
			return err
		}
		if err := tx.CreateSSOSession(ctx, uid, tokenHash, s.c.Config.SessionTTL, in.IP, in.UserAgent, c.ID); err != nil {
			return err
		}
		if err := tx.RememberLogin(ctx, uid, guard.IPKey(in.IP)); err != nil {
			return err
		}
		if err := tx.MarkMemberSSO(ctx, a.Seq, uid); err != nil {
			return err
		}
		if err := tx.Audit(ctx, a.Seq, actor, roster.ActionLoginSSO, email, c.Name); err != nil {
			return err
		}
		out.User, err = tx.User(ctx, uid)
		out.AccountID = a.ID
		return err
	})
	if err != nil {
		return SignedIn{}, err
	}
	out.Session = token
	return out, nil
}
