package roster

import "time"

// TEMPORARY (issue 24): the console's helper needs roster.Passkey before
// the service's helper merges; the lead deletes this file at the merge
// (passkey.go holds the real type).

// Passkey is a WebAuthn credential a user signs in with.
type Passkey struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"-"`
	BackedUp   bool      `json:"backed_up"`
}
