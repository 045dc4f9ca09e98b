package identity

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/service/internal/guard"
	"github.com/rosterhq/roster/store"
)

// This file is passkeys (WebAuthn Level 3, through go-webauthn/webauthn):
// a passkey signs its user in without a password, or is the second factor
// after one. The relying party is the service itself: its ID is the host
// of Config.BaseURL and the only origin allowed is BaseURL's origin.
//
// Every passkey is discoverable (a resident key: the authenticator keeps
// the user handle, so no address is typed) and verifies its user (a PIN
// or a biometric): it is two factors in one, so a passwordless sign-in
// satisfies an account's require_mfa. Attestation is not asked for
// ("none"): which authenticator it is does not change what it proves.
//
// Options (what the Begin methods return) are the JSON of go-webauthn's
// protocol.CredentialCreation / protocol.CredentialAssertion:
//
//	{"publicKey": {"challenge": "<base64url>", "rp": {...}, "user": {"id": "<base64url>", ...}, ...}}
//
// whose publicKey member is PublicKeyCredentialCreationOptionsJSON /
// PublicKeyCredentialRequestOptionsJSON (binary members in base64url
// without padding): the browser takes it through
// PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON
// (or with those members decoded to bytes) as navigator.credentials.create
// / get's publicKey. A credential (what the Finish methods take) is the
// JSON of the PublicKeyCredential the browser returns (its toJSON(): id,
// rawId, type, response.* in base64url).
//
// A ceremony's challenge is kept in the database (passkey_flows, so any
// replica finishes what another began), used once (read and deleted
// before the answer is checked) and for passkeyFlowTTL.

// passkeyFlowTTL is how long a begun ceremony can be finished.
const passkeyFlowTTL = 5 * time.Minute

// The kinds of passkey_flows rows.
const (
	flowRegistration = "registration"
	flowLogin        = "login"
	flowSecondFactor = "second_factor"
)

// webAuthn returns the relying party for Config.BaseURL, or EUNAVAILABLE
// when the address cannot be one (an IP address: WebAuthn needs a domain).
func (s *Identity) webAuthn() (*webauthn.WebAuthn, error) {
	s.waOnce.Do(func() {
		u, err := url.Parse(s.c.Config.BaseURL)
		if err != nil || u.Hostname() == "" {
			s.waErr = fmt.Errorf("passkeys: base URL %q: %v", s.c.Config.BaseURL, err)
			return
		}
		s.wa, s.waErr = webauthn.New(&webauthn.Config{
			RPID:          u.Hostname(),
			RPDisplayName: "Roster",
			RPOrigins:     []string{u.Scheme + "://" + u.Host},
			AuthenticatorSelection: protocol.AuthenticatorSelection{
				ResidentKey:        protocol.ResidentKeyRequirementRequired,
				RequireResidentKey: protocol.ResidentKeyRequired(),
				UserVerification:   protocol.VerificationRequired,
			},
			AttestationPreference: protocol.PreferNoAttestation,
			Timeouts: webauthn.TimeoutsConfig{
				Login:        webauthn.TimeoutConfig{Timeout: passkeyFlowTTL, TimeoutUVD: passkeyFlowTTL},
				Registration: webauthn.TimeoutConfig{Timeout: passkeyFlowTTL, TimeoutUVD: passkeyFlowTTL},
			},
		})
		if s.waErr == nil {
			// The configuration is checked when a ceremony begins: check
			// it once here, so a bad base URL is one clear error.
			_, _, s.waErr = s.wa.BeginDiscoverableLogin()
		}
		if s.waErr != nil {
			s.c.Log().Error("passkeys are off: the base URL cannot be a WebAuthn relying party", "base_url", s.c.Config.BaseURL, "err", s.waErr)
		}
	})
	if s.waErr != nil {
		return nil, roster.Errorf(roster.EUNAVAILABLE, "Passkeys need the service's base URL to be a domain name, not an IP address")
	}
	return s.wa, nil
}

// passkeyUser is a user as go-webauthn sees them: the user handle is the
// user's ID (8 bytes, big-endian), which names no one outside Roster.
type passkeyUser struct {
	u     roster.User
	creds []webauthn.Credential
}

func userHandle(id int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(id)) }

func (p passkeyUser) WebAuthnID() []byte                         { return userHandle(p.u.ID) }
func (p passkeyUser) WebAuthnName() string                       { return p.u.Email }
func (p passkeyUser) WebAuthnDisplayName() string                { return p.u.Name }
func (p passkeyUser) WebAuthnCredentials() []webauthn.Credential { return p.creds }

// credential is a stored passkey as go-webauthn checks an assertion with.
func credential(p store.Passkey) webauthn.Credential {
	c := webauthn.Credential{ID: p.CredentialID, PublicKey: p.PublicKey, AttestationType: "none",
		Flags:         webauthn.CredentialFlags{UserPresent: true, UserVerified: true, BackupEligible: p.BackupEligible, BackupState: p.BackedUp},
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount}}
	for _, t := range p.Transports {
		c.Transport = append(c.Transport, protocol.AuthenticatorTransport(t))
	}
	return c
}

// passkeyUserOf loads the user's passkeys for go-webauthn.
func (s *Identity) passkeyUserOf(ctx context.Context, u roster.User) (passkeyUser, []store.Passkey, error) {
	var ps []store.Passkey
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		ps, err = tx.UserPasskeys(ctx, u.ID)
		return err
	})
	pu := passkeyUser{u: u}
	for _, p := range ps {
		pu.creds = append(pu.creds, credential(p))
	}
	return pu, ps, err
}

// putFlow stores a begun ceremony's session data under keyHash.
func (s *Identity) putFlow(ctx context.Context, keyHash []byte, userID int64, kind string, sess *webauthn.SessionData) error {
	data, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	return s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		return tx.PutPasskeyFlow(ctx, keyHash, userID, kind, string(data), passkeyFlowTTL)
	})
}

// takeFlow reads and deletes a ceremony, committed before its answer is
// checked: a challenge is used once even when the answer is refused.
// expired is returned when there is none.
func (s *Identity) takeFlow(ctx context.Context, keyHash []byte, kind string, expired error) (int64, webauthn.SessionData, error) {
	var uid int64
	var data string
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		uid, data, err = tx.TakePasskeyFlow(ctx, keyHash, kind)
		return err
	})
	if errors.Is(err, store.ErrNoRows) {
		return 0, webauthn.SessionData{}, expired
	} else if err != nil {
		return 0, webauthn.SessionData{}, err
	}
	var sess webauthn.SessionData
	if err := json.Unmarshal([]byte(data), &sess); err != nil {
		return 0, sess, fmt.Errorf("passkey flow: %w", err)
	}
	return uid, sess, nil
}

func registrationKey(userID int64) []byte {
	return core.HashToken(fmt.Sprintf("passkey-registration:%d", userID))
}

func secondFactorKey(mfaToken string) []byte {
	return core.HashToken("passkey-second-factor:" + mfaToken)
}

// refusedPasskey is the answer to a credential go-webauthn refused: its
// reason (the protocol's words, never ours) after what happened.
func refusedPasskey(code, field, what string, err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Details != "" {
		return roster.FieldErrorf(field, code, "The passkey was refused (%s): %s", what, strings.TrimSuffix(pe.Details, "."))
	}
	return roster.FieldErrorf(field, code, "The passkey was refused (%s)", what)
}

// passkeyName is a passkey's name as stored: trimmed, at most 64
// characters, "Passkey" when none is given.
func passkeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "Passkey", nil
	}
	if utf8.RuneCountInString(name) > 64 || !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", roster.FieldErrorf("name", roster.EINVALID, "A passkey's name is at most 64 characters on one line")
	}
	return name, nil
}

// BeginPasskeyRegistration starts adding a passkey for u, with proof (the
// current password and, while TOTP is on, a code or a recovery code:
// stepUp, as setting up TOTP asks). It returns the creation options
// ({"publicKey": {...}}, see the top of this file): a discoverable
// credential verifying its user, attestation "none", u's passkeys
// excluded. The challenge works once, for 5 minutes; a new one replaces
// it. Errors: EUNAUTHENTICATED, EMFAREQUIRED (a challenge), ERATELIMITED,
// EUNAVAILABLE (stepUp; or the base URL cannot be a relying party).
func (s *Identity) BeginPasskeyRegistration(ctx context.Context, u roster.User, proof StepUp, ip string) (options json.RawMessage, err error) {
	wa, err := s.webAuthn()
	if err != nil {
		return nil, err
	}
	if err := s.stepUp(ctx, u, proof, ip, "add a passkey"); err != nil {
		return nil, err
	}
	pu, _, err := s.passkeyUserOf(ctx, u)
	if err != nil {
		return nil, err
	}
	creation, sess, err := wa.BeginRegistration(pu,
		webauthn.WithExclusions(webauthn.Credentials(pu.creds).CredentialDescriptors()),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation))
	if err != nil {
		return nil, err
	}
	if err := s.putFlow(ctx, registrationKey(u.ID), u.ID, flowRegistration, sess); err != nil {
		return nil, err
	}
	return json.Marshal(creation)
}

// FinishPasskeyRegistration adds the passkey the browser made from the
// options BeginPasskeyRegistration returned (credential: see the top of
// this file) under name ("" → "Passkey"). It is audited in each of u's
// accounts (user.passkey_add) and mailed to u. The user's first passkey
// is a second factor: the check index learns it (every replica, through
// the change log). Errors: EINVALID (the name; a credential that is not
// one, was not made for the challenge, origin or relying party, does not
// verify its user or is not discoverable; no registration begun, or it
// expired or was used), ECONFLICT (the passkey is registered already).
func (s *Identity) FinishPasskeyRegistration(ctx context.Context, u roster.User, name string, credential json.RawMessage, ip string) (roster.Passkey, error) {
	wa, err := s.webAuthn()
	if err != nil {
		return roster.Passkey{}, err
	}
	if name, err = passkeyName(name); err != nil {
		return roster.Passkey{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credential)
	if err != nil {
		return roster.Passkey{}, refusedPasskey(roster.EINVALID, "credential", "not a credential the browser made", err)
	}
	_, sess, err := s.takeFlow(ctx, registrationKey(u.ID), flowRegistration,
		roster.FieldErrorf("credential", roster.EINVALID, "No passkey is being added, or it took longer than %s: start again", roster.DurationWords(passkeyFlowTTL)))
	if err != nil {
		return roster.Passkey{}, err
	}
	pu, _, err := s.passkeyUserOf(ctx, u)
	if err != nil {
		return roster.Passkey{}, err
	}
	cred, err := wa.CreateCredential(pu, sess, parsed)
	if err != nil {
		return roster.Passkey{}, refusedPasskey(roster.EINVALID, "credential", "adding it", err)
	}
	if !cred.Flags.UserVerified {
		return roster.Passkey{}, roster.FieldErrorf("credential", roster.EINVALID, "The passkey was refused: it did not verify you (a PIN or a biometric)")
	}
	p := store.Passkey{UserID: u.ID, CredentialID: cred.ID, PublicKey: cred.PublicKey, SignCount: cred.Authenticator.SignCount,
		AAGUID: cred.Authenticator.AAGUID, BackupEligible: cred.Flags.BackupEligible}
	p.Name, p.BackedUp = name, cred.Flags.BackupState
	for _, t := range cred.Transport {
		p.Transports = append(p.Transports, string(t))
	}
	var created store.Passkey
	err = s.c.Write(ctx, func(tx *store.Tx) error {
		// created, not p: a retried attempt starts again from the same
		// input (Transact's rule).
		var err error
		if created, err = tx.CreatePasskey(ctx, p); errors.Is(err, store.ErrUnique) {
			return roster.FieldErrorf("credential", roster.ECONFLICT, "This passkey is registered already")
		} else if err != nil {
			return err
		}
		all, err := tx.UserPasskeys(ctx, u.ID)
		if err != nil {
			return err
		}
		if len(all) == 1 {
			// The first passkey is a second factor: the index's MFA fact
			// of the user may turn on.
			if err := s.changedUser(ctx, tx, u.ID); err != nil {
				return err
			}
		}
		if err := s.auditUser(ctx, tx, u, ip, roster.ActionUserPasskeyAdd, created.Name); err != nil {
			return err
		}
		return s.notice(ctx, tx, u, "A passkey was added",
			fmt.Sprintf("The passkey %q was added to your Roster login: it signs you in without your password.\n\n"+
				"If you did not add it, remove it in Profile & security and reset your password at once.", created.Name))
	})
	if err != nil {
		return roster.Passkey{}, err
	}
	return created.Passkey, nil
}

// Passkeys lists u's passkeys, oldest first.
func (s *Identity) Passkeys(ctx context.Context, u roster.User) ([]roster.Passkey, error) {
	_, ps, err := s.passkeyUserOf(ctx, u)
	out := make([]roster.Passkey, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.Passkey)
	}
	return out, err
}

// RenamePasskey names one of u's passkeys ("" → "Passkey"), audited
// (user.passkey_rename). Errors: EINVALID (the name), ENOTFOUND (not one
// of u's).
func (s *Identity) RenamePasskey(ctx context.Context, u roster.User, id int64, name string) (roster.Passkey, error) {
	name, err := passkeyName(name)
	if err != nil {
		return roster.Passkey{}, err
	}
	var p store.Passkey
	err = s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		if p, err = tx.RenamePasskey(ctx, u.ID, id, name); err != nil {
			return core.DBErr(err, "No such passkey")
		}
		return s.auditUser(ctx, tx, u, "", roster.ActionUserPasskeyRename, name)
	})
	return p.Passkey, err
}

// DeletePasskey removes one of u's passkeys, with proof (stepUp: the
// password, and a code while TOTP is on); audited (user.passkey_delete)
// and mailed. Removing the last second factor is allowed, as turning TOTP
// off is: accounts that require two-factor sign-in refuse u until they
// have one again. The check index learns when the last passkey goes.
// Errors: ENOTFOUND (not one of u's), EUNAUTHENTICATED, EMFAREQUIRED,
// ERATELIMITED, EUNAVAILABLE (stepUp).
func (s *Identity) DeletePasskey(ctx context.Context, u roster.User, id int64, proof StepUp, ip string) error {
	if err := s.stepUp(ctx, u, proof, ip, "remove a passkey"); err != nil {
		return err
	}
	var p store.Passkey
	err := s.c.Write(ctx, func(tx *store.Tx) error {
		var err error
		if p, err = tx.DeletePasskey(ctx, u.ID, id); err != nil {
			return core.DBErr(err, "No such passkey")
		}
		left, err := tx.UserPasskeys(ctx, u.ID)
		if err != nil {
			return err
		}
		if len(left) == 0 {
			if err := s.changedUser(ctx, tx, u.ID); err != nil {
				return err
			}
		}
		if err := s.auditUser(ctx, tx, u, ip, roster.ActionUserPasskeyDelete, p.Name); err != nil {
			return err
		}
		return s.notice(ctx, tx, u, "A passkey was removed",
			fmt.Sprintf("The passkey %q was removed from your Roster login: it no longer signs you in.\n\n"+
				"If you did not remove it, reset your password at once.", p.Name))
	})
	return err
}

// BeginPasskeyLogin starts a passwordless sign-in: request options
// ({"publicKey": {...}}, see the top of this file) naming no credential
// (the authenticator offers its discoverable ones, so conditional
// mediation, the browser's autofill, works with them), user verification
// required, and the flow ID to finish with (one use, 5 minutes). Each
// start stores a flow, so a client (ip) makes at most
// guard.FlowStartsPerIP in guard.FlowStartWindow. Errors: EUNAVAILABLE,
// ERATELIMITED (with RetryAfter).
func (s *Identity) BeginPasskeyLogin(ctx context.Context, ip string) (options json.RawMessage, flowID string, err error) {
	if err := s.g.Limit(ctx, "passkey:ip:", guard.IPKey(ip), guard.FlowStartWindow, guard.FlowStartsPerIP, &s.c.Stats.LoginThrottled,
		"Too many passkey sign-ins from your network: try again in %s"); err != nil {
		return nil, "", err
	}
	wa, err := s.webAuthn()
	if err != nil {
		return nil, "", err
	}
	assertion, sess, err := wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, "", err
	}
	flowID, keyHash := core.NewToken()
	if err := s.putFlow(ctx, keyHash, 0, flowLogin, sess); err != nil {
		return nil, "", err
	}
	options, err = json.Marshal(assertion)
	return options, flowID, err
}

var errPasskeyFlowExpired = roster.Errorf(roster.EUNAUTHENTICATED,
	"This passkey sign-in expired or was used (each works once, for %s): try again", roster.DurationWords(passkeyFlowTTL))

// FinishPasskeyLogin completes a passwordless sign-in with the browser's
// credential and starts a session: the passkey verified its user, two
// factors, so no second factor is asked. Failures count for the login
// throttle: against the client until the credential names its user, then
// against the address too. A signature counter that went back (a copied
// authenticator) is refused, the passkey left as it was, and audited in
// the user's accounts (passkey.clone_detected). Errors: EUNAUTHENTICATED
// (unknown, used or expired flow; a credential that is not one, unknown,
// or refused: wrong origin, relying party, challenge or signature, no
// user verification, a counter gone back), EEMAILUNVERIFIED,
// ERATELIMITED, EUNAVAILABLE.
func (s *Identity) FinishPasskeyLogin(ctx context.Context, flowID string, credential json.RawMessage, ip, userAgent string) (LoginResult, error) {
	wa, err := s.webAuthn()
	if err != nil {
		return LoginResult{}, err
	}
	try, err := s.g.ClientCheck(ctx, ip)
	if err != nil {
		return LoginResult{}, err
	}
	if err := try.Hit(ctx); err != nil {
		return LoginResult{}, err
	}
	failed := func(email, what string) { s.loginFailed(email, ip, email != "", what) }
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		failed("", "passkey (not a credential)")
		return LoginResult{}, refusedPasskey(roster.EUNAUTHENTICATED, "credential", "not a credential the browser gave", err)
	}
	_, sess, err := s.takeFlow(ctx, core.HashToken(flowID), flowLogin, errPasskeyFlowExpired)
	if err != nil {
		failed("", "passkey (flow)")
		return LoginResult{}, err
	}
	var p store.Passkey
	err = s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		p, err = tx.PasskeyByCredential(ctx, parsed.RawID)
		return err
	})
	if errors.Is(err, store.ErrNoRows) {
		failed("", "passkey (unknown)")
		return LoginResult{}, roster.FieldErrorf("credential", roster.EUNAUTHENTICATED, "This passkey is not registered with Roster (it may have been removed)")
	} else if err != nil {
		return LoginResult{}, err
	}
	u, err := s.c.DB.UserByID(ctx, p.UserID)
	if err != nil {
		return LoginResult{}, core.DBErr(err, "No such user")
	}
	known, err := s.c.DB.KnownLogin(ctx, u.ID, guard.IPKey(ip), s.c.Config.KnownLoginAge)
	if err != nil {
		return LoginResult{}, err
	}
	if err := try.Found(ctx, u.Email, known); err != nil {
		return LoginResult{}, err
	}
	if err := s.checkAssertion(ctx, wa, u, p, sess, parsed, true, ip); err != nil {
		failed(u.Email, "passkey")
		return LoginResult{}, err
	}
	if !u.EmailVerified {
		try.Succeeded(ctx)
		return LoginResult{}, roster.Errorf(roster.EEMAILUNVERIFIED, "Verify your email address first: follow the link we mailed to %s", u.Email)
	}
	try.Succeeded(ctx)
	return s.startSession(ctx, u, ip, userAgent)
}

// checkAssertion checks the browser's answer against the stored passkey p
// of u and the ceremony sess, and records its use (the counter forward).
// discoverable: the ceremony named no credential (passwordless).
func (s *Identity) checkAssertion(ctx context.Context, wa *webauthn.WebAuthn, u roster.User, p store.Passkey,
	sess webauthn.SessionData, parsed *protocol.ParsedCredentialAssertionData, discoverable bool, ip string) error {
	pu, _, err := s.passkeyUserOf(ctx, u)
	if err != nil {
		return err
	}
	var cred *webauthn.Credential
	if discoverable {
		cred, err = wa.ValidateDiscoverableLogin(func(rawID, handle []byte) (webauthn.User, error) { return pu, nil }, sess, parsed)
	} else {
		cred, err = wa.ValidateLogin(pu, sess, parsed)
	}
	if err != nil {
		return refusedPasskey(roster.EUNAUTHENTICATED, "credential", "signing in", err)
	}
	if !cred.Flags.UserVerified {
		return roster.FieldErrorf("credential", roster.EUNAUTHENTICATED, "The passkey was refused: it did not verify you (a PIN or a biometric)")
	}
	cloned := cred.Authenticator.CloneWarning
	if !cloned {
		err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
			return tx.UsePasskey(ctx, p.ID, cred.Authenticator.SignCount, cred.Flags.BackupState)
		})
		if errors.Is(err, store.ErrNoRows) {
			cloned = true // another sign-in took this count first
		} else if err != nil {
			return err
		}
	}
	if cloned {
		s.c.Log().Warn("passkey signature counter went back: refused", "user_id", u.ID, "passkey_id", p.ID,
			"stored", p.SignCount, "got", parsed.Response.AuthenticatorData.Counter, "ip", ip)
		if err := s.c.DB.Transact(context.WithoutCancel(ctx), func(tx *store.Tx) error {
			return s.auditUser(ctx, tx, u, ip, roster.ActionPasskeyCloneDetected, p.Name)
		}); err != nil {
			return err
		}
		return roster.FieldErrorf("credential", roster.EUNAUTHENTICATED,
			"The passkey was refused: its signature counter went back, as a copied authenticator's does")
	}
	return nil
}

// BeginPasskeySecondFactor starts the second factor of a password login
// with a passkey: mfaToken is the pending-login token the login answered
// with (LoginResult.Pending, with EMFAREQUIRED). It returns request
// options naming the user's passkeys, user verification required (one
// use, 5 minutes; a new one replaces it). Errors: EUNAUTHENTICATED (the
// token is unknown, used or expired), ECONFLICT (the user has no
// passkey), EUNAVAILABLE.
func (s *Identity) BeginPasskeySecondFactor(ctx context.Context, mfaToken string) (options json.RawMessage, err error) {
	wa, err := s.webAuthn()
	if err != nil {
		return nil, err
	}
	u, err := s.pendingUser(ctx, mfaToken)
	if err != nil {
		return nil, err
	}
	pu, _, err := s.passkeyUserOf(ctx, u)
	if err != nil {
		return nil, err
	}
	if len(pu.creds) == 0 {
		return nil, roster.Errorf(roster.ECONFLICT, "You have no passkey: enter a code from your authenticator app or a recovery code")
	}
	assertion, sess, err := wa.BeginLogin(pu, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, err
	}
	if err := s.putFlow(ctx, secondFactorKey(mfaToken), u.ID, flowSecondFactor, sess); err != nil {
		return nil, err
	}
	return json.Marshal(assertion)
}

// pendingUser returns the user of a live pending login.
func (s *Identity) pendingUser(ctx context.Context, pending string) (roster.User, error) {
	uid, err := s.c.DB.PendingLogin(ctx, core.HashToken(pending))
	if errors.Is(err, store.ErrNoRows) {
		return roster.User{}, roster.FieldErrorf("mfa_token", roster.EUNAUTHENTICATED, "This sign-in expired: enter your email and password again")
	} else if err != nil {
		return roster.User{}, err
	}
	u, err := s.c.DB.UserByID(ctx, uid)
	return u, core.DBErr(err, "No such user")
}

// FinishPasskeySecondFactor completes a password login with the passkey
// the browser gave for BeginPasskeySecondFactor's options, ends the
// pending login and starts a session. A refused passkey counts as a
// failed sign-in (from this client and against the address), as a wrong
// code does. Errors: EUNAUTHENTICATED (the token or the ceremony unknown,
// used or expired; the passkey refused, as FinishPasskeyLogin),
// ERATELIMITED, EUNAVAILABLE.
func (s *Identity) FinishPasskeySecondFactor(ctx context.Context, mfaToken string, credential json.RawMessage, ip, userAgent string) (LoginResult, error) {
	wa, err := s.webAuthn()
	if err != nil {
		return LoginResult{}, err
	}
	u, err := s.pendingUser(ctx, mfaToken)
	if err != nil {
		return LoginResult{}, err
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
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		s.loginFailed(u.Email, ip, true, "passkey (not a credential)")
		return LoginResult{}, refusedPasskey(roster.EUNAUTHENTICATED, "credential", "not a credential the browser gave", err)
	}
	uid, sess, err := s.takeFlow(ctx, secondFactorKey(mfaToken), flowSecondFactor, errPasskeyFlowExpired)
	if err == nil && uid != u.ID {
		err = errPasskeyFlowExpired
	}
	if err != nil {
		s.loginFailed(u.Email, ip, true, "passkey (flow)")
		return LoginResult{}, err
	}
	var p store.Passkey
	err = s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		p, err = tx.PasskeyByCredential(ctx, parsed.RawID)
		return err
	})
	if errors.Is(err, store.ErrNoRows) || err == nil && p.UserID != u.ID {
		s.loginFailed(u.Email, ip, true, "passkey (unknown)")
		return LoginResult{}, roster.FieldErrorf("credential", roster.EUNAUTHENTICATED, "This is not one of your passkeys")
	} else if err != nil {
		return LoginResult{}, err
	}
	if err := s.checkAssertion(ctx, wa, u, p, sess, parsed, false, ip); err != nil {
		s.loginFailed(u.Email, ip, true, "passkey")
		return LoginResult{}, err
	}
	if err := s.c.DB.Transact(ctx, func(tx *store.Tx) error { return tx.UsePendingLogin(ctx, core.HashToken(mfaToken)) }); errors.Is(err, store.ErrNoRows) {
		return LoginResult{}, roster.FieldErrorf("mfa_token", roster.EUNAUTHENTICATED, "This sign-in expired: enter your email and password again")
	} else if err != nil {
		return LoginResult{}, err
	}
	try.Succeeded(ctx)
	return s.startSession(ctx, u, ip, userAgent)
}
