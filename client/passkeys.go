package client

import (
	"context"
	"encoding/json"
	"strconv"
	"time"
)

// --- passkeys (issue 24)

// Passkey is a WebAuthn credential of the logged-in user.
type Passkey struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"` // zero: never used to sign in
	BackedUp   bool      `json:"backed_up"`    // synced by its authenticator
}

// StepUp is what a change to one's own second factor asks for again: the
// current password and, while TOTP is on, a code or a recovery code.
type StepUp struct {
	Password     string `json:"password"`
	OTP          string `json:"otp,omitempty"`
	RecoveryCode string `json:"recovery_code,omitempty"`
}

// PasskeyOptions is WebAuthn options as the API answers them (public_key):
// PublicKeyCredentialCreationOptionsJSON or RequestOptionsJSON, binary
// members in base64url, for the authenticator (the browser's
// PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON).
type PasskeyOptions = json.RawMessage

// BeginPasskeyRegistration starts adding a passkey, with the current
// password (and, while TOTP is on, a code: proof.OTP or
// proof.RecoveryCode) (POST /v1/me/passkeys/registration).
func (c *Client) BeginPasskeyRegistration(ctx context.Context, proof StepUp) (PasskeyOptions, error) {
	var out struct {
		PublicKey json.RawMessage `json:"public_key"`
	}
	err := c.Do(ctx, "POST", "/v1/me/passkeys/registration", proof, &out)
	return out.PublicKey, err
}

// FinishPasskeyRegistration adds the passkey whose credential (the
// PublicKeyCredential's JSON) the authenticator made from the options
// (POST /v1/me/passkeys/registration/finish).
func (c *Client) FinishPasskeyRegistration(ctx context.Context, name string, credential json.RawMessage) (Passkey, error) {
	var p Passkey
	err := c.Do(ctx, "POST", "/v1/me/passkeys/registration/finish", map[string]any{"name": name, "credential": credential}, &p)
	return p, err
}

// Passkeys lists the user's passkeys (GET /v1/me/passkeys).
func (c *Client) Passkeys(ctx context.Context) ([]Passkey, error) {
	var out struct {
		Objects []Passkey `json:"objects"`
	}
	err := c.Do(ctx, "GET", "/v1/me/passkeys", nil, &out)
	return out.Objects, err
}

// RenamePasskey names one of the user's passkeys (PATCH /v1/me/passkeys/{id}).
func (c *Client) RenamePasskey(ctx context.Context, id int64, name string) (Passkey, error) {
	var p Passkey
	err := c.Do(ctx, "PATCH", "/v1/me/passkeys/"+strconv.FormatInt(id, 10), map[string]string{"name": name}, &p)
	return p, err
}

// DeletePasskey removes one of the user's passkeys, with the current
// password (DELETE /v1/me/passkeys/{id}).
func (c *Client) DeletePasskey(ctx context.Context, id int64, proof StepUp) error {
	return c.Do(ctx, "DELETE", "/v1/me/passkeys/"+strconv.FormatInt(id, 10), proof, nil)
}

// BeginPasskeyLogin starts a passwordless sign-in: the request options
// and the flow ID to finish with (POST /v1/passkeys/login).
func (c *Client) BeginPasskeyLogin(ctx context.Context) (options PasskeyOptions, flowID string, err error) {
	var out struct {
		PublicKey json.RawMessage `json:"public_key"`
		FlowID    string          `json:"flow_id"`
	}
	err = c.Do(ctx, "POST", "/v1/passkeys/login", map[string]any{}, &out)
	return out.PublicKey, out.FlowID, err
}

// FinishPasskeyLogin signs in with the passkey's assertion (POST
// /v1/passkeys/login/finish); with WithSession the client keeps the
// session.
func (c *Client) FinishPasskeyLogin(ctx context.Context, flowID string, credential json.RawMessage) (User, error) {
	var out struct {
		User User `json:"user"`
	}
	err := c.Do(ctx, "POST", "/v1/passkeys/login/finish", map[string]any{"flow_id": flowID, "credential": credential}, &out)
	return out.User, err
}

// BeginPasskeySecondFactor starts the passkey as the second factor of a
// login that answered mfa_required (its Error.MFAToken) (POST
// /v1/login/passkey).
func (c *Client) BeginPasskeySecondFactor(ctx context.Context, mfaToken string) (PasskeyOptions, error) {
	var out struct {
		PublicKey json.RawMessage `json:"public_key"`
	}
	err := c.Do(ctx, "POST", "/v1/login/passkey", map[string]string{"mfa_token": mfaToken}, &out)
	return out.PublicKey, err
}

// FinishPasskeySecondFactor completes the login with the passkey's
// assertion (POST /v1/login/passkey/finish).
func (c *Client) FinishPasskeySecondFactor(ctx context.Context, mfaToken string, credential json.RawMessage) (User, error) {
	var out struct {
		User User `json:"user"`
	}
	err := c.Do(ctx, "POST", "/v1/login/passkey/finish", map[string]any{"mfa_token": mfaToken, "credential": credential}, &out)
	return out.User, err
}
