package identity

import (
	"context"
	"encoding/json"

	"github.com/rosterhq/roster"
)

// This file is passkeys (WebAuthn, through go-webauthn/webauthn).
//
// Options (what Begin* return) are the JSON of go-webauthn's
// protocol.CredentialCreation / protocol.CredentialAssertion:
// {"publicKey": {...}} with binary fields (challenge, user.id,
// excludeCredentials[].id, allowCredentials[].id) in base64url without
// padding; the browser's navigator.credentials.create/get takes the inner
// object as its publicKey member once those fields are decoded to bytes.
// A credential (what Finish* take) is the JSON of the PublicKeyCredential
// the browser returns (toJSON(): id, rawId, type, response.* in base64url).

var errPasskeyTODO = roster.Errorf(roster.EUNAVAILABLE, "Passkeys are not ready yet")

// BeginPasskeyRegistration starts adding a passkey for u, with the
// current password (step-up). TODO.
func (s *Identity) BeginPasskeyRegistration(ctx context.Context, u roster.User, proof StepUp, ip string) (options json.RawMessage, err error) {
	return nil, errPasskeyTODO
}

// FinishPasskeyRegistration adds the passkey the browser made. TODO.
func (s *Identity) FinishPasskeyRegistration(ctx context.Context, u roster.User, name string, credential json.RawMessage, ip string) (roster.Passkey, error) {
	return roster.Passkey{}, errPasskeyTODO
}

// Passkeys lists u's passkeys. TODO.
func (s *Identity) Passkeys(ctx context.Context, u roster.User) ([]roster.Passkey, error) {
	return nil, errPasskeyTODO
}

// RenamePasskey renames one of u's passkeys. TODO.
func (s *Identity) RenamePasskey(ctx context.Context, u roster.User, id int64, name string) (roster.Passkey, error) {
	return roster.Passkey{}, errPasskeyTODO
}

// DeletePasskey removes one of u's passkeys, with the password. TODO.
func (s *Identity) DeletePasskey(ctx context.Context, u roster.User, id int64, proof StepUp, ip string) error {
	return errPasskeyTODO
}

// BeginPasskeyLogin starts a passwordless sign-in. TODO.
func (s *Identity) BeginPasskeyLogin(ctx context.Context) (options json.RawMessage, flowID string, err error) {
	return nil, "", errPasskeyTODO
}

// FinishPasskeyLogin completes a passwordless sign-in. TODO.
func (s *Identity) FinishPasskeyLogin(ctx context.Context, flowID string, credential json.RawMessage, ip, userAgent string) (LoginResult, error) {
	return LoginResult{}, errPasskeyTODO
}

// BeginPasskeySecondFactor starts the passkey as the second factor of a
// password login. TODO.
func (s *Identity) BeginPasskeySecondFactor(ctx context.Context, mfaToken string) (options json.RawMessage, err error) {
	return nil, errPasskeyTODO
}

// FinishPasskeySecondFactor completes it. TODO.
func (s *Identity) FinishPasskeySecondFactor(ctx context.Context, mfaToken string, credential json.RawMessage, ip, userAgent string) (LoginResult, error) {
	return LoginResult{}, errPasskeyTODO
}
