package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/emailaddr"
	"github.com/rosterhq/roster/mail"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/service/internal/guard"
	"github.com/rosterhq/roster/store"
)

// This file is a person's own security: two-factor sign-in (TOTP, RFC
// 6238: SHA-1, 6 digits, 30 s, through pquerna/otp), recovery codes,
// password reset and change, and their sessions.

const totpPeriod = 30

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// totpStep returns the 30-second step whose code code is, within one step
// either side of now, or -1. Codes are compared in constant time.
func totpStep(secret, code string, now time.Time) int64 {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return -1
	}
	cur := now.Unix() / totpPeriod
	found := int64(-1)
	for step := cur - 1; step <= cur+1; step++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			found = step
		}
	}
	return found
}

var errBadCode = roster.FieldErrorf("otp", roster.EUNAUTHENTICATED, "Wrong two-factor code")

// useTOTP checks code against the user's secret and records its step, in
// tx: a code is accepted once (no replay within its 30 s, nor an older one).
func (s *Identity) useTOTP(ctx context.Context, tx *store.Tx, userID int64, code string) error {
	t, err := tx.TOTP(ctx, userID)
	if err != nil {
		return err
	}
	step := totpStep(t.Secret, code, tx.Now())
	if t.Secret == "" || step < 0 {
		return errBadCode
	}
	if err := tx.UseTOTPStep(ctx, userID, step); errors.Is(err, store.ErrNoRows) {
		return roster.FieldErrorf("otp", roster.EUNAUTHENTICATED, "This code was used already: wait for the next one")
	} else if err != nil {
		return err
	}
	return nil
}

// secondFactor checks a code or a recovery code of a user with two-factor
// on, to sign in. Errors: EUNAUTHENTICATED.
func (s *Identity) secondFactor(ctx context.Context, u roster.User, code, recovery, ip string) error {
	return s.secondFactorTo(ctx, u, code, recovery, ip, "sign in")
}

// secondFactorTo is secondFactor for a purpose ("sign in"), which the
// audit and the notice of a used recovery code name.
func (s *Identity) secondFactorTo(ctx context.Context, u roster.User, code, recovery, ip, purpose string) error {
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		if code != "" {
			return s.useTOTP(ctx, tx, u.ID, code)
		}
		if err := tx.UseRecoveryCode(ctx, u.ID, core.HashToken(normalizeRecovery(recovery))); errors.Is(err, store.ErrNoRows) {
			return roster.FieldErrorf("recovery_code", roster.EUNAUTHENTICATED, "Wrong or used recovery code")
		} else if err != nil {
			return err
		}
		left, err := tx.RecoveryCodesLeft(ctx, u.ID)
		if err != nil {
			return err
		}
		detail := fmt.Sprintf("%d left", left)
		if purpose != "sign in" {
			detail += ", to " + purpose
		}
		if err := s.auditUser(ctx, tx, u, ip, roster.ActionUserRecoveryCodeUsed, detail); err != nil {
			return err
		}
		return s.notice(ctx, tx, u, "A recovery code was used to "+purpose,
			"A recovery code was used to "+purpose+" on your Roster login. Each code works once.\n\n"+
				"If it was not you, reset your password and make new recovery codes at once.")
	})
	return err
}

// recoveryCodes makes 10 codes of 130 random bits each, as a person types
// them (five groups of lower-case base32), and their hashes.
func recoveryCodes() (codes []string, hashes [][]byte) {
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	for range 10 {
		b := make([]byte, 17)
		rand.Read(b)
		c := strings.ToLower(enc.EncodeToString(b))[:26]
		code := c[0:5] + "-" + c[5:10] + "-" + c[10:15] + "-" + c[15:20] + "-" + c[20:26]
		codes = append(codes, code)
		hashes = append(hashes, core.HashToken(normalizeRecovery(code)))
	}
	return codes, hashes
}

// normalizeRecovery is a recovery code as stored: lower-case, without the
// separators a person may type or leave out.
func normalizeRecovery(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		case r == '-' || r == ' ':
			return -1
		}
		return r
	}, s)
}

// notice mails the user about a change to their own security, in tx, the
// transaction of the change. Such mail follows the person's own action,
// so it is not held back by the limits.
func (s *Identity) notice(ctx context.Context, tx *store.Tx, u roster.User, subject, body string) error {
	return s.c.Mail(ctx, tx, mail.Message{To: u.Email, Subject: subject,
		Text: fmt.Sprintf("Hello,\n\n%s\n\nThe Roster team\n", body)})
}

// TOTPEnrollment is a new, not yet confirmed, authenticator secret.
type TOTPEnrollment struct {
	Secret     string `json:"secret"`
	OTPAuthURL string `json:"otpauth_url"`
}

// StepUp is what a change to a person's own second factor asks for again
// in the same request, so a stolen session alone cannot make one: the
// current password and, while two-factor sign-in is on, a current code
// from the authenticator or an unused recovery code.
type StepUp struct {
	Password     string
	OTP          string
	RecoveryCode string
}

// stepUp checks proof for the signed-in user u, throttled like a login
// (the same counters: a wrong password or code counts as a failed sign-in,
// from this client and against the address), so a stolen session cannot
// guess the password or the code without limit. Nothing is counted or
// hashed when a part is missing. purpose names the change, for the
// notice of a used recovery code. Errors: EUNAUTHENTICATED (no or wrong
// password, wrong or used code), EMFAREQUIRED (as a challenge, 401: two-
// factor is on and neither a code nor a recovery code came), ERATELIMITED,
// EUNAVAILABLE.
func (s *Identity) stepUp(ctx context.Context, u roster.User, proof StepUp, ip, purpose string) error {
	if proof.Password == "" {
		return roster.FieldErrorf("password", roster.EUNAUTHENTICATED, "Enter your current password to %s", purpose)
	}
	if u.TOTPEnabled && strings.TrimSpace(proof.OTP) == "" && strings.TrimSpace(proof.RecoveryCode) == "" {
		e := roster.FieldErrorf("otp", roster.EMFAREQUIRED, "Enter a code from your authenticator app (or a recovery code) to %s", purpose)
		e.Challenge = true
		return e
	}
	try, err := s.g.LoginCheck(ctx, u.Email, ip, true)
	if err != nil {
		return err
	}
	release, err := s.g.HashSlot(ctx)
	if err != nil {
		return err
	}
	if err := try.Hit(ctx); err != nil {
		release()
		return err
	}
	var hash string
	err = s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		hash, err = tx.PasswordHash(ctx, u.ID)
		return err
	})
	if err != nil {
		release()
		return err
	}
	ok, err := guard.ComparePassword(proof.Password, hash)
	release()
	if err != nil {
		return err
	}
	if !ok {
		s.loginFailed(u.Email, ip, true, "password (step-up)")
		return roster.FieldErrorf("password", roster.EUNAUTHENTICATED, "Wrong password")
	}
	if u.TOTPEnabled {
		// The attempt stays counted until the code is right too: a
		// right password does not buy guesses at the code.
		if err := s.secondFactorTo(ctx, u, proof.OTP, proof.RecoveryCode, ip, purpose); err != nil {
			s.loginFailed(u.Email, ip, true, "second factor (step-up)")
			return err
		}
	}
	try.Succeeded(ctx)
	return nil
}

// StartTOTP makes a new authenticator secret for the user, pending until
// ConfirmTOTP, with their current password. Errors: ECONFLICT (two-factor
// is on already: turn it off first), EUNAUTHENTICATED, ERATELIMITED,
// EUNAVAILABLE (stepUp).
func (s *Identity) StartTOTP(ctx context.Context, u roster.User, proof StepUp, ip string) (TOTPEnrollment, error) {
	if u.TOTPEnabled {
		return TOTPEnrollment{}, roster.Errorf(roster.ECONFLICT, "Two-factor sign-in is on already: turn it off first to set up another authenticator")
	}
	if err := s.stepUp(ctx, u, proof, ip, "set up two-factor sign-in"); err != nil {
		return TOTPEnrollment{}, err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Roster", AccountName: u.Email, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, SecretSize: 20})
	if err != nil {
		return TOTPEnrollment{}, err
	}
	err = s.c.DB.Transact(ctx, func(tx *store.Tx) error { return tx.SetTOTPSecret(ctx, u.ID, key.Secret()) })
	return TOTPEnrollment{Secret: key.Secret(), OTPAuthURL: key.URL()}, err
}

// PendingTOTP returns the authenticator key StartTOTP made and
// ConfirmTOTP has not yet turned on, so the page that shows it can be
// reloaded without making another: ok is false when there is none (none
// started, cancelled, or two-factor is on).
func (s *Identity) PendingTOTP(ctx context.Context, u roster.User) (e TOTPEnrollment, ok bool, err error) {
	var t store.TOTP
	err = s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		t, err = tx.TOTP(ctx, u.ID)
		return err
	})
	if err != nil || t.Confirmed || t.Secret == "" {
		return TOTPEnrollment{}, false, err
	}
	return TOTPEnrollment{Secret: t.Secret, OTPAuthURL: totpURL(u.Email, t.Secret)}, true, nil
}

// totpURL is the otpauth:// URL of a key, as totp.Generate writes it for
// StartTOTP's options.
func totpURL(email, secret string) string {
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", "Roster")
	v.Set("period", strconv.Itoa(totpPeriod))
	v.Set("algorithm", "SHA1")
	v.Set("digits", "6")
	return (&url.URL{Scheme: "otpauth", Host: "totp", Path: "/Roster:" + email, RawQuery: v.Encode()}).String()
}

// CancelTOTP forgets the key StartTOTP made, before it is confirmed: the
// authenticator that scanned it will never be asked for. Errors:
// ECONFLICT (two-factor is on: turn it off instead).
func (s *Identity) CancelTOTP(ctx context.Context, u roster.User) error {
	if u.TOTPEnabled {
		return roster.Errorf(roster.ECONFLICT, "Two-factor sign-in is on: turn it off instead")
	}
	return s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		t, err := tx.TOTP(ctx, u.ID)
		if err != nil || t.Confirmed {
			return err
		}
		return tx.SetTOTPSecret(ctx, u.ID, "")
	})
}

// ConfirmTOTP turns two-factor on with the user's current password and a
// code from the new authenticator, ends every other session of the user
// (session, the one asking, stays), and returns 10 recovery codes: the
// only time they are shown. Errors: ECONFLICT (nothing pending, or on
// already), EUNAUTHENTICATED (wrong password or code), ERATELIMITED,
// EUNAVAILABLE.
func (s *Identity) ConfirmTOTP(ctx context.Context, u roster.User, session string, proof StepUp, code, ip string) ([]string, error) {
	if u.TOTPEnabled {
		return nil, roster.Errorf(roster.ECONFLICT, "Two-factor sign-in is on already")
	}
	if err := s.stepUp(ctx, u, proof, ip, "turn on two-factor sign-in"); err != nil {
		return nil, err
	}
	_, sid, err := s.session(ctx, session)
	if err != nil {
		return nil, err
	}
	codes, hashes := recoveryCodes()
	err = s.c.Write(ctx, func(tx *store.Tx) error {
		t, err := tx.TOTP(ctx, u.ID)
		if err != nil {
			return err
		}
		if t.Secret == "" {
			return roster.Errorf(roster.ECONFLICT, "Set up an authenticator first (POST /v1/me/mfa/totp)")
		}
		if err := s.useTOTP(ctx, tx, u.ID, code); err != nil {
			return err
		}
		if err := tx.ConfirmTOTP(ctx, u.ID); err != nil {
			return err
		}
		if err := tx.SetRecoveryCodes(ctx, u.ID, hashes); err != nil {
			return err
		}
		// Whoever else holds a session of this login (a stolen cookie)
		// is signed out: from now on a sign-in needs the code.
		if err := tx.DeleteSessions(ctx, u.ID, sid); err != nil {
			return err
		}
		if err := s.changedUser(ctx, tx, u.ID); err != nil {
			return err
		}
		if err := s.auditUser(ctx, tx, u, ip, roster.ActionUserMfaEnable, "totp; other sessions ended"); err != nil {
			return err
		}
		return s.notice(ctx, tx, u, "Two-factor sign-in is on",
			"Two-factor sign-in is now on for your Roster login: each sign-in asks for a code from your authenticator app. "+
				"Every other session was signed out.\n\n"+
				"If you did not turn it on, reset your password at once.")
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// changedUser records a change to the user in every account they belong
// to, so every replica's check index reads them again (two-factor on/off).
func (s *Identity) changedUser(ctx context.Context, tx *store.Tx, userID int64) error {
	accts, err := tx.UserAccounts(ctx, userID)
	if err != nil {
		return err
	}
	for _, a := range accts {
		if _, err := tx.Changed(ctx, a, userID); err != nil {
			return err
		}
	}
	return nil
}

// checkOwnPassword checks the signed-in user's password, throttled like a
// login (a stolen session cannot guess it). Errors: EUNAUTHENTICATED,
// ERATELIMITED, EUNAVAILABLE.
func (s *Identity) checkOwnPassword(ctx context.Context, u roster.User, password, ip string) error {
	try, err := s.g.LoginCheck(ctx, u.Email, ip, true)
	if err != nil {
		return err
	}
	release, err := s.g.HashSlot(ctx)
	if err != nil {
		return err
	}
	defer release()
	if err := try.Hit(ctx); err != nil {
		return err
	}
	var hash string
	if err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		hash, err = tx.PasswordHash(ctx, u.ID)
		return err
	}); err != nil {
		return err
	}
	ok, err := guard.ComparePassword(password, hash)
	if err != nil {
		return err
	}
	if !ok {
		s.loginFailed(u.Email, ip, true, "password")
		return roster.FieldErrorf("password", roster.EUNAUTHENTICATED, "Wrong password")
	}
	try.Succeeded(ctx)
	return nil
}

// DisableTOTP turns two-factor off, with the user's password and a
// current code or a recovery code. Errors: ECONFLICT (it is off),
// EUNAUTHENTICATED, EMFAREQUIRED (no code: a challenge), ERATELIMITED,
// EUNAVAILABLE.
func (s *Identity) DisableTOTP(ctx context.Context, u roster.User, proof StepUp, ip string) error {
	if !u.TOTPEnabled {
		return roster.Errorf(roster.ECONFLICT, "Two-factor sign-in is off already")
	}
	if err := s.stepUp(ctx, u, proof, ip, "turn off two-factor sign-in"); err != nil {
		return err
	}
	err := s.c.Write(ctx, func(tx *store.Tx) error {
		if err := tx.SetTOTPSecret(ctx, u.ID, ""); err != nil {
			return err
		}
		if err := tx.SetRecoveryCodes(ctx, u.ID, nil); err != nil {
			return err
		}
		if err := s.changedUser(ctx, tx, u.ID); err != nil {
			return err
		}
		if err := s.auditUser(ctx, tx, u, ip, roster.ActionUserMfaDisable, "totp"); err != nil {
			return err
		}
		return s.notice(ctx, tx, u, "Two-factor sign-in is off",
			"Two-factor sign-in is now off for your Roster login. Accounts that require it will refuse you until you turn it on again.\n\n"+
				"If you did not turn it off, reset your password and turn it on again at once.")
	})
	return err
}

// NewRecoveryCodes replaces the user's recovery codes, with their password
// and a current code or a recovery code; the old ones stop working.
// Errors: ECONFLICT (two-factor is off), EUNAUTHENTICATED, EMFAREQUIRED (no
// code: a challenge), ERATELIMITED, EUNAVAILABLE.
func (s *Identity) NewRecoveryCodes(ctx context.Context, u roster.User, proof StepUp, ip string) ([]string, error) {
	if !u.TOTPEnabled {
		return nil, roster.Errorf(roster.ECONFLICT, "Turn on two-factor sign-in first")
	}
	if err := s.stepUp(ctx, u, proof, ip, "make new recovery codes"); err != nil {
		return nil, err
	}
	codes, hashes := recoveryCodes()
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		if err := tx.SetRecoveryCodes(ctx, u.ID, hashes); err != nil {
			return err
		}
		if err := s.auditUser(ctx, tx, u, ip, roster.ActionUserRecoveryCodes, "new set"); err != nil {
			return err
		}
		return s.notice(ctx, tx, u, "New recovery codes", "New recovery codes were made for your Roster login; the old ones no longer work.")
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// ResetMFA clears the second factor of a user locked out of it (a lost
// authenticator and no recovery code left), as the platform operator: the
// authenticator secret, every recovery code and every passkey go, two-factor sign-in is
// off (accounts that require it refuse the user until they turn it on
// again), and every session of the user ends, since whoever holds one may
// be who locked the owner out. It is audited in each of the user's
// accounts (actor: the operator) and the user is told by mail. It returns
// the user as they are now. Errors: EINVALID (not an address), ENOTFOUND
// (no such user), ECONFLICT (two-factor sign-in is off: nothing to clear).
func (s *Identity) ResetMFA(ctx context.Context, rawEmail string, actor roster.Actor) (roster.User, error) {
	email, err := emailaddr.Normalize(rawEmail)
	if err != nil {
		return roster.User{}, err
	}
	u, _, err := s.c.DB.UserByEmail(ctx, email)
	if err != nil {
		return roster.User{}, core.DBErr(err, "No user with the address "+email)
	}
	err = s.c.Write(ctx, func(tx *store.Tx) error {
		t, err := tx.TOTP(ctx, u.ID)
		if err != nil {
			return core.DBErr(err, "No user with the address "+email)
		}
		if !t.Confirmed && !u.Passkeys {
			return roster.Errorf(roster.ECONFLICT, "Two-factor sign-in is off for %s: nothing to reset", email)
		}
		if err := tx.SetTOTPSecret(ctx, u.ID, ""); err != nil {
			return err
		}
		// A lost phone takes its passkeys with it: they go too.
		if _, err := tx.DeleteUserPasskeys(ctx, u.ID); err != nil {
			return err
		}
		if err := tx.SetRecoveryCodes(ctx, u.ID, nil); err != nil {
			return err
		}
		if err := tx.DeleteSessions(ctx, u.ID, 0); err != nil {
			return err
		}
		if err := s.changedUser(ctx, tx, u.ID); err != nil {
			return err
		}
		accts, err := tx.UserAccounts(ctx, u.ID)
		if err != nil {
			return err
		}
		for _, a := range accts {
			if err := tx.Audit(ctx, a, actor, roster.ActionUserMfaReset, u.Email, "secret and recovery codes cleared, every session ended"); err != nil {
				return err
			}
		}
		return s.notice(ctx, tx, u, "Two-factor sign-in was reset",
			"The Roster operator turned off two-factor sign-in for your login, as asked when the authenticator was lost: "+
				"the authenticator, every recovery code and every passkey no longer work, and every session was signed out.\n\n"+
				"Log in with your password and turn two-factor sign-in on again in Profile & security: "+
				"accounts that require it will refuse you until you do.\n\n"+
				"If you did not ask for this, reset your password at once and tell your account's admins.")
	})
	if err != nil {
		return roster.User{}, err
	}
	u.TOTPEnabled, u.Passkeys, u.MFAEnabled = false, false, false
	s.c.Log().Info("two-factor sign-in reset by the operator", "user_id", u.ID, "email", guard.MaskEmail(u.Email), "actor", actor.Email)
	return u, nil
}

// LoginPending completes the console's second sign-in step: the pending
// token from the first step and a code or a recovery code. A wrong code
// counts as a failed sign-in. Errors: EUNAUTHENTICATED, ERATELIMITED.
func (s *Identity) LoginPending(ctx context.Context, pending, code, recovery, ip, userAgent string) (LoginResult, error) {
	expired := roster.FieldErrorf("pending", roster.EUNAUTHENTICATED, "This sign-in expired: enter your email and password again")
	uid, err := s.c.DB.PendingLogin(ctx, core.HashToken(pending))
	if errors.Is(err, store.ErrNoRows) {
		return LoginResult{}, expired
	} else if err != nil {
		return LoginResult{}, err
	}
	u, err := s.c.DB.UserByID(ctx, uid)
	if err != nil {
		return LoginResult{}, core.DBErr(err, "No such user")
	}
	known, err := s.c.DB.KnownLogin(ctx, u.ID, guard.IPKey(ip), s.c.Config.KnownLoginAge)
	if err != nil {
		return LoginResult{}, err
	}
	try, err := s.g.LoginCheck(ctx, u.Email, ip, known)
	if err != nil {
		return LoginResult{}, err
	}
	if err := try.Hit(ctx); err != nil {
		return LoginResult{}, err
	}
	if code == "" && recovery == "" {
		try.Undo(ctx)
		return LoginResult{}, roster.FieldErrorf("otp", roster.EINVALID, "Enter the 6-digit code from your authenticator app, or a recovery code")
	}
	if err := s.secondFactor(ctx, u, code, recovery, ip); err != nil {
		s.loginFailed(u.Email, ip, true, "second factor")
		return LoginResult{}, err
	}
	if err := s.c.DB.Transact(ctx, func(tx *store.Tx) error { return tx.UsePendingLogin(ctx, core.HashToken(pending)) }); errors.Is(err, store.ErrNoRows) {
		return LoginResult{}, expired
	} else if err != nil {
		return LoginResult{}, err
	}
	try.Succeeded(ctx)
	return s.startSession(ctx, u, ip, userAgent)
}

// ResetTokenValid reports whether a reset link can still be used.
// Errors: EUNAVAILABLE (the database failed: the link may be good).
func (s *Identity) ResetTokenValid(ctx context.Context, token string) (bool, error) {
	_, err := s.c.DB.PasswordResetUser(ctx, core.HashToken(token))
	if errors.Is(err, store.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// ConfirmPasswordReset sets a new password from a reset link: the address
// is proven (verified; open sign-up links end), every session and every
// personal API key of the user ends (whoever held the old password may
// have made either), as do the user's other reset links and sign-ins
// waiting for a second factor; the check index forgets the keys before
// this returns (other replicas through the change log), the address's
// login throttle starts again, and the user is told by mail. Two-factor
// stays on. Errors: EINVALID (bad, used or expired link, or the password's
// rules), EUNAVAILABLE.
func (s *Identity) ConfirmPasswordReset(ctx context.Context, token, password, ip string) error {
	badLink := roster.Errorf(roster.EINVALID, "This reset link is invalid, used or expired (links work for %s, once): ask for a new one", roster.DurationWords(s.c.Config.ResetTTL))
	uid, err := s.c.DB.PasswordResetUser(ctx, core.HashToken(token))
	if errors.Is(err, store.ErrNoRows) {
		return badLink
	} else if err != nil {
		return err
	}
	u, err := s.c.DB.UserByID(ctx, uid)
	if err != nil {
		return core.DBErr(err, "No such user")
	}
	hash, err := s.g.HashPassword(ctx, password, u.Email)
	if err != nil {
		return err
	}
	var keys []store.EndedKey
	err = s.c.Write(ctx, func(tx *store.Tx) error {
		if got, err := tx.UsePasswordReset(ctx, core.HashToken(token)); errors.Is(err, store.ErrNoRows) || got != uid {
			return badLink
		} else if err != nil {
			return err
		}
		if err := tx.SetPassword(ctx, uid, hash); err != nil {
			return err
		}
		if err := tx.EndVerifications(ctx, uid); err != nil {
			return err
		}
		if err := tx.MarkVerified(ctx, uid); err != nil {
			return err
		}
		if err := tx.DeleteSessions(ctx, uid, 0); err != nil {
			return err
		}
		if err := tx.EndPendingLogins(ctx, uid); err != nil {
			return err
		}
		var err error
		if keys, err = tx.DeleteUserAPIKeys(ctx, uid); err != nil {
			return err
		}
		actor := roster.Actor{UserID: u.ID, Email: u.Email, IP: ip}
		for _, k := range keys {
			if err := tx.Audit(ctx, k.AccountSeq, actor, roster.ActionApiKeyDelete, k.Prefix, k.Name+" (password reset)"); err != nil {
				return err
			}
		}
		if err := s.auditUser(ctx, tx, u, ip, roster.ActionUserPasswordReset, fmt.Sprintf("every session ended; personal API keys deleted: %d", len(keys))); err != nil {
			return err
		}
		keysEnded := "You had no personal API keys."
		if len(keys) > 0 {
			keysEnded = fmt.Sprintf("Every personal API key of yours was deleted too (%d): make new ones where you need them.", len(keys))
		}
		return s.notice(ctx, tx, u, "Your Roster password was reset",
			"The password of your Roster login was reset from a link mailed to this address, and every session was signed out. "+keysEnded+"\n\n"+
				"If it was not you, reset it again at once and check who has access to your mailbox.")
	})
	if err != nil {
		return err
	}
	if err := s.c.DB.ClearThrottles(context.WithoutCancel(ctx), "login:addr:"+u.Email); err != nil {
		s.c.Log().Warn("clear login throttle", "err", err)
	}
	return nil
}

// ChangePassword sets a new password after checking the current one
// (throttled like a login) and ends every other session of the user, every
// reset link issued before it (a link mailed earlier must not undo the
// change) and every sign-in waiting for its second factor. Personal API
// keys stay: the person proved the password they replace.
// Errors: EUNAUTHENTICATED, ERATELIMITED, EINVALID, EUNAVAILABLE.
func (s *Identity) ChangePassword(ctx context.Context, u roster.User, session, current, next, ip string) error {
	if err := s.checkOwnPassword(ctx, u, current, ip); err != nil {
		return roster.OnField("current_password", err)
	}
	hash, err := s.g.HashPassword(ctx, next, u.Email)
	if err != nil {
		return roster.OnField("new_password", err)
	}
	_, sid, err := s.session(ctx, session)
	if err != nil {
		return err
	}
	err = s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		if err := tx.SetPassword(ctx, u.ID, hash); err != nil {
			return err
		}
		if err := tx.DeleteSessions(ctx, u.ID, sid); err != nil {
			return err
		}
		if err := tx.EndPasswordResets(ctx, u.ID); err != nil {
			return err
		}
		if err := tx.EndPendingLogins(ctx, u.ID); err != nil {
			return err
		}
		if err := s.auditUser(ctx, tx, u, ip, roster.ActionUserPasswordChange, ""); err != nil {
			return err
		}
		return s.notice(ctx, tx, u, "Your Roster password was changed",
			"The password of your Roster login was changed: every other session was signed out, and reset links mailed before no longer work.\n\n"+
				"If it was not you, reset your password at once.")
	})
	return err
}

// Sessions lists the user's live sessions, marking the one asking.
func (s *Identity) Sessions(ctx context.Context, u roster.User, session string) ([]roster.Session, error) {
	_, sid, err := s.session(ctx, session)
	if err != nil {
		return nil, err
	}
	ss, err := s.c.DB.Sessions(ctx, u.ID, s.c.Config.SessionIdle)
	for i := range ss {
		ss[i].Current = ss[i].ID == sid
	}
	return ss, err
}

// EndSession ends one of the user's sessions. Errors: ENOTFOUND.
func (s *Identity) EndSession(ctx context.Context, u roster.User, id int64) error {
	return core.DBErr(s.c.DB.DeleteSessionByID(ctx, u.ID, id), "No such session")
}

// EndOtherSessions ends every session of the user but the one asking.
func (s *Identity) EndOtherSessions(ctx context.Context, u roster.User, session, ip string) error {
	_, sid, err := s.session(ctx, session)
	if err != nil {
		return err
	}
	return s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteSessions(ctx, u.ID, sid); err != nil {
			return err
		}
		return s.auditUser(ctx, tx, u, ip, roster.ActionUserSessionsEnd, "all other sessions")
	})
}

// SetRequireMFA turns on or off the account's requirement of two-factor
// sign-in for its members; the check index knows it before this returns.
// The caller holds team.edit and, to turn it on, must have two-factor on
// (else ECONFLICT): no one locks themselves out.
func (s *Identity) SetRequireMFA(ctx context.Context, a roster.Account, caller roster.User, on bool, actor roster.Actor) (roster.Account, error) {
	if on && !caller.MFAEnabled {
		return a, roster.Errorf(roster.ECONFLICT, "Turn on two-factor sign-in for yourself first (Profile & security): requiring it would lock you out")
	}
	err := s.c.Write(ctx, func(tx *store.Tx) error {
		if err := tx.SetRequireMFA(ctx, a.Seq, on); err != nil {
			return err
		}
		a.RequireMFA = on
		return tx.Audit(ctx, a.Seq, actor, roster.ActionAccountRequireMfa, a.ID, fmt.Sprint(on))
	})
	return a, err
}
