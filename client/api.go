package client

import (
	"context"
	"iter"
	"net/url"
	"strconv"
	"time"
)

// The five roles.
const (
	RoleOwner          = "owner"
	RoleAdmin          = "admin"
	RoleDeveloper      = "developer"
	RoleFinanceAnalyst = "finance_analyst"
	RoleSupport        = "support"
)

// The permissions of the role matrix.
const (
	PermNumbersView      = "numbers.view"
	PermNumbersEdit      = "numbers.edit"
	PermBillingView      = "billing.view"
	PermBillingEdit      = "billing.edit"
	PermSettingsView     = "settings.view"
	PermSettingsEdit     = "settings.edit"
	PermCredentialsView  = "credentials.view"
	PermCredentialsEdit  = "credentials.edit"
	PermApplicationsView = "applications.view"
	PermApplicationsEdit = "applications.edit"
	PermLogsView         = "logs.view"
	PermPricingView      = "pricing.view"
	PermTeamView         = "team.view"
	PermTeamEdit         = "team.edit"
	PermAuditView        = "audit.view"
)

// Why a check answered as it did (Decision.Reason).
const (
	ReasonAllowed           = "allowed"
	ReasonNotMember         = "not_member"
	ReasonSuspended         = "suspended"
	ReasonMissingPermission = "missing_permission"
	ReasonMFARequired       = "mfa_required"
	ReasonSSORequired       = "sso_required"
	ReasonDeactivated       = "deactivated" // the company's directory deactivated the member (SCIM)
)

// --- the permission check (service token)

// CheckRequest asks whether a user, or a personal API key presented to
// the platform, may use a permission in an account. Give UserID or APIKey.
type CheckRequest struct {
	AccountID  string `json:"account_id"`
	UserID     int64  `json:"user_id,omitempty"`
	APIKey     string `json:"api_key,omitempty"`
	Permission string `json:"permission"`
}

// Decision is the check's answer. An unknown account, user or key is not
// a member (Allowed false, Reason ReasonNotMember, Role "").
type Decision struct {
	Allowed bool   `json:"allowed"`
	Role    string `json:"role"`
	Reason  string `json:"reason"`
	// RolesWithPermission, when Reason is ReasonMissingPermission: the
	// roles that hold the permission, in role order.
	RolesWithPermission []string `json:"roles_with_permission,omitempty"`
}

// Check answers one permission check (POST /v1/authz/check; service token).
// A malformed request (unknown permission, neither or both of UserID and
// APIKey) is a 400 invalid_request *Error.
func (c *Client) Check(ctx context.Context, req CheckRequest) (Decision, error) {
	var d Decision
	err := c.Do(ctx, "POST", "/v1/authz/check", req, &d)
	return d, err
}

// CheckBatch answers up to 1000 checks at once, in order (POST
// /v1/authz/check-batch; service token). One bad item refuses the whole
// batch: a 400 *Error whose Field names it (checks[3]).
func (c *Client) CheckBatch(ctx context.Context, reqs []CheckRequest) ([]Decision, error) {
	var out struct {
		Results []Decision `json:"results"`
	}
	err := c.Do(ctx, "POST", "/v1/authz/check-batch", map[string]any{"checks": reqs}, &out)
	return out.Results, err
}

// --- sessions (WithSession)

// LoginRequest is what a person gives to log in. A user with two-factor
// sign-in on gives OTP (or RecoveryCode); without one, Login answers a 401
// *Error with Code CodeMFARequired.
type LoginRequest struct {
	Email        string `json:"email"`
	Password     string `json:"password"`
	OTP          string `json:"otp,omitempty"`
	RecoveryCode string `json:"recovery_code,omitempty"`
}

// User is a person with a login.
type User struct {
	ID               int64     `json:"id"`
	Email            string    `json:"email"`
	Name             string    `json:"name"`
	EmailVerified    bool      `json:"email_verified"`
	MFAEnabled       bool      `json:"mfa_enabled"`
	DefaultAccountID string    `json:"default_account_id"` // "" when none
	CreatedAt        time.Time `json:"created_at"`
}

// Login logs in (POST /v1/login); the client keeps the session cookie
// (make it WithSession).
func (c *Client) Login(ctx context.Context, req LoginRequest) (User, error) {
	var out struct {
		User User `json:"user"`
	}
	err := c.Do(ctx, "POST", "/v1/login", req, &out)
	return out.User, err
}

// Logout ends the session (POST /v1/logout).
func (c *Client) Logout(ctx context.Context) error {
	return c.Do(ctx, "POST", "/v1/logout", nil, nil)
}

// Me returns the logged-in user (GET /v1/me; a session only).
func (c *Client) Me(ctx context.Context) (User, error) {
	var u User
	err := c.Do(ctx, "GET", "/v1/me", nil, &u)
	return u, err
}

// --- lists

// Page asks for one page of a list: Limit 1 to 100 (0: the server's
// default, 20) and Offset.
type Page struct {
	Limit  int
	Offset int
}

func (p Page) query(q url.Values) url.Values {
	if q == nil {
		q = url.Values{}
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Offset > 0 {
		q.Set("offset", strconv.Itoa(p.Offset))
	}
	return q
}

func withQuery(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// ListMeta describes a page of a list.
type ListMeta struct {
	Limit      int    `json:"limit"`
	Offset     int    `json:"offset"`
	TotalCount int    `json:"total_count"`
	Next       string `json:"next,omitempty"` // the member list's cursor of the next page; "" on the last
}

// List is one page of a list.
type List[T any] struct {
	Meta    ListMeta `json:"meta"`
	Objects []T      `json:"objects"`
}

// --- accounts

// AccountRef names an account.
type AccountRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Membership is one account of the logged-in user's.
type Membership struct {
	Account   AccountRef `json:"account"`
	Role      string     `json:"role"`
	Status    string     `json:"status"` // active or suspended
	IsDefault bool       `json:"is_default"`
}

// Account is an account as the caller sees it: with the caller's role,
// status and permissions in it.
type Account struct {
	ID                   string    `json:"id"`
	Name                 string    `json:"name"`
	Plan                 string    `json:"plan"` // standard or committed
	MonthlyCommitmentUSD int       `json:"monthly_commitment_usd"`
	ContractMonths       int       `json:"contract_months"`
	RequireMFA           bool      `json:"require_mfa"`
	RequireSSO           bool      `json:"require_sso"`
	CreatedAt            time.Time `json:"created_at"`
	Role                 string    `json:"role,omitempty"`
	Status               string    `json:"status,omitempty"`
	// Reason says why Permissions is empty: "suspended" (the plan),
	// "mfa_required" (the account requires two-factor sign-in you lack) or
	// "sso_required" (the account requires its single sign-on of you, and
	// this session or key did not come through it).
	Reason      string   `json:"reason,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
}

// Accounts lists the logged-in user's accounts (GET /v1/me/accounts; a
// session only).
func (c *Client) Accounts(ctx context.Context, p Page) (List[Membership], error) {
	var l List[Membership]
	err := c.Do(ctx, "GET", withQuery("/v1/me/accounts", p.query(nil)), nil, &l)
	return l, err
}

// Account returns an account the caller belongs to (GET /v1/accounts/{id}).
// Any other is a 404 not_found *Error.
func (c *Client) Account(ctx context.Context, accountID string) (Account, error) {
	var a Account
	err := c.Do(ctx, "GET", accountPath(accountID, ""), nil, &a)
	return a, err
}

func accountPath(accountID, rest string) string {
	return "/v1/accounts/" + url.PathEscape(accountID) + rest
}

// --- the team

// Member is a user's place in an account.
type Member struct {
	UserID     int64     `json:"user_id"`
	Email      string    `json:"email"`
	Name       string    `json:"name"`
	Role       string    `json:"role"`
	Status     string    `json:"status"` // active or suspended
	MFAEnabled bool      `json:"mfa_enabled"`
	SSO        bool      `json:"sso"` // has signed in through the account's single sign-on
	JoinedAt   time.Time `json:"joined_at"`
}

// MembersQuery asks for one page of the member list: by Offset, or after
// a cursor (the previous page's Meta.Next), not both.
type MembersQuery struct {
	Limit  int
	Offset int
	After  string
}

// Members lists an account's members, the owner first (GET
// /v1/accounts/{id}/members; team.view). Page on with After set to the
// answer's Meta.Next until it is "", or use AllMembers.
func (c *Client) Members(ctx context.Context, accountID string, q MembersQuery) (List[Member], error) {
	v := Page{q.Limit, q.Offset}.query(nil)
	if q.After != "" {
		v.Set("after", q.After)
	}
	var l List[Member]
	err := c.Do(ctx, "GET", withQuery(accountPath(accountID, "/members"), v), nil, &l)
	return l, err
}

// AllMembers yields every member of the account, a page of 100 at a time,
// by cursor. It stops at the first error, yielding it.
func (c *Client) AllMembers(ctx context.Context, accountID string) iter.Seq2[Member, error] {
	return func(yield func(Member, error) bool) {
		q := MembersQuery{Limit: 100}
		for {
			page, err := c.Members(ctx, accountID, q)
			if err != nil {
				yield(Member{}, err)
				return
			}
			for _, m := range page.Objects {
				if !yield(m, nil) {
					return
				}
			}
			if page.Meta.Next == "" {
				return
			}
			q.After = page.Meta.Next
		}
	}
}

// SetMemberRole changes a member's role (PATCH
// /v1/accounts/{id}/members/{user_id}; team.edit). Never the owner's, nor
// to owner (403 owner_immutable).
func (c *Client) SetMemberRole(ctx context.Context, accountID string, userID int64, role string) (Member, error) {
	var m Member
	err := c.Do(ctx, "PATCH", accountPath(accountID, "/members/"+strconv.FormatInt(userID, 10)), map[string]string{"role": role}, &m)
	return m, err
}

// DeleteMember removes a member, irreversibly: their access ends before
// this returns (DELETE /v1/accounts/{id}/members/{user_id}; team.edit).
func (c *Client) DeleteMember(ctx context.Context, accountID string, userID int64) error {
	return c.Do(ctx, "DELETE", accountPath(accountID, "/members/"+strconv.FormatInt(userID, 10)), nil, nil)
}

// --- invitations

// Invitation is an offer, sent by email, to join an account with a role.
type Invitation struct {
	ID         int64     `json:"id"`
	Email      string    `json:"email"`
	Role       string    `json:"role"`
	Status     string    `json:"status"` // pending, accepted, revoked, expired or suspended
	InvitedBy  int64     `json:"invited_by"`
	SendCount  int       `json:"send_count"`
	CreatedAt  time.Time `json:"created_at"`
	LastSentAt time.Time `json:"last_sent_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// Invite invites an address to the account with a role and mails the link
// (POST /v1/accounts/{id}/invitations; team.edit; the committed plan).
func (c *Client) Invite(ctx context.Context, accountID, email, role string) (Invitation, error) {
	var inv Invitation
	err := c.Do(ctx, "POST", accountPath(accountID, "/invitations"), map[string]string{"email": email, "role": role}, &inv)
	return inv, err
}

// Invitations lists the account's pending invitations (GET
// /v1/accounts/{id}/invitations; team.view).
func (c *Client) Invitations(ctx context.Context, accountID string, p Page) (List[Invitation], error) {
	var l List[Invitation]
	err := c.Do(ctx, "GET", withQuery(accountPath(accountID, "/invitations"), p.query(nil)), nil, &l)
	return l, err
}

// RevokeInvitation revokes a pending invitation: its link stops working
// (DELETE /v1/accounts/{id}/invitations/{inv_id}; team.edit).
func (c *Client) RevokeInvitation(ctx context.Context, accountID string, invitationID int64) error {
	return c.Do(ctx, "DELETE", accountPath(accountID, "/invitations/"+strconv.FormatInt(invitationID, 10)), nil, nil)
}

// --- personal API keys (a session only)

// NewAPIKey is a personal API key just made: Key is shown only now.
type NewAPIKey struct {
	ID        int64     `json:"id"`
	AccountID string    `json:"account_id"`
	Name      string    `json:"name"`
	Prefix    string    `json:"prefix"`
	CreatedAt time.Time `json:"created_at"`
	Key       string    `json:"key"`
}

// CreateAPIKey makes a personal API key of the logged-in user for one of
// their accounts (POST /v1/me/api-keys). Use it WithAPIKey.
func (c *Client) CreateAPIKey(ctx context.Context, accountID, name string) (NewAPIKey, error) {
	var k NewAPIKey
	err := c.Do(ctx, "POST", "/v1/me/api-keys", map[string]string{"account_id": accountID, "name": name}, &k)
	return k, err
}
