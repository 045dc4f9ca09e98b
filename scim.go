package roster

import "time"

// SCIM 2.0 provisioning (issue 23): the company's directory (Okta, Entra
// ID, ...) adds, changes, deactivates and removes an account's members.

// SCIMToken is a bearer token the directory presents to {BASE_URL}/scim/v2;
// it names its account. The token itself is shown once and stored hashed.
type SCIMToken struct {
	ID         int64     `json:"id"`
	AccountSeq int64     `json:"-"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"-"` // zero: never used
}

// SCIMSettings is how provisioned members get their role: the role a
// request names (the Roster extension's "role"), else the most powerful
// role among their groups mapped in GroupRoles (by display name), else
// DefaultRole (Support unless set).
type SCIMSettings struct {
	DefaultRole Role
	GroupRoles  map[string]Role
}

// SCIMUserSchemaExtension is the Roster extension of the SCIM user, whose
// attribute "role" names the member's role.
const SCIMUserSchemaExtension = "urn:ietf:params:scim:schemas:extension:roster:2.0:User"
