package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/url"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/store"
)

// TEMPORARY (issue 24): the passkey methods' signatures with an in-memory
// stand-in behind them, so the console and its Chromium tests run before
// the service's helper merges. The lead deletes this file at the merge
// (passkeys.go holds the real methods). Nothing here is kept in the
// database, and require_mfa does not know of these passkeys.

type fakePasskey struct {
	pk   roster.Passkey
	cred webauthn.Credential
}

type fakeUser struct {
	u    roster.User
	keys []*fakePasskey
}

func (f *fakeUser) WebAuthnID() []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(f.u.ID))
	return b
}
func (f *fakeUser) WebAuthnName() string        { return f.u.Email }
func (f *fakeUser) WebAuthnDisplayName() string { return f.u.Email }
func (f *fakeUser) WebAuthnCredentials() []webauthn.Credential {
	var out []webauthn.Credential
	for _, k := range f.keys {
		out = append(out, k.cred)
	}
	return out
}

type fakeFlow struct {
	uid  int64
	data webauthn.SessionData
}

type fakePasskeys struct {
	mu    sync.Mutex
	users map[int64]*fakeUser
	flows map[string]fakeFlow
	next  int64
}

var fakes sync.Map // *Identity → *fakePasskeys

func (s *Identity) fake() *fakePasskeys {
	v, _ := fakes.LoadOrStore(s, &fakePasskeys{users: map[int64]*fakeUser{}, flows: map[string]fakeFlow{}})
	return v.(*fakePasskeys)
}

func (s *Identity) webAuthn() (*webauthn.WebAuthn, error) {
	u, err := url.Parse(s.c.Config.BaseURL)
	if err != nil {
		return nil, err
	}
	return webauthn.New(&webauthn.Config{RPID: u.Hostname(), RPDisplayName: "Roster", RPOrigins: []string{u.Scheme + "://" + u.Host}})
}

func (f *fakePasskeys) user(u roster.User) *fakeUser {
	fu := f.users[u.ID]
	if fu == nil {
		fu = &fakeUser{}
		f.users[u.ID] = fu
	}
	fu.u = u
	return fu
}

func (f *fakePasskeys) flow(id string) (fakeFlow, bool) {
	fl, ok := f.flows[id]
	delete(f.flows, id) // single use
	if ok && !fl.data.Expires.IsZero() && time.Now().After(fl.data.Expires) {
		return fl, false
	}
	return fl, ok
}

func newFlowID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

var errPasskeyRefused = roster.Errorf(roster.EUNAUTHENTICATED, "This passkey was not accepted: try again, or sign in with your password")

func (s *Identity) BeginPasskeyRegistration(ctx context.Context, u roster.User, proof StepUp, ip string) (options json.RawMessage, err error) {
	if err := s.stepUp(ctx, u, proof, ip, "adding a passkey"); err != nil {
		return nil, err
	}
	w, err := s.webAuthn()
	if err != nil {
		return nil, err
	}
	f := s.fake()
	f.mu.Lock()
	defer f.mu.Unlock()
	fu := f.user(u)
	var exclude []protocol.CredentialDescriptor
	for _, c := range fu.WebAuthnCredentials() {
		exclude = append(exclude, c.Descriptor())
	}
	opts, data, err := w.BeginRegistration(fu, webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithExclusions(exclude), webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(), UserVerification: protocol.VerificationRequired}))
	if err != nil {
		return nil, err
	}
	f.flows["reg"+string(rune(u.ID))] = fakeFlow{uid: u.ID, data: *data}
	return json.Marshal(opts)
}

func (s *Identity) FinishPasskeyRegistration(ctx context.Context, u roster.User, name string, credential json.RawMessage, ip string) (roster.Passkey, error) {
	w, err := s.webAuthn()
	if err != nil {
		return roster.Passkey{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credential)
	if err != nil {
		return roster.Passkey{}, roster.Errorf(roster.EINVALID, "The passkey could not be read: try again")
	}
	f := s.fake()
	f.mu.Lock()
	defer f.mu.Unlock()
	fl, ok := f.flow("reg" + string(rune(u.ID)))
	if !ok {
		return roster.Passkey{}, roster.Errorf(roster.EINVALID, "Adding this passkey took too long: start again")
	}
	fu := f.user(u)
	c, err := w.CreateCredential(fu, fl.data, parsed)
	if err != nil {
		return roster.Passkey{}, roster.Errorf(roster.EINVALID, "The passkey was not accepted: %v", err)
	}
	f.next++
	pk := roster.Passkey{ID: f.next, Name: name, CreatedAt: time.Now(), BackedUp: c.Flags.BackupState}
	fu.keys = append(fu.keys, &fakePasskey{pk: pk, cred: *c})
	return pk, nil
}

func (s *Identity) Passkeys(ctx context.Context, u roster.User) ([]roster.Passkey, error) {
	f := s.fake()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []roster.Passkey
	for _, k := range f.user(u).keys {
		out = append(out, k.pk)
	}
	return out, nil
}

func (s *Identity) RenamePasskey(ctx context.Context, u roster.User, id int64, name string) (roster.Passkey, error) {
	if name == "" {
		return roster.Passkey{}, roster.FieldErrorf("name", roster.EINVALID, "Give the passkey a name")
	}
	f := s.fake()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range f.user(u).keys {
		if k.pk.ID == id {
			k.pk.Name = name
			return k.pk, nil
		}
	}
	return roster.Passkey{}, roster.Errorf(roster.ENOTFOUND, "No such passkey")
}

func (s *Identity) DeletePasskey(ctx context.Context, u roster.User, id int64, proof StepUp, ip string) error {
	if err := s.stepUp(ctx, u, proof, ip, "removing a passkey"); err != nil {
		return err
	}
	f := s.fake()
	f.mu.Lock()
	defer f.mu.Unlock()
	fu := f.user(u)
	for i, k := range fu.keys {
		if k.pk.ID == id {
			fu.keys = append(fu.keys[:i], fu.keys[i+1:]...)
			return nil
		}
	}
	return roster.Errorf(roster.ENOTFOUND, "No such passkey")
}

func (s *Identity) BeginPasskeyLogin(ctx context.Context) (options json.RawMessage, flowID string, err error) {
	w, err := s.webAuthn()
	if err != nil {
		return nil, "", err
	}
	opts, data, err := w.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, "", err
	}
	f := s.fake()
	f.mu.Lock()
	defer f.mu.Unlock()
	id := newFlowID()
	f.flows[id] = fakeFlow{data: *data}
	b, err := json.Marshal(opts)
	return b, id, err
}

// assert checks an assertion of one of fu's passkeys (or, fu nil, of the
// user its handle names) and moves its counter; a counter going back is
// a clone, refused.
func (s *Identity) assert(fu *fakeUser, data webauthn.SessionData, credential json.RawMessage) (*fakeUser, error) {
	w, err := s.webAuthn()
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		return nil, errPasskeyRefused
	}
	f := s.fake()
	var c *webauthn.Credential
	if fu == nil {
		var found webauthn.User
		found, c, err = w.ValidatePasskeyLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
			if len(userHandle) != 8 {
				return nil, errors.New("no such user")
			}
			u := f.users[int64(binary.BigEndian.Uint64(userHandle))]
			if u == nil {
				return nil, errors.New("no such user")
			}
			return u, nil
		}, data, parsed)
		if err == nil {
			fu = found.(*fakeUser)
		}
	} else {
		c, err = w.ValidateLogin(fu, data, parsed)
	}
	if err != nil || c.Authenticator.CloneWarning {
		return nil, errPasskeyRefused
	}
	for _, k := range fu.keys {
		if string(k.cred.ID) == string(c.ID) {
			k.cred.Authenticator.SignCount = c.Authenticator.SignCount
			k.pk.LastUsedAt = time.Now()
		}
	}
	return fu, nil
}

func (s *Identity) FinishPasskeyLogin(ctx context.Context, flowID string, credential json.RawMessage, ip, userAgent string) (LoginResult, error) {
	f := s.fake()
	f.mu.Lock()
	fl, ok := f.flow(flowID)
	var fu *fakeUser
	var err error = errPasskeyRefused
	if ok {
		fu, err = s.assert(nil, fl.data, credential)
	}
	f.mu.Unlock()
	if err != nil {
		return LoginResult{}, err
	}
	u, err := s.c.DB.UserByID(ctx, fu.u.ID)
	if err != nil {
		return LoginResult{}, err
	}
	return s.startSession(ctx, u, ip, userAgent)
}

func (s *Identity) BeginPasskeySecondFactor(ctx context.Context, mfaToken string) (options json.RawMessage, err error) {
	uid, err := s.c.DB.PendingLogin(ctx, core.HashToken(mfaToken))
	if errors.Is(err, store.ErrNoRows) {
		return nil, roster.FieldErrorf("pending", roster.EUNAUTHENTICATED, "This sign-in expired: enter your email and password again")
	} else if err != nil {
		return nil, err
	}
	w, err := s.webAuthn()
	if err != nil {
		return nil, err
	}
	f := s.fake()
	f.mu.Lock()
	defer f.mu.Unlock()
	fu := f.users[uid]
	if fu == nil || len(fu.keys) == 0 {
		return nil, roster.Errorf(roster.EINVALID, "Your login has no passkey: enter the code from your authenticator app")
	}
	opts, data, err := w.BeginLogin(fu, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, err
	}
	f.flows["mfa"+mfaToken] = fakeFlow{uid: uid, data: *data}
	return json.Marshal(opts)
}

func (s *Identity) FinishPasskeySecondFactor(ctx context.Context, mfaToken string, credential json.RawMessage, ip, userAgent string) (LoginResult, error) {
	f := s.fake()
	f.mu.Lock()
	fl, ok := f.flow("mfa" + mfaToken)
	var err error = errPasskeyRefused
	if ok {
		_, err = s.assert(f.users[fl.uid], fl.data, credential)
	}
	f.mu.Unlock()
	if err != nil {
		return LoginResult{}, err
	}
	if err := s.c.DB.Transact(ctx, func(tx *store.Tx) error { return tx.UsePendingLogin(ctx, core.HashToken(mfaToken)) }); err != nil {
		return LoginResult{}, roster.FieldErrorf("pending", roster.EUNAUTHENTICATED, "This sign-in expired: enter your email and password again")
	}
	u, err := s.c.DB.UserByID(ctx, fl.uid)
	if err != nil {
		return LoginResult{}, err
	}
	return s.startSession(ctx, u, ip, userAgent)
}
