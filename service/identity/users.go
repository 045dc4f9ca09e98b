package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/emailaddr"
	"github.com/rosterhq/roster/mail"
	"github.com/rosterhq/roster/password"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/service/internal/guard"
	"github.com/rosterhq/roster/store"
)

// SignupInput is what a person gives to sign up.
type SignupInput struct {
	Email, Password, Name string
	InvitationToken       string // optional: sign up from an invitation
	UserAgent             string // of the client, for the session an invitation sign-up starts
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
// Sign-ups without an invitation are limited per client (ip's IPv4
// address or IPv6 /64) to Config.SignupsPerIP per Config.SignupWindow,
// counted once the input is good (a person correcting a typo is not held
// back) and before anything is hashed, written or sent. An invitation
// sign-up is not counted: it needs a live invitation, makes no account and
// sends no mail.
//
// Errors: EINVALID, EPERSONALDOMAIN, ERATELIMITED (with RetryAfter),
// EINVITEINVALID, EFORBIDDEN (email differs from the invitation's),
// ECONFLICT (invitation's address already has a user: log in and accept),
// EPLANREQUIRED, EUNAVAILABLE.
func (s *Identity) Signup(ctx context.Context, in SignupInput, ip string) (SignupResult, error) {
	if in.InvitationToken != "" {
		return s.signupFromInvitation(ctx, in, ip)
	}
	email, name, errs := s.checkSignup(in)
	if len(errs) > 0 {
		return SignupResult{}, errs[0]
	}
	s.g.PruneThrottles(ctx)
	if err := s.g.Limit(ctx, "signup:ip:", guard.IPKey(ip), s.c.Config.SignupWindow, s.c.Config.SignupsPerIP, &s.c.Stats.SignupThrottled,
		"Too many sign-ups from your network: try again in %s"); err != nil {
		return SignupResult{}, err
	}
	hash, err := s.g.HashPassword(ctx, in.Password, email)
	if err != nil {
		return SignupResult{}, err
	}
	var res SignupResult
	token, tokenHash := core.NewToken()
	// The address's mail allowance is taken once per attempt, before the
	// write, so the mail goes in the write's transaction (or, for a
	// registered address, signupAgain's).
	mailOK := s.g.MailAllowed(ctx, email)
	err = s.c.Write(ctx, func(tx *store.Tx) error {
		uid, err := tx.CreateUser(ctx, email, name, hash, false)
		if err != nil {
			return err // ErrUnique: answered below without revealing it
		}
		a, err := tx.CreateAccount(ctx, accountNameOf(name), uid)
		if err != nil {
			return err
		}
		if err := tx.SetDefaultAccount(ctx, uid, a.Seq); err != nil {
			return err
		}
		if err := tx.CreateVerification(ctx, uid, tokenHash, s.c.Config.VerifyTTL, hash, name); err != nil {
			return err
		}
		actor := roster.Actor{UserID: uid, Email: email, IP: ip}
		if err := tx.Audit(ctx, a.Seq, actor, roster.ActionAccountCreate, a.ID, "sign-up"); err != nil {
			return err
		}
		res.User, err = tx.User(ctx, uid)
		res.Account, res.Registered = a, true
		if err != nil {
			return err
		}
		if !mailOK { // nothing is mailed, so no link stays open
			return tx.EndVerifications(ctx, uid)
		}
		return s.c.Mail(ctx, tx, s.verificationMail(email, name, token))
	})
	if errors.Is(err, store.ErrUnique) {
		s.signupAgain(ctx, email, name, hash, mailOK)
		return SignupResult{User: roster.User{Email: email, Name: name}}, nil
	} else if err != nil {
		return SignupResult{}, err
	}
	return res, nil
}

// SignupErrors checks a sign-up's input (without an invitation) by the
// rules Signup applies, and returns every problem at once, one error per
// field, each about its field (email, name, password, in that order):
// a form can mark them all before the person tries again. nil when the
// input is good; Signup still decides (it returns the first of these).
// Nothing is counted, stored or sent.
func (s *Identity) SignupErrors(in SignupInput) []error {
	_, _, errs := s.checkSignup(in)
	return errs
}

// checkSignup is the one check of a sign-up's input: the work address
// (normalized), the name (the one rule for names in mail, with the
// signing-up address as the owner: the name also names the account made
// here) and the password (against the address as typed when it is not
// one).
func (s *Identity) checkSignup(in SignupInput) (email, name string, errs []error) {
	email, err := s.c.WorkEmail(in.Email)
	owner := email
	if err != nil {
		errs = append(errs, roster.OnField("email", err))
		owner = strings.TrimSpace(in.Email)
	}
	if name, err = core.CleanMailName(in.Name, email, "name"); err != nil {
		errs = append(errs, roster.OnField("name", err))
	}
	if err := password.Check(in.Password, owner); err != nil {
		errs = append(errs, roster.OnField("password", err))
	}
	return email, name, errs
}

func accountNameOf(userName string) string { return userName + "'s account" }

// signupAgain answers a sign-up for a registered address by mail only.
// When the address is not verified yet, the attempt gets its own link,
// which applies its own password and name: an earlier attempt's password
// (perhaps a stranger's) never stays in force. When it is verified, the
// owner of the address is told that someone tried.
//
// When the address's mail allowance is used up, nothing is sent and every
// open link of the address ends, so a person who finds an older mail (an
// attacker's attempt, perhaps) cannot set a password they did not choose.
func (s *Identity) signupAgain(ctx context.Context, email, name, hash string, mailOK bool) {
	u, _, err := s.c.DB.UserByEmail(ctx, email)
	if err != nil {
		s.c.Log().Error("sign-up of a registered address", "err", err)
		return
	}
	if !mailOK {
		if !u.EmailVerified {
			s.endAttempts(ctx, u.ID)
		}
		return
	}
	if !u.EmailVerified {
		token, tokenHash := core.NewToken()
		err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
			if err := tx.CreateVerification(ctx, u.ID, tokenHash, s.c.Config.VerifyTTL, hash, name); err != nil {
				return err
			}
			return s.c.Mail(ctx, tx, s.verificationMail(email, name, token))
		})
		if err != nil {
			s.c.Log().Error("new verification link", "err", err)
		}
		return
	}
	// A notice that belongs to no change: one insert of its own.
	err = s.c.MailAlone(ctx, mail.Message{To: email, Subject: "Someone tried to sign up with your address",
		Text: fmt.Sprintf("Someone, perhaps you, tried to sign up for Roster with %s, which already has a login.\n\n"+
			"If it was you, log in at %s/login.\nIf it was not, you can ignore this mail.\n", email, s.c.Config.BaseURL)})
	if err != nil {
		s.c.Log().Error("sign-up of a registered address: mail", "err", err)
	}
}

func (s *Identity) endAttempts(ctx context.Context, userID int64) {
	if err := s.c.DB.Transact(ctx, func(tx *store.Tx) error { return tx.EndVerifications(ctx, userID) }); err != nil {
		s.c.Log().Error("end verification links", "err", err)
	}
}

// verificationMail is the mail of a verification link.
func (s *Identity) verificationMail(email, name, token string) mail.Message {
	return mail.Message{To: email, Subject: "Verify your email address",
		Text: fmt.Sprintf("Welcome to Roster.\n\nSomeone, we hope you, signed up for Roster with this address and the name %q.\n"+
			"Verify your address to log in with the password chosen then:\n%s\n\nThe link works for %s. "+
			"If you did not sign up, ignore this mail: no one can log in with your address without it.\n",
			name, s.c.Link("verify", token), roster.DurationWords(s.c.Config.VerifyTTL))}
}

// signupFromInvitation signs the invitee up: the invitation link proves the
// address. An address that has a user who never verified it (perhaps a
// stranger's sign-up) is taken over by the mailbox's owner here: their
// password and name replace the attempt's, and every open link ends.
func (s *Identity) signupFromInvitation(ctx context.Context, in SignupInput, ip string) (SignupResult, error) {
	// The invitation names the address; check the password and the name
	// against it.
	var invEmail string
	if err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		inv, _, err := s.c.UsableInvitation(ctx, tx, in.InvitationToken)
		invEmail = inv.Email
		return err
	}); err != nil {
		return SignupResult{}, err
	}
	name, err := core.CleanMailName(in.Name, invEmail, "name")
	if err != nil {
		return SignupResult{}, err
	}
	hash, err := s.g.HashPassword(ctx, in.Password, invEmail)
	if err != nil {
		return SignupResult{}, err
	}
	var res SignupResult
	session, sessionHash := core.NewToken()
	err = s.c.Write(ctx, func(tx *store.Tx) error {
		inv, seq, err := s.c.UsableInvitation(ctx, tx, in.InvitationToken)
		if err != nil {
			return err
		}
		if in.Email != "" {
			if email, err := emailaddr.Normalize(in.Email); err != nil || email != inv.Email {
				return roster.Errorf(roster.EFORBIDDEN, "This invitation is for %s; sign up with that address", inv.Email)
			}
		}
		// An unverified user of the address is claimed; a verified one must
		// log in. (Looked up first: on PostgreSQL a failed insert ends the
		// transaction. The unique email still settles a race.)
		uid, err := tx.UnverifiedUser(ctx, inv.Email)
		if err == nil {
			err = s.claim(ctx, tx, uid, hash, name)
		} else if errors.Is(err, store.ErrNoRows) {
			uid, err = tx.CreateUser(ctx, inv.Email, name, hash, true)
			if errors.Is(err, store.ErrUnique) {
				return roster.Errorf(roster.ECONFLICT, "The address %s already has a login: log in and accept the invitation", inv.Email)
			}
		}
		if err != nil {
			return err
		}
		if err := s.c.Join(ctx, tx, inv, seq, uid, ip); err != nil {
			return err
		}
		if err := tx.SetDefaultAccount(ctx, uid, seq); err != nil {
			return err
		}
		if err := tx.CreateSession(ctx, uid, sessionHash, s.c.Config.SessionTTL, ip, in.UserAgent); err != nil {
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

// claim gives an unverified user the password and name of the person who
// proved the address, verifies it and ends every open link; the account
// made at the first sign-up takes the new name.
func (s *Identity) claim(ctx context.Context, tx *store.Tx, uid int64, hash, name string) error {
	if err := tx.SetUserProfile(ctx, uid, hash, name); err != nil {
		return err
	}
	if err := tx.EndVerifications(ctx, uid); err != nil {
		return err
	}
	if err := tx.RenameOwnAccounts(ctx, uid, accountNameOf(name)); err != nil {
		return err
	}
	return tx.MarkVerified(ctx, uid)
}

// VerifyEmail uses a verification token. Errors: EINVALID for an unknown,
// used or expired token.
func (s *Identity) VerifyEmail(ctx context.Context, token string) (roster.User, error) {
	var u roster.User
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		v, err := tx.UseVerification(ctx, core.HashToken(token))
		if errors.Is(err, store.ErrNoRows) {
			return roster.Errorf(roster.EINVALID, "This verification link is invalid, used, expired or replaced by a newer sign-up: sign up again for a new one")
		} else if err != nil {
			return err
		}
		u, err = tx.User(ctx, v.UserID)
		if err != nil {
			return err
		}
		if v.Applied && u.Name != v.OldName {
			return tx.RenameOwnAccounts(ctx, u.ID, accountNameOf(u.Name))
		}
		return nil
	})
	return u, err
}

// LoginInput is what a person gives to log in.
type LoginInput struct {
	Email, Password   string
	OTP, RecoveryCode string // the second factor, for a user with two-factor on
	IP, UserAgent     string
	// WantPending asks, when the second factor is due and not given, for a
	// short-lived token to give it with later (the console's second step).
	WantPending bool
}

// LoginResult is a login: a session, or a pending second step.
type LoginResult struct {
	Session string
	User    roster.User
	Pending string // a pending-login token (EMFAREQUIRED is returned with it)
	// Methods, with EMFAREQUIRED, are the second factors the user has:
	// "totp", "recovery_code" (unused codes left), "passkey".
	Methods []string
}

// Login checks the password (and, for a user with a second factor, TOTP
// or a passkey, the code or a recovery code) and starts a session; a user
// whose second factor is a passkey gets EMFAREQUIRED with the pending
// token (WantPending) and finishes with FinishPasskeySecondFactor. An unknown address and
// a wrong password answer alike (EUNAUTHENTICATED); EEMAILUNVERIFIED and
// EMFAREQUIRED (a challenge: no session) only after the right password, so
// they reveal nothing to a stranger. Attempts are throttled per address
// and per client before any hashing (ERATELIMITED with a wait); a wrong
// code counts as a failed attempt; hashing is bounded (EUNAVAILABLE).
func (s *Identity) Login(ctx context.Context, in LoginInput) (LoginResult, error) {
	bad := roster.Errorf(roster.EUNAUTHENTICATED, "Wrong email or password")
	email, err := emailaddr.Normalize(in.Email)
	if err != nil {
		// Not an address: still counted, under a digest of what was typed
		// (any bytes, bounded, storable in any database).
		sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(in.Email))))
		email = "invalid:" + hex.EncodeToString(sum[:16])
	}
	var u roster.User
	var hash string
	known := false
	if err == nil {
		u, hash, err = s.c.DB.UserByEmail(ctx, email)
		if errors.Is(err, store.ErrNoRows) {
			hash = ""
		} else if err != nil {
			return LoginResult{}, err
		} else if known, err = s.c.DB.KnownLogin(ctx, u.ID, guard.IPKey(in.IP), s.c.Config.KnownLoginAge); err != nil {
			return LoginResult{}, err
		}
	}
	try, err := s.g.LoginCheck(ctx, email, in.IP, known)
	if err != nil {
		return LoginResult{}, err
	}
	// Wait for a hashing slot before counting the attempt: one refused
	// with 503 costs no database write and no throttle allowance.
	release, err := s.g.HashSlot(ctx)
	if err != nil {
		return LoginResult{}, err
	}
	if err := try.Hit(ctx); err != nil {
		release()
		return LoginResult{}, err
	}
	ok, err := guard.ComparePassword(in.Password, hash)
	release()
	if err != nil {
		return LoginResult{}, err
	}
	if !ok {
		s.loginFailed(email, in.IP, hash != "", "password")
		return LoginResult{}, bad
	}
	if !u.EmailVerified {
		try.Succeeded(ctx)
		return LoginResult{}, roster.Errorf(roster.EEMAILUNVERIFIED, "Verify your email address first: follow the link we mailed to %s", u.Email)
	}
	if u.MFAEnabled {
		if in.OTP == "" && in.RecoveryCode == "" {
			// The password was right: not a failure, but not a login yet.
			try.Undo(ctx)
			res := LoginResult{Methods: s.secondFactors(ctx, u)}
			if in.WantPending {
				token, tokenHash := core.NewToken()
				if err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
					return tx.CreatePendingLogin(ctx, u.ID, tokenHash, s.c.Config.PendingLoginTTL)
				}); err != nil {
					return LoginResult{}, err
				}
				res.Pending = token
			}
			return res, errMFAChallenge(res.Methods)
		}
		if err := s.secondFactor(ctx, u, in.OTP, in.RecoveryCode, in.IP); err != nil {
			s.loginFailed(email, in.IP, true, "second factor")
			return LoginResult{}, err
		}
	}
	try.Succeeded(ctx)
	return s.startSession(ctx, u, in.IP, in.UserAgent)
}

// secondFactors names the second factors u has, for the login's
// challenge (LoginResult.Methods).
func (s *Identity) secondFactors(ctx context.Context, u roster.User) []string {
	var out []string
	if u.TOTPEnabled {
		out = append(out, "totp")
		left := 0
		if err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
			var err error
			left, err = tx.RecoveryCodesLeft(ctx, u.ID)
			return err
		}); err != nil {
			s.c.Log().Warn("recovery codes left", "err", err)
		}
		if left > 0 {
			out = append(out, "recovery_code")
		}
	}
	if u.Passkeys {
		out = append(out, "passkey")
	}
	return out
}

func errMFAChallenge(methods []string) error {
	e := roster.Errorf(roster.EMFAREQUIRED, "Enter the 6-digit code from your authenticator app (or a recovery code)")
	if !slices.Contains(methods, "totp") {
		e = roster.Errorf(roster.EMFAREQUIRED, "Confirm with your passkey")
	} else if slices.Contains(methods, "passkey") {
		e = roster.Errorf(roster.EMFAREQUIRED, "Confirm with your passkey, or enter the 6-digit code from your authenticator app (or a recovery code)")
	}
	e.Challenge = true
	return e
}

func (s *Identity) loginFailed(email, ip string, knownAddress bool, what string) {
	s.c.Stats.LoginFailures.Add(1)
	s.c.Log().Info("login failed", "email", guard.MaskEmail(email), "ip", ip, "known_address", knownAddress, "wrong", what)
}

// startSession makes a session for the user and audits the sign-in in
// every account they belong to.
func (s *Identity) startSession(ctx context.Context, u roster.User, ip, userAgent string) (LoginResult, error) {
	token, tokenHash := core.NewToken()
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		if err := tx.CreateSession(ctx, u.ID, tokenHash, s.c.Config.SessionTTL, ip, userAgent); err != nil {
			return err
		}
		if err := tx.RememberLogin(ctx, u.ID, guard.IPKey(ip)); err != nil {
			return err
		}
		return s.auditUser(ctx, tx, u, ip, roster.ActionUserLogin, "")
	})
	if err != nil {
		return LoginResult{}, err
	}
	return LoginResult{Session: token, User: u}, nil
}

// auditUser writes an event about the user in every account they belong
// to, so each account's admins see it.
func (s *Identity) auditUser(ctx context.Context, tx *store.Tx, u roster.User, ip, action, detail string) error {
	accts, err := tx.UserAccounts(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, a := range accts {
		if err := tx.Audit(ctx, a, roster.Actor{UserID: u.ID, Email: u.Email, IP: ip}, action, u.Email, detail); err != nil {
			return err
		}
	}
	return nil
}

// Logout ends the session.
func (s *Identity) Logout(ctx context.Context, session string) error {
	return s.c.DB.DeleteSession(ctx, core.HashToken(session))
}

// SessionUser returns the user of a live session. EUNAUTHENTICATED otherwise.
func (s *Identity) SessionUser(ctx context.Context, session string) (roster.User, error) {
	u, _, err := s.session(ctx, session)
	return u, err
}

// session returns the user and ID of a live session (not past its end nor
// idle too long). EUNAUTHENTICATED otherwise.
func (s *Identity) session(ctx context.Context, session string) (roster.User, int64, error) {
	u, id, err := s.c.DB.SessionUser(ctx, core.HashToken(session), s.c.Config.SessionIdle)
	if errors.Is(err, store.ErrNoRows) {
		return u, 0, roster.Errorf(roster.EUNAUTHENTICATED, "Log in first")
	}
	return u, id, err
}
