package service

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/emailaddr"
	"github.com/rosterhq/roster/mail"
	"github.com/rosterhq/roster/store"
)

// passwordParams: argon2id as OWASP recommends (19 MiB, 2 passes, 1 lane).
var passwordParams = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// dummyHash is compared against when no user has the address, so a login
// for an unknown address takes as long as one for a known one.
var dummyHash, _ = argon2id.CreateHash("not a password of anyone", passwordParams)

func checkPassword(pw string) error {
	if utf8.RuneCountInString(pw) < 10 {
		return roster.Errorf(roster.EINVALID, "password must be at least 10 characters")
	}
	if len(pw) > 1024 {
		return roster.Errorf(roster.EINVALID, "password must be at most 1024 bytes")
	}
	return nil
}

// SignupInput is what a person gives to sign up.
type SignupInput struct {
	Email, Password, Name string
	InvitationToken       string // optional: sign up from an invitation
}

// SignupResult is what a sign-up made. Session is set when the sign-up came
// from an invitation (the token proved the address, so the user is signed in).
type SignupResult struct {
	User       roster.User
	Account    roster.Account // the joined or created account; empty when hidden
	Session    string
	Registered bool // false when the address already had a user (not told to the caller)
}

// Signup creates a user. Without an invitation it also creates their own
// account (they are its owner, standard plan) and mails a verification
// link; when the address is already registered it answers the same way and
// mails the owner of the address instead, so sign-up never reveals who is
// registered. With an invitation token the address is the invitation's, the
// user is verified, joins the account and gets no account of their own.
//
// Errors: EINVALID, EPERSONALDOMAIN, EINVITEINVALID, EFORBIDDEN (email
// differs from the invitation's), ECONFLICT (invitation's address already
// has a user: log in and accept), EPLANREQUIRED.
func (s *Service) Signup(ctx context.Context, in SignupInput, ip string) (SignupResult, error) {
	if in.InvitationToken != "" {
		return s.signupFromInvitation(ctx, in, ip)
	}
	email, err := s.workEmail(in.Email)
	if err != nil {
		return SignupResult{}, err
	}
	name, err := cleanName(in.Name, "name")
	if err != nil {
		return SignupResult{}, err
	}
	if err := checkPassword(in.Password); err != nil {
		return SignupResult{}, err
	}
	hash, err := argon2id.CreateHash(in.Password, passwordParams)
	if err != nil {
		return SignupResult{}, err
	}
	var res SignupResult
	token, tokenHash := NewToken()
	err = s.write(ctx, func(tx *store.Tx) error {
		uid, err := tx.CreateUser(ctx, email, name, hash, false)
		if err != nil {
			return err // ErrUnique: answered below without revealing it
		}
		a, err := tx.CreateAccount(ctx, name+"'s account", uid)
		if err != nil {
			return err
		}
		if err := tx.SetDefaultAccount(ctx, uid, a.Seq); err != nil {
			return err
		}
		if err := tx.CreateVerification(ctx, uid, tokenHash, s.Config.VerifyTTL); err != nil {
			return err
		}
		actor := roster.Actor{UserID: uid, Email: email, IP: ip}
		if err := tx.Audit(ctx, a.Seq, actor, "account.create", a.ID, "sign-up"); err != nil {
			return err
		}
		res.User, err = tx.User(ctx, uid)
		res.Account, res.Registered = a, true
		return err
	})
	if errors.Is(err, store.ErrUnique) {
		s.signupAgain(ctx, email)
		return SignupResult{User: roster.User{Email: email, Name: name}}, nil
	} else if err != nil {
		return SignupResult{}, err
	}
	s.sendVerification(ctx, email, name, token)
	return res, nil
}

// signupAgain answers a sign-up for a registered address by mail only: a
// fresh verification link when the address is not verified yet (the first
// mail may have been lost), else a note that someone tried.
func (s *Service) signupAgain(ctx context.Context, email string) {
	u, _, err := s.DB.UserByEmail(ctx, email)
	if err != nil {
		s.Log.Error("sign-up of a registered address", "err", err)
		return
	}
	if !u.EmailVerified {
		token, tokenHash := NewToken()
		err := s.DB.Transact(ctx, func(tx *store.Tx) error { return tx.CreateVerification(ctx, u.ID, tokenHash, s.Config.VerifyTTL) })
		if err != nil {
			s.Log.Error("new verification link", "err", err)
			return
		}
		s.sendVerification(ctx, email, u.Name, token)
		return
	}
	s.send(ctx, mail.Message{To: email, Subject: "Someone tried to sign up with your address",
		Text: fmt.Sprintf("Someone, perhaps you, tried to sign up for Roster with %s, which already has a login.\n\n"+
			"If it was you, log in at %s/login.\nIf it was not, you can ignore this mail.\n", email, s.Config.BaseURL)})
}

func (s *Service) sendVerification(ctx context.Context, email, name, token string) {
	s.send(ctx, mail.Message{To: email, Subject: "Verify your email address",
		Text: fmt.Sprintf("Welcome to Roster, %s.\n\nVerify your address to log in:\n%s\n\nThe link works for %s.\n",
			name, s.link("verify", token), s.Config.VerifyTTL)})
}

func (s *Service) signupFromInvitation(ctx context.Context, in SignupInput, ip string) (SignupResult, error) {
	name, err := cleanName(in.Name, "name")
	if err != nil {
		return SignupResult{}, err
	}
	if err := checkPassword(in.Password); err != nil {
		return SignupResult{}, err
	}
	hash, err := argon2id.CreateHash(in.Password, passwordParams)
	if err != nil {
		return SignupResult{}, err
	}
	var res SignupResult
	session, sessionHash := NewToken()
	err = s.write(ctx, func(tx *store.Tx) error {
		inv, seq, err := s.usableInvitation(ctx, tx, in.InvitationToken)
		if err != nil {
			return err
		}
		if in.Email != "" {
			if email, err := emailaddr.Normalize(in.Email); err != nil || email != inv.Email {
				return roster.Errorf(roster.EFORBIDDEN, "this invitation is for %s; sign up with that address", inv.Email)
			}
		}
		uid, err := tx.CreateUser(ctx, inv.Email, name, hash, true)
		if errors.Is(err, store.ErrUnique) {
			return roster.Errorf(roster.ECONFLICT, "%s already has a login: log in and accept the invitation", inv.Email)
		} else if err != nil {
			return err
		}
		if err := s.join(ctx, tx, inv, seq, uid, ip); err != nil {
			return err
		}
		if err := tx.SetDefaultAccount(ctx, uid, seq); err != nil {
			return err
		}
		if err := tx.CreateSession(ctx, uid, sessionHash, s.Config.SessionTTL); err != nil {
			return err
		}
		res.User, err = tx.User(ctx, uid)
		if err != nil {
			return err
		}
		res.Account, err = tx.Account(ctx, inv.AccountID)
		return err
	})
	if err != nil {
		return SignupResult{}, err
	}
	res.Session, res.Registered = session, true
	return res, nil
}

// VerifyEmail uses a verification token. Errors: EINVALID for an unknown,
// used or expired token.
func (s *Service) VerifyEmail(ctx context.Context, token string) (roster.User, error) {
	var u roster.User
	err := s.DB.Transact(ctx, func(tx *store.Tx) error {
		uid, err := tx.UseVerification(ctx, HashToken(token))
		if errors.Is(err, store.ErrNoRows) {
			return roster.Errorf(roster.EINVALID, "this verification link is invalid, used or expired")
		} else if err != nil {
			return err
		}
		u, err = tx.User(ctx, uid)
		return err
	})
	return u, err
}

// Login checks the password and starts a session. An unknown address and
// a wrong password answer alike (EUNAUTHENTICATED); EEMAILUNVERIFIED only
// after the right password, so it reveals nothing to a stranger.
func (s *Service) Login(ctx context.Context, rawEmail, password, ip string) (string, roster.User, error) {
	bad := roster.Errorf(roster.EUNAUTHENTICATED, "wrong email or password")
	email, err := emailaddr.Normalize(rawEmail)
	if err != nil {
		argon2id.ComparePasswordAndHash(password, dummyHash)
		return "", roster.User{}, bad
	}
	u, hash, err := s.DB.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNoRows) {
		argon2id.ComparePasswordAndHash(password, dummyHash)
		return "", roster.User{}, bad
	} else if err != nil {
		return "", roster.User{}, err
	}
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	if err != nil {
		return "", roster.User{}, err
	}
	if !ok {
		return "", roster.User{}, bad
	}
	if !u.EmailVerified {
		return "", roster.User{}, roster.Errorf(roster.EEMAILUNVERIFIED, "verify your email address first: follow the link we mailed to %s", u.Email)
	}
	token, tokenHash := NewToken()
	ms, _, err := s.DB.Memberships(ctx, u.ID, roster.Page{Limit: 1000})
	if err != nil {
		return "", roster.User{}, err
	}
	err = s.DB.Transact(ctx, func(tx *store.Tx) error {
		if err := tx.CreateSession(ctx, u.ID, tokenHash, s.Config.SessionTTL); err != nil {
			return err
		}
		for _, m := range ms {
			if err := tx.Audit(ctx, m.Account.Seq, roster.Actor{UserID: u.ID, Email: u.Email, IP: ip}, "user.login", u.Email, ""); err != nil {
				return err
			}
		}
		return nil
	})
	return token, u, err
}

// Logout ends the session.
func (s *Service) Logout(ctx context.Context, session string) error {
	return s.DB.DeleteSession(ctx, HashToken(session))
}

// SessionUser returns the user of a live session. EUNAUTHENTICATED otherwise.
func (s *Service) SessionUser(ctx context.Context, session string) (roster.User, error) {
	u, err := s.DB.SessionUser(ctx, HashToken(session))
	if errors.Is(err, store.ErrNoRows) {
		return u, roster.Errorf(roster.EUNAUTHENTICATED, "log in first")
	}
	return u, err
}
