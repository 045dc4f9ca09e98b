package roster

import "time"

// Passkey is a WebAuthn credential a user signs in with: discoverable (the
// authenticator keeps the user's handle, so no address is typed) and
// verifying its user (a PIN or a biometric), so one passkey is two factors.
// BackedUp says the authenticator syncs it (a phone's or a password
// manager's passkey) rather than keeping it on one device.
type Passkey struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"-"`
	BackedUp   bool      `json:"backed_up"`
}
