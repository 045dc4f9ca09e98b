package identity

import (
	"context"
	"encoding/json"

	"github.com/rosterhq/roster"
)

// TEMPORARY (issue 24): the passkey methods' signatures, so the console
// compiles before the service's helper merges; the lead deletes this file
// at the merge (passkeys.go holds the real methods). Passkeys lists none,
// so Profile & security still opens; every other method refuses.

var errPasskeysNotYet = roster.Errorf(roster.EINVALID, "Passkeys are not ready yet")

func (s *Identity) BeginPasskeyRegistration(ctx context.Context, u roster.User, proof StepUp, ip string) (options json.RawMessage, err error) {
	return nil, errPasskeysNotYet
}

func (s *Identity) FinishPasskeyRegistration(ctx context.Context, u roster.User, name string, credential json.RawMessage, ip string) (roster.Passkey, error) {
	return roster.Passkey{}, errPasskeysNotYet
}

func (s *Identity) Passkeys(ctx context.Context, u roster.User) ([]roster.Passkey, error) {
	return nil, nil
}

func (s *Identity) RenamePasskey(ctx context.Context, u roster.User, id int64, name string) (roster.Passkey, error) {
	return roster.Passkey{}, errPasskeysNotYet
}

func (s *Identity) DeletePasskey(ctx context.Context, u roster.User, id int64, proof StepUp, ip string) error {
	return errPasskeysNotYet
}

func (s *Identity) BeginPasskeyLogin(ctx context.Context) (options json.RawMessage, flowID string, err error) {
	return nil, "", errPasskeysNotYet
}

func (s *Identity) FinishPasskeyLogin(ctx context.Context, flowID string, credential json.RawMessage, ip, userAgent string) (LoginResult, error) {
	return LoginResult{}, errPasskeysNotYet
}

func (s *Identity) BeginPasskeySecondFactor(ctx context.Context, mfaToken string) (options json.RawMessage, err error) {
	return nil, errPasskeysNotYet
}

func (s *Identity) FinishPasskeySecondFactor(ctx context.Context, mfaToken string, credential json.RawMessage, ip, userAgent string) (LoginResult, error) {
	return LoginResult{}, errPasskeysNotYet
}
