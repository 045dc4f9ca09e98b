package scim

import (
	"context"
	"errors"
	"fmt"
	"strings"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/emailaddr"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/store"
)

// User is a member of the account as SCIM shows it: every member is a
// SCIM user whose id is the user's ID; Provisioned when the directory
// created or claimed it.
type User = store.SCIMUser

// GroupRef names a group a user is in.
type GroupRef = store.SCIMGroupRef

// UserInput is a SCIM user as the directory sends it (POST).
type UserInput struct {
	UserName   string // the work address
	Name       string // "" : the address's local part
	ExternalID string
	NamedRole  roster.Role // the Roster extension's role; 0 when not sent
}

// UserChange is what a PUT or PATCH of a user changes (nil: unchanged).
type UserChange struct {
	ExternalID *string
	NamedRole  *roster.Role // 0: none (the role comes from the groups or the default)
}

// MaxCount is the most users or groups one page of a SCIM list holds.
const MaxCount = 200

// SCIMUsers lists the account's members matching the filter (nil: all),
// from the 1-based startIndex, count at most (clamped to MaxCount), with
// how many match. The filters answered: userName eq, externalId eq,
// emails[type eq "work" and value eq ...] (and emails.value eq), joined
// by and/or. Errors: EINVALID on "filter" for any other filter.
func (s *SCIM) SCIMUsers(ctx context.Context, a roster.Account, f filter.Expression, startIndex, count int) ([]User, int, error) {
	var sf *store.SCIMFilter
	if f != nil {
		var err error
		if sf, err = userFilter(f); err != nil {
			return nil, 0, err
		}
	}
	startIndex, count = max(startIndex, 1), min(max(count, 0), MaxCount)
	return s.c.DB.SCIMUsers(ctx, a.Seq, sf, startIndex-1, count)
}

func badFilter(message string) error {
	return &roster.Error{Code: roster.EINVALID, Field: "filter", Message: message}
}

// userFilter turns a parsed SCIM filter into one the store answers.
func userFilter(e filter.Expression) (*store.SCIMFilter, error) {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		l, err := userFilter(e.Left)
		if err != nil {
			return nil, err
		}
		r, err := userFilter(e.Right)
		if err != nil {
			return nil, err
		}
		return &store.SCIMFilter{Op: strings.ToLower(string(e.Operator)), Left: l, Right: r}, nil
	case *filter.AttributeExpression:
		if e.Operator != filter.EQ {
			return nil, badFilter("Only the operator eq is supported in a filter")
		}
		v, ok := e.CompareValue.(string)
		if !ok {
			return nil, badFilter("A filter compares with a string")
		}
		name := strings.ToLower(e.AttributePath.AttributeName)
		sub := ""
		if e.AttributePath.SubAttribute != nil {
			sub = strings.ToLower(*e.AttributePath.SubAttribute)
		}
		switch {
		case name == "username" && sub == "", name == "emails" && sub == "value":
			return &store.SCIMFilter{Op: "eq", Attr: "email", Value: normalizedOrAsIs(v)}, nil
		case name == "externalid" && sub == "":
			return &store.SCIMFilter{Op: "eq", Attr: "external_id", Value: v}, nil
		}
		return nil, badFilter("Users are filtered by userName, externalId or their work address")
	case *filter.ValuePath:
		// emails[type eq "work" and value eq "..."]: the one address a
		// member has is their work address.
		if !strings.EqualFold(e.AttributePath.AttributeName, "emails") {
			break
		}
		var value string
		var walk func(filter.Expression) bool
		walk = func(x filter.Expression) bool {
			switch x := x.(type) {
			case *filter.LogicalExpression:
				return x.Operator == filter.AND && walk(x.Left) && walk(x.Right)
			case *filter.AttributeExpression:
				s, ok := x.CompareValue.(string)
				if !ok || x.Operator != filter.EQ {
					return false
				}
				switch strings.ToLower(x.AttributePath.AttributeName) {
				case "type":
					return strings.EqualFold(s, "work")
				case "value":
					value = s
					return true
				}
			}
			return false
		}
		if walk(e.ValueFilter) && value != "" {
			return &store.SCIMFilter{Op: "eq", Attr: "email", Value: normalizedOrAsIs(value)}, nil
		}
	}
	return nil, badFilter("Users are filtered by userName, externalId or their work address, with eq, and, or")
}

// normalizedOrAsIs normalizes an address, leaving what is not one as it
// is (it then matches nothing).
func normalizedOrAsIs(v string) string {
	if e, err := emailaddr.Normalize(v); err == nil {
		return e
	}
	return v
}

// SCIMUser returns a member of the account. Errors: ENOTFOUND (another
// account's member too).
func (s *SCIM) SCIMUser(ctx context.Context, a roster.Account, userID int64) (User, error) {
	var u User
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		u, err = tx.SCIMUser(ctx, a.Seq, userID)
		return core.DBErr(err, "No such user")
	})
	return u, err
}

// SCIMCreateUser provisions a member: userName must be an address on one
// of the account's verified domains; the user with it is found or made
// (no password, address verified: FindOrMakeUser) and joins with the
// named role, else the default role of the settings (a new member is in
// no group yet), on the committed plan only. Audited with the token as
// actor; member.joined fires. Errors: EINVALID on "userName",
// EPLANREQUIRED, EALREADYMEMBER (a member already), ECONFLICT (the
// externalId is another member's), EOWNERIMMUTABLE (the owner role).
func (s *SCIM) SCIMCreateUser(ctx context.Context, a roster.Account, in UserInput, actor roster.Actor) (User, error) {
	email, err := emailaddr.Normalize(in.UserName)
	if err != nil {
		return User{}, roster.FieldErrorf("userName", roster.EINVALID, "The user name must be a work address")
	}
	if in.NamedRole == roster.RoleOwner {
		return User{}, roster.Errorf(roster.EOWNERIMMUTABLE, "No one can be given the owner role")
	}
	d, err := s.c.DB.VerifiedDomain(ctx, emailaddr.Domain(email))
	if errors.Is(err, store.ErrNoRows) || err == nil && d.AccountSeq != a.Seq {
		return User{}, roster.FieldErrorf("userName", roster.EINVALID, "The address %s is not on a domain this account has verified", email)
	} else if err != nil {
		return User{}, err
	}
	if a.Plan != roster.PlanCommitted {
		return User{}, roster.Errorf(roster.EPLANREQUIRED, "Team members need the committed monthly spend plan; this account is on %s", a.Plan)
	}
	set, err := s.SCIMSettings(ctx, a.Seq)
	if err != nil {
		return User{}, err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = strings.SplitN(email, "@", 2)[0]
	}
	if name, err = core.CleanMailName(name, email, "name"); err != nil {
		name = strings.SplitN(email, "@", 2)[0]
	}
	role := in.NamedRole
	if role == roster.RoleNone {
		role = set.DefaultRole
	}
	var u User
	err = s.c.WriteIn(ctx, a.Seq, func(tx *store.Tx) error {
		uid, _, err := s.c.FindOrMakeUser(ctx, tx, email, name)
		if errors.Is(err, store.ErrUnique) { // made at this moment by another request
			return roster.Errorf(roster.ECONFLICT, "The address %s was just provisioned by another request", email)
		} else if err != nil {
			return err
		}
		if err := s.c.AddJoined(ctx, tx, a, uid, email, role); err != nil {
			if e, ok := errors.AsType[*roster.Error](err); ok && e.Code == roster.EALREADYMEMBER {
				return roster.Errorf(roster.EALREADYMEMBER, "The address %s is already a member of this account", email)
			}
			return err
		}
		if err := tx.SetSCIMUser(ctx, a.Seq, uid, in.ExternalID, in.NamedRole); errors.Is(err, store.ErrUnique) {
			return roster.Errorf(roster.ECONFLICT, "Another member of this account has the external ID %s", in.ExternalID)
		} else if err != nil {
			return err
		}
		if err := tx.SetDefaultAccountIfNone(ctx, uid, a.Seq); err != nil {
			return err
		}
		if err := tx.Audit(ctx, a.Seq, actor, roster.ActionMemberProvision, email, role.String()); err != nil {
			return err
		}
		u, err = tx.SCIMUser(ctx, a.Seq, uid)
		return err
	})
	return u, err
}

// SCIMUpdateUser records what the directory changed of a member (its
// externalId, the role it names) and claims the member for the directory
// (Provisioned). The role itself changes through the team's role change
// (SCIMRoleChanges names it). Errors: ENOTFOUND, ECONFLICT (the externalId
// is another member's), EOWNERIMMUTABLE (the owner, or the owner role).
func (s *SCIM) SCIMUpdateUser(ctx context.Context, a roster.Account, userID int64, ch UserChange, actor roster.Actor) (User, error) {
	var u User
	err := s.c.WriteIn(ctx, a.Seq, func(tx *store.Tx) error {
		var err error
		u, err = tx.SCIMUser(ctx, a.Seq, userID)
		if err != nil {
			return core.DBErr(err, "No such user")
		}
		if u.Role == roster.RoleOwner && ch.NamedRole != nil {
			return roster.Errorf(roster.EOWNERIMMUTABLE, "The owner's role cannot be changed")
		}
		ext, named := u.ExternalID, u.NamedRole
		if ch.ExternalID != nil {
			ext = *ch.ExternalID
		}
		if ch.NamedRole != nil {
			if *ch.NamedRole == roster.RoleOwner {
				return roster.Errorf(roster.EOWNERIMMUTABLE, "No one can be given the owner role")
			}
			named = *ch.NamedRole
		}
		if u.Provisioned && ext == u.ExternalID && named == u.NamedRole {
			return nil
		}
		if err := tx.SetSCIMUser(ctx, a.Seq, userID, ext, named); errors.Is(err, store.ErrUnique) {
			return roster.Errorf(roster.ECONFLICT, "Another member of this account has the external ID %s", ext)
		} else if err != nil {
			return err
		}
		if err := tx.Audit(ctx, a.Seq, actor, roster.ActionSCIMUserUpdate, u.Email, fmt.Sprintf("external ID %q, named role %s", ext, named)); err != nil {
			return err
		}
		u, err = tx.SCIMUser(ctx, a.Seq, userID)
		return err
	})
	return u, err
}
