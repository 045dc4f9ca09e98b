package team

import (
	"context"
	"errors"
	"slices"
	"unicode/utf8"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
)

// The team list's bounds (issue 21).
const (
	// ListDefaultLimit is a page's rows when the query names none.
	ListDefaultLimit = 50
	// ListMaxLimit is the most rows a page may ask for.
	ListMaxLimit = 100
	// ListMaxSearch is the longest search, in characters: the longest
	// address there can be.
	ListMaxSearch = 254
)

// listLimit checks a page size: 0 is the default, 1..ListMaxLimit as
// asked, anything else EINVALID.
func listLimit(n int) (int, error) {
	if n == 0 {
		return ListDefaultLimit, nil
	}
	if n < 1 || n > ListMaxLimit {
		return 0, roster.FieldErrorf("limit", roster.EINVALID, "A page holds from 1 to %d rows.", ListMaxLimit)
	}
	return n, nil
}

// listCommon checks what both lists' queries share: the search's length,
// the role, and that at most one cursor is given.
func listCommon(search string, role roster.Role, after, before string) error {
	if utf8.RuneCountInString(search) > ListMaxSearch {
		return roster.FieldErrorf("q", roster.EINVALID, "A search is at most %d characters long.", ListMaxSearch)
	}
	if !utf8.ValidString(search) {
		return roster.FieldErrorf("q", roster.EINVALID, "A search must be text.")
	}
	if role != roster.RoleNone && !validRole(role) {
		return roster.FieldErrorf("role", roster.EINVALID, "Filter by one of the roles: owner, admin, developer, finance analyst or support.")
	}
	if after != "" && before != "" {
		return roster.FieldErrorf("after", roster.EINVALID, "Ask for the page after one position or before it, not both.")
	}
	return nil
}

func validRole(r roster.Role) bool { return slices.Contains(roster.Roles, r) }

// badCursor is the answer to a cursor the list did not make for this
// sort (store.ErrBadCursor), else err as it is.
func badCursor(err error) error {
	if errors.Is(err, store.ErrBadCursor) {
		return roster.FieldErrorf("after", roster.EINVALID, "This page link is out of date or belongs to another order of the list: start again from the first page.")
	}
	return err
}

// MemberList answers one page of the account's members that match q (see
// roster.MemberQuery), with the matches' count, the account's, the page's
// position and the cursors of the pages either side: the team list at any
// size, every page read from its position, never by offset. A Limit of 0
// is a page of ListDefaultLimit. The caller holds team.view. Errors:
// EINVALID (an unknown sort, status, role or two-factor value, a search
// over ListMaxSearch characters, a Limit outside 1..ListMaxLimit, both
// cursors, or a cursor that this list did not make for this sort and
// direction).
func (s *Team) MemberList(ctx context.Context, a roster.Account, q roster.MemberQuery) (roster.MemberList, error) {
	var err error
	if q.Limit, err = listLimit(q.Limit); err != nil {
		return roster.MemberList{}, err
	}
	if err := listCommon(q.Search, q.Role, q.After, q.Before); err != nil {
		return roster.MemberList{}, err
	}
	switch q.Sort {
	case "", "name", "role", "joined":
	default:
		return roster.MemberList{}, roster.FieldErrorf("sort", roster.EINVALID, "Sort by name, role or joined date.")
	}
	switch q.Status {
	case "", roster.MemberActive, roster.MemberSuspended, roster.MemberDeactivated:
	default:
		return roster.MemberList{}, roster.FieldErrorf("status", roster.EINVALID, "Filter by status active, suspended or deactivated.")
	}
	switch q.MFA {
	case "", "on", "off":
	default:
		return roster.MemberList{}, roster.FieldErrorf("mfa", roster.EINVALID, "Filter two-factor sign-in by on or off.")
	}
	// The counts of a page are the check index's (issue 26): counting an
	// account's 100,000 members in the database on every page costs more
	// than the page. The index is as current as this replica's checks; an
	// account it does not hold (none has no owner) is counted there.
	if counts := s.c.Index.RoleCounts(a.Seq); counts.All() > 0 {
		l, err := s.c.DB.MemberListCounted(ctx, a, q, counts)
		return l, badCursor(err)
	}
	l, err := s.c.DB.MemberList(ctx, a, q)
	return l, badCursor(err)
}

// InvitationList answers one page of the account's pending invitations
// (expired and suspended ones included, with that status) that match q,
// as MemberList does members. The caller holds team.view. Errors:
// EINVALID (an unknown sort, status or role, a search over ListMaxSearch
// characters, a Limit outside 1..ListMaxLimit, both cursors, or a cursor
// that this list did not make for this sort and direction).
func (s *Team) InvitationList(ctx context.Context, a roster.Account, q roster.InvitationQuery) (roster.InvitationList, error) {
	var err error
	if q.Limit, err = listLimit(q.Limit); err != nil {
		return roster.InvitationList{}, err
	}
	if err := listCommon(q.Search, q.Role, q.After, q.Before); err != nil {
		return roster.InvitationList{}, err
	}
	switch q.Sort {
	case "", "email", "role", "sent", "expires":
	default:
		return roster.InvitationList{}, roster.FieldErrorf("sort", roster.EINVALID, "Sort invitations by address, role, date sent or expiry.")
	}
	switch q.Status {
	case "", roster.InvitationPending, roster.InvitationExpired, roster.InvitationSuspended:
	default:
		return roster.InvitationList{}, roster.FieldErrorf("status", roster.EINVALID, "Filter invitations by status pending, expired or suspended.")
	}
	l, err := s.c.DB.InvitationList(ctx, a, q)
	return l, badCursor(err)
}
