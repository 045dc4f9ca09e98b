package team

import (
	"context"
	"slices"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service/internal/core"
)

// RolePreview says what changing a member's role would change.
type RolePreview struct {
	Role   roster.Role
	Gained []roster.Permission // held with the new role and not now, in matrix order
	Lost   []roster.Permission // held now and not with the new role, in matrix order
}

// MemberAccess is one member's role and what it holds now, and, when a
// role was asked, what a change to it would gain and lose.
type MemberAccess struct {
	Member      roster.Member
	Held        core.Held
	Permissions []roster.Permission
	Preview     *RolePreview
}

// MemberAccess returns a member's access (MemberHeld) and, when rawRole is
// not empty, a preview of changing their role to it, as SetMemberRole
// would refuse it: the owner role or the owner's role EOWNERIMMUTABLE, an
// unknown role EINVALID. A member who holds nothing (suspended, or
// without the two-factor sign-in the account requires) gains and loses
// nothing: they would hold nothing with the new role either. It changes
// nothing. The caller holds team.view. Errors: EINVALID, EOWNERIMMUTABLE,
// ENOTFOUND.
func (s *Team) MemberAccess(ctx context.Context, a roster.Account, userID int64, rawRole string) (MemberAccess, error) {
	var role roster.Role
	if rawRole != "" {
		var err error
		if role, err = roster.ParseAssignableRole(rawRole); err != nil {
			return MemberAccess{}, err
		}
	}
	m, err := s.Member(ctx, a, userID)
	if err != nil {
		return MemberAccess{}, err
	}
	h := core.MemberHeld(a, m)
	out := MemberAccess{Member: m, Held: h, Permissions: h.Permissions()}
	if rawRole == "" {
		return out, nil
	}
	if m.Role == roster.RoleOwner {
		return MemberAccess{}, roster.Errorf(roster.EOWNERIMMUTABLE, "The owner's role cannot be changed")
	}
	next := core.MemberHeld(a, roster.Member{Role: role, MFA: m.MFA, Status: m.Status}).Permissions()
	p := &RolePreview{Role: role, Gained: []roster.Permission{}, Lost: []roster.Permission{}}
	for _, perm := range roster.AllPermissions {
		now, then := slices.Contains(out.Permissions, perm), slices.Contains(next, perm)
		switch {
		case then && !now:
			p.Gained = append(p.Gained, perm)
		case now && !then:
			p.Lost = append(p.Lost, perm)
		}
	}
	out.Preview = p
	return out, nil
}

// reviewPage is how many rows a review reads at a time.
const reviewPage = 500

// AllMembers lists every member of the account (owner first, then by
// join time). The caller holds team.view.
func (s *Team) AllMembers(ctx context.Context, a roster.Account) ([]roster.Member, error) {
	var out []roster.Member
	p := roster.Page{Limit: reviewPage}
	for {
		ms, _, next, err := s.c.DB.Members(ctx, a, p)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
		if next == "" || len(ms) == 0 {
			return out, nil
		}
		p.After = next
	}
}

// AllInvitations lists every pending invitation of the account (newest
// first). The caller holds team.view.
func (s *Team) AllInvitations(ctx context.Context, a roster.Account) ([]roster.Invitation, error) {
	var out []roster.Invitation
	p := roster.Page{Limit: reviewPage}
	for {
		is, total, err := s.c.DB.Invitations(ctx, a.Seq, p)
		if err != nil {
			return nil, err
		}
		out = append(out, is...)
		p.Offset += len(is)
		if len(is) < p.Limit || p.Offset >= total {
			return out, nil
		}
	}
}

// AllMemberships lists every account the user is a member of.
func (s *Team) AllMemberships(ctx context.Context, userID int64) ([]roster.Membership, error) {
	var out []roster.Membership
	p := roster.Page{Limit: reviewPage}
	for {
		ms, total, err := s.c.DB.Memberships(ctx, userID, p)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
		p.Offset += len(ms)
		if len(ms) < p.Limit || p.Offset >= total {
			return out, nil
		}
	}
}

// MaxInviteBatch is the most invitations in one batch.
const MaxInviteBatch = 100

// InviteRow is one invitation of a batch.
type InviteRow struct {
	Email string
	Role  string
}

// InviteResult is one row's outcome: the invitation, or why it was refused.
type InviteResult struct {
	Invitation roster.Invitation
	Err        error
}

// batchRole is the role a batch's line names, as people write it in a
// spreadsheet: a role's name in any case, with a space or a hyphen for its
// underscore ("Developer", "FINANCE ANALYST", "finance-analyst"), or
// "finance" alone for the finance analyst. Anything else is passed on as
// written, for Invite to refuse with its name.
func batchRole(raw string) string {
	s := strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(strings.TrimSpace(raw)))
	if s == "finance" {
		return roster.RoleFinanceAnalyst.String()
	}
	for _, r := range roster.Roles {
		if s == r.String() {
			return s
		}
	}
	return raw
}

// InviteBatch invites each row as Invite does (a row's role is read as
// batchRole reads it), in order, each on its own:
// one row's refusal neither stops nor undoes the others. Each row's mail
// comes out of the account's invitation budget, so the rows past it are
// refused (ERATELIMITED with the wait) and create and send nothing. The
// batch as a whole is refused, with nothing changed, for 0 or more than
// MaxInviteBatch rows (EINVALID), an account off the committed plan
// (EPLANREQUIRED), or when every row was refused by a mail limit
// (ERATELIMITED with the shortest wait). The caller holds team.edit.
func (s *Team) InviteBatch(ctx context.Context, a roster.Account, rows []InviteRow, actor roster.Actor) ([]InviteResult, error) {
	if len(rows) == 0 || len(rows) > MaxInviteBatch {
		return nil, roster.FieldErrorf("invitations", roster.EINVALID, "Invitations must hold 1 to %d invitations, not %d", MaxInviteBatch, len(rows))
	}
	if err := requireCommitted(a); err != nil {
		return nil, err
	}
	out := make([]InviteResult, len(rows))
	allLimited := true
	var first error // the limit's refusal with the shortest wait
	for i, r := range rows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out[i].Invitation, out[i].Err = s.Invite(ctx, a, r.Email, batchRole(r.Role), actor)
		if roster.ErrorCode(out[i].Err) != roster.ERATELIMITED {
			allLimited = false
		} else if first == nil || roster.RetryAfter(out[i].Err) < roster.RetryAfter(first) {
			first = out[i].Err
		}
	}
	if allLimited {
		return nil, roster.Retry(roster.ERATELIMITED, roster.RetryAfter(first),
			"No invitation of this batch was sent: %s", roster.ErrorMessage(first))
	}
	return out, nil
}
