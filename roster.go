// Package roster holds the words of Roster's product contract: accounts, users,
// members, roles, permissions, invitations and plans, and the one application
// error type. It imports no driver and no net/http; storage and transport live
// in their own packages at the edges.
package roster

import (
	"fmt"
	"strings"
	"time"
)

// Role is one of the five predefined roles. The zero value is "no role".
type Role uint8

// The five roles, in the order of permissions.csv's columns.
const (
	RoleNone Role = iota
	RoleOwner
	RoleAdmin
	RoleDeveloper
	RoleFinanceAnalyst
	RoleSupport
)

// Roles lists every assignable role (owner included) in matrix order.
var Roles = []Role{RoleOwner, RoleAdmin, RoleDeveloper, RoleFinanceAnalyst, RoleSupport}

var roleNames = [...]string{"", "owner", "admin", "developer", "finance_analyst", "support"}

// String returns the role's API name, e.g. "finance_analyst".
func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// Label returns the role's name for a person, e.g. "Finance analyst".
func (r Role) Label() string {
	switch r {
	case RoleOwner:
		return "Owner"
	case RoleAdmin:
		return "Admin"
	case RoleDeveloper:
		return "Developer"
	case RoleFinanceAnalyst:
		return "Finance analyst"
	case RoleSupport:
		return "Support"
	}
	return ""
}

// Description is the role's one line for a person choosing it, in the
// words of the help-centre pages the roles come from.
func (r Role) Description() string {
	switch r {
	case RoleOwner:
		return "Created the account. Full access, including the team; there is exactly one owner."
	case RoleAdmin:
		return "Full access to the console, including inviting, re-roling and deleting team members."
	case RoleDeveloper:
		return "For users of the API: view and edit phone numbers, settings, credentials and applications; view logs. No billing or pricing."
	case RoleFinanceAnalyst:
		return "View and edit payments and billing; view pricing. Nothing else."
	case RoleSupport:
		return "View phone numbers, billing, logs and applications; edit settings only. No credentials or pricing."
	}
	return ""
}

// LeastPowerful is the role an invitation offers unless another is chosen:
// Support can spend no money, change no number and see no credential; its
// only write is the account's settings.
const LeastPowerful = RoleSupport

// ParseRole parses an API role name. It returns EINVALID for an unknown name.
func ParseRole(s string) (Role, error) {
	for i, n := range roleNames {
		if i > 0 && n == s {
			return Role(i), nil
		}
	}
	return RoleNone, FieldErrorf("role", EINVALID, "Unknown role %q: use one of owner, admin, developer, finance_analyst, support", s)
}

// ParseAssignableRole parses a role that may be given by invitation or role
// change: any role but owner. Owner answers EOWNERIMMUTABLE.
func ParseAssignableRole(s string) (Role, error) {
	r, err := ParseRole(s)
	if err != nil {
		return r, err
	}
	if r == RoleOwner {
		return RoleNone, FieldErrorf("role", EOWNERIMMUTABLE, "No one can be given the owner role")
	}
	return r, nil
}

// Permission is "<area>.<action>", numbered so a set of them fits a bitmask.
// The zero value, PermissionNone, means "not declared": it allows nothing,
// and a route or page declared without a permission fails a test.
type Permission uint8

// The permissions, in the order of permissions.csv's rows, after
// PermissionNone; AnyMember comes last and is not in the matrix.
const (
	PermissionNone Permission = iota
	NumbersView
	NumbersEdit
	BillingView
	BillingEdit
	SettingsView
	SettingsEdit
	CredentialsView
	CredentialsEdit
	ApplicationsView
	ApplicationsEdit
	LogsView
	PricingView
	TeamView
	TeamEdit
	AuditView
	// AnyMember, as what a route or page needs: any member of the account,
	// active or suspended (the account's own page, leaving it). The check
	// never allows it: the gate answers it from membership alone.
	AnyMember
)

// NumPermissions is how many permissions the matrix has.
const NumPermissions = int(AnyMember) - 1

// AllPermissions lists the matrix's permissions in order.
var AllPermissions = func() []Permission {
	out := make([]Permission, 0, NumPermissions)
	for p := NumbersView; p < AnyMember; p++ {
		out = append(out, p)
	}
	return out
}()

var permissionNames = [...]string{
	"", "numbers.view", "numbers.edit", "billing.view", "billing.edit",
	"settings.view", "settings.edit", "credentials.view", "credentials.edit",
	"applications.view", "applications.edit", "logs.view", "pricing.view",
	"team.view", "team.edit", "audit.view",
}

// String returns the permission's name, e.g. "billing.edit".
func (p Permission) String() string {
	switch {
	case p == PermissionNone:
		return "(no permission declared)"
	case p == AnyMember:
		return "membership"
	case p < AnyMember:
		return permissionNames[p]
	}
	return fmt.Sprintf("permission(%d)", uint8(p))
}

var permissionPhrases = [...]string{
	"", "View phone numbers", "Edit phone numbers", "View payments and billing", "Edit payments and billing",
	"View settings", "Edit settings", "View account credentials", "Rotate account credentials",
	"View applications", "Edit applications", "View logs", "View pricing",
	"View the team", "Manage the team", "View the audit log",
}

// Phrase is the permission for a person, e.g. "Edit phone numbers".
func (p Permission) Phrase() string {
	switch {
	case p == AnyMember:
		return "Be a member of the account"
	case p > PermissionNone && p < AnyMember:
		return permissionPhrases[p]
	}
	return p.String()
}

// Area is the part of the console a permission guards, for a person:
// "Phone numbers" for numbers.view and numbers.edit. A review groups its
// columns by it.
func (p Permission) Area() string {
	area, _, _ := strings.Cut(p.String(), ".")
	switch area {
	case "numbers":
		return "Phone numbers"
	case "billing":
		return "Billing"
	case "settings":
		return "Settings"
	case "credentials":
		return "Credentials"
	case "applications":
		return "Applications"
	case "logs":
		return "Logs"
	case "pricing":
		return "Pricing"
	case "team":
		return "Team"
	case "audit":
		return "Audit log"
	}
	return p.Phrase()
}

// Action is what the permission lets one do within its Area, as one word:
// the first of its Phrase ("View", "Edit", "Rotate", "Manage").
func (p Permission) Action() string {
	verb, _, _ := strings.Cut(p.Phrase(), " ")
	return verb
}

// ParsePermission parses a permission name of the matrix.
func ParsePermission(s string) (Permission, bool) {
	for i, n := range permissionNames {
		if i > 0 && n == s {
			return Permission(i), true
		}
	}
	return PermissionNone, false
}

// Plan is an account's commercial plan. Team members need PlanCommitted.
type Plan string

const (
	PlanStandard  Plan = "standard"
	PlanCommitted Plan = "committed"
)

// Minimums of a committed plan.
const (
	MinCommitmentUSD  = 750
	MinContractMonths = 12
)

// MemberStatus is a member's state in an account.
type MemberStatus string

const (
	// MemberActive: the member acts with their role.
	MemberActive MemberStatus = "active"
	// MemberSuspended: the account left the committed plan; the member keeps
	// their place and role but has no access until the plan returns.
	MemberSuspended MemberStatus = "suspended"
	// MemberDeactivated: the company's directory deactivated the member
	// (SCIM active: false); they keep their place and role but hold
	// nothing in the account until reactivated.
	MemberDeactivated MemberStatus = "deactivated"
)

// Suspended is the one suspension rule: a member other than the owner has
// no access while the account is off the committed plan (they keep their
// place and role, and get it back when the plan returns).
func Suspended(r Role, committed bool) bool { return r != RoleOwner && !committed }

// StatusOf is a member's status under the rule above.
func StatusOf(r Role, p Plan) MemberStatus {
	if Suspended(r, p == PlanCommitted) {
		return MemberSuspended
	}
	return MemberActive
}

// ErrSuspended is the one answer to a suspended member (EPLANREQUIRED).
func ErrSuspended() *Error {
	return Errorf(EPLANREQUIRED, "Your access to this account is suspended: its plan does not include team members now")
}

// Account is the tenant. ID is its Auth ID ("MA" + 18 of [A-Z0-9]).
type Account struct {
	Seq                  int64     `json:"-"` // the database's integer ID, used by the check index
	ID                   string    `json:"id"`
	Name                 string    `json:"name"`
	Plan                 Plan      `json:"plan"`
	MonthlyCommitmentUSD int       `json:"monthly_commitment_usd"`
	ContractMonths       int       `json:"contract_months"`
	RequireMFA           bool      `json:"require_mfa"` // members need two-factor sign-in
	RequireSSO           bool      `json:"require_sso"` // members on its verified domains need its single sign-on
	CreatedAt            time.Time `json:"created_at"`
}

// ValidAuthID reports whether s has the form of an Auth ID: "MA" and 18
// characters of [A-Z0-9]. Anything else names no account, so it is
// answered as not found before it reaches a database.
func ValidAuthID(s string) bool {
	if len(s) != 20 || s[0] != 'M' || s[1] != 'A' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// User is a person with a login.
type User struct {
	ID               int64     `json:"id"`
	Email            string    `json:"email"`
	Name             string    `json:"name"`
	EmailVerified    bool      `json:"email_verified"`
	MFAEnabled       bool      `json:"mfa_enabled"`  // a second factor: TOTP on, or at least one passkey
	TOTPEnabled      bool      `json:"totp_enabled"` // two-factor sign-in with an authenticator app (TOTP) is on
	Passkeys         bool      `json:"-"`            // the user has at least one passkey
	DefaultAccountID string    `json:"default_account_id"`
	CreatedAt        time.Time `json:"created_at"`
}

// Session is one signed-in browser or client of a user.
type Session struct {
	ID         int64     `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
}

// Member is a user's place in one account.
type Member struct {
	AccountID   string       `json:"-"`
	UserID      int64        `json:"user_id"`
	Email       string       `json:"email"`
	Name        string       `json:"name"`
	Role        Role         `json:"-"`
	Status      MemberStatus `json:"status"`
	MFA         bool         `json:"mfa_enabled"`
	SSO         bool         `json:"sso"`         // has signed in through the account's single sign-on
	Provisioned bool         `json:"provisioned"` // the company's directory manages the membership (SCIM)
	JoinedAt    time.Time    `json:"joined_at"`
}

// Membership is one account as its member sees it ("Manage Accounts").
type Membership struct {
	Account   Account
	Role      Role
	Status    MemberStatus
	IsDefault bool
}

// InvitationStatus is the state of an invitation.
type InvitationStatus string

const (
	InvitationPending   InvitationStatus = "pending"
	InvitationAccepted  InvitationStatus = "accepted"
	InvitationRevoked   InvitationStatus = "revoked"
	InvitationExpired   InvitationStatus = "expired"
	InvitationSuspended InvitationStatus = "suspended" // pending, but the account left the committed plan
)

// Invitation is an offer, sent by email, to join an account with a role.
type Invitation struct {
	ID          int64            `json:"id"`
	AccountID   string           `json:"account_id"`
	AccountName string           `json:"account_name"`
	Email       string           `json:"email"`
	Role        Role             `json:"-"`
	Status      InvitationStatus `json:"status"`
	InvitedBy   int64            `json:"invited_by"`
	SendCount   int              `json:"send_count"`
	CreatedAt   time.Time        `json:"created_at"`
	LastSentAt  time.Time        `json:"last_sent_at"`
	ExpiresAt   time.Time        `json:"expires_at"`
}

// AuditEvent records who did what in which account, when, from where.
type AuditEvent struct {
	ID         int64     `json:"id"`
	AccountID  string    `json:"account_id"`
	ActorID    int64     `json:"actor_user_id"`
	ActorEmail string    `json:"actor_email"`
	Action     string    `json:"action"`
	Target     string    `json:"target"`
	Detail     string    `json:"detail"`
	IP         string    `json:"ip"`
	At         time.Time `json:"at"`
	// Read with the event, from the users as they are now: the actor's
	// name, and the person acted on where the event names one (the member
	// whose role changed, the address invited), "" otherwise.
	ActorName    string `json:"actor_name"`
	SubjectName  string `json:"subject_name"`
	SubjectEmail string `json:"subject_email"`
}

// Page asks for one page of a list.
type Page struct {
	Limit  int
	Offset int
	After  string // a cursor from the previous page's Next (keyset pagination), where a list offers it
	Next   string // set by the list: the cursor of the page after this one, "" at the end
}

// MemberQuery narrows, orders and pages an account's member list (the
// team page at any size). The zero value is every member, owner first and
// then by join time, a first page of the service's default size.
type MemberQuery struct {
	Search string       // a part of the name or the address, in any case; "" for all
	Role   Role         // only this role; 0 for every role
	Status MemberStatus // only this status; "" for every status
	MFA    string       // "on" or "off": only members with or without two-factor; "" for both
	Sort   string       // "name", "role" or "joined"; "" for owner first, then by join time
	Desc   bool         // the order reversed
	Limit  int          // rows on the page
	After  string       // the cursor of a page's Next: the page after it
	Before string       // the cursor of a page's Prev: the page before it; LastPage: the list's last page
}

// LastPage, as a list query's Before, asks for the list's last page: the
// rows before its end.
const LastPage = "last"

// MemberList is one page of a member list.
type MemberList struct {
	Members []Member
	Total   int    // members the query matches
	All     int    // members of the account
	Start   int    // the 1-based position of Members[0] among the matches; 0 when the page is empty
	Next    string // the cursor of the page after this one; "" at the end
	Prev    string // the cursor of the page before this one; "" at the start
}

// InvitationQuery narrows, orders and pages an account's pending
// invitations, as MemberQuery does its members.
type InvitationQuery struct {
	Search string           // a part of the address, in any case
	Role   Role             // 0 for every role
	Status InvitationStatus // "" for every status the list shows
	Sort   string           // "email", "role", "sent" or "expires"; "" for the newest sent first
	Desc   bool
	Limit  int
	After  string
	Before string
}

// InvitationList is one page of an invitation list.
type InvitationList struct {
	Invitations []Invitation
	Total       int
	All         int
	Start       int
	Next        string
	Prev        string
}

// Actor is who makes a change, for the audit log.
type Actor struct {
	UserID int64
	Email  string
	IP     string
}

// Delivery is one event bound for one webhook: a row of the webhook
// outbox, and what the delivery log shows.
type Delivery struct {
	ID            int64
	WebhookID     int64
	EventID       string
	EventType     string
	Body          string
	Status        string // pending, delivered, failed
	Attempts      int
	LastError     string
	CreatedAt     time.Time
	NextAttemptAt time.Time
	// Set when it is claimed for sending: where and how to send it.
	URL    string
	Secret string
}
