package httpapi

import (
	"net/http"
	"strconv"

	"github.com/rosterhq/roster"
)

// The team list's query (issue 21): ?q=, ?role=, ?status=, ?mfa=
// (members), ?sort=, ?order=asc|desc, ?limit=, ?after=, ?before=. A list
// asked for by ?offset= pages as before (and takes none of the others),
// so old clients keep working.

// teamListMeta is a team list page's meta: listMeta's fields as before
// (offset is the page's position less one, total_count the matches) and
// the page's 1-based position, the account's count, and the previous
// page's cursor.
type teamListMeta struct {
	Limit      int    `json:"limit"`
	Offset     int    `json:"offset"`
	TotalCount int    `json:"total_count"`
	AllCount   int    `json:"all_count"`
	Start      int    `json:"start"`
	Next       string `json:"next,omitempty"`
	Prev       string `json:"prev,omitempty"`
}

type teamList[T any] struct {
	Meta    teamListMeta `json:"meta"`
	Objects []T          `json:"objects"`
}

// teamQuery is what both lists read from the query string.
type teamQuery struct {
	search, status, mfa, sort string
	role                      roster.Role
	desc                      bool
	limit                     int
	after, before             string
	byOffset                  bool // ?offset= given: the list as before
}

func readTeamQuery(r *http.Request) (teamQuery, error) {
	v := r.URL.Query()
	t := teamQuery{search: v.Get("q"), status: v.Get("status"), mfa: v.Get("mfa"), sort: v.Get("sort"),
		after: v.Get("after"), before: v.Get("before"), limit: 20}
	if v.Has("offset") {
		for _, k := range []string{"q", "role", "status", "mfa", "sort", "order", "after", "before"} {
			if v.Has(k) {
				return t, roster.FieldErrorf("offset", roster.EINVALID, "Page by offset alone, or search, filter and sort with the page links (after and before).")
			}
		}
		t.byOffset = true
		return t, nil
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return t, roster.FieldErrorf("limit", roster.EINVALID, "A page holds from 1 to 100 rows.")
		}
		t.limit = n
	}
	if s := v.Get("role"); s != "" {
		role, err := roster.ParseRole(s)
		if err != nil {
			return t, roster.FieldErrorf("role", roster.EINVALID, "Filter by one of the roles: owner, admin, developer, finance_analyst or support.")
		}
		t.role = role
	}
	switch v.Get("order") {
	case "", "asc":
	case "desc":
		t.desc = true
	default:
		return t, roster.FieldErrorf("order", roster.EINVALID, "Order the list ascending (asc) or descending (desc).")
	}
	return t, nil
}

func (s *Server) memberList(w http.ResponseWriter, r *http.Request, c *Caller, t teamQuery) error {
	l, err := s.Svc.MemberList(r.Context(), c.Account, roster.MemberQuery{
		Search: t.search, Role: t.role, Status: roster.MemberStatus(t.status), MFA: t.mfa,
		Sort: t.sort, Desc: t.desc, Limit: t.limit, After: t.after, Before: t.before,
	})
	if err != nil {
		return err
	}
	out := make([]memberJSON, 0, len(l.Members))
	for _, m := range l.Members {
		out = append(out, toMember(m))
	}
	return writeJSON(w, http.StatusOK, teamList[memberJSON]{teamListMeta{
		Limit: t.limit, Offset: max(l.Start-1, 0), TotalCount: l.Total, AllCount: l.All, Start: l.Start, Next: l.Next, Prev: l.Prev,
	}, out})
}

func (s *Server) invitationList(w http.ResponseWriter, r *http.Request, c *Caller, t teamQuery) error {
	if t.mfa != "" {
		return roster.FieldErrorf("mfa", roster.EINVALID, "Invitations have no two-factor status to filter by.")
	}
	l, err := s.Svc.InvitationList(r.Context(), c.Account, roster.InvitationQuery{
		Search: t.search, Role: t.role, Status: roster.InvitationStatus(t.status),
		Sort: t.sort, Desc: t.desc, Limit: t.limit, After: t.after, Before: t.before,
	})
	if err != nil {
		return err
	}
	out := make([]invitationJSON, 0, len(l.Invitations))
	for _, i := range l.Invitations {
		out = append(out, toInvitation(i))
	}
	return writeJSON(w, http.StatusOK, teamList[invitationJSON]{teamListMeta{
		Limit: t.limit, Offset: max(l.Start-1, 0), TotalCount: l.Total, AllCount: l.All, Start: l.Start, Next: l.Next, Prev: l.Prev,
	}, out})
}

// offsetMeta is the meta of a page by offset, in the team lists' shape.
func offsetMeta(p roster.Page, total, rows int) teamListMeta {
	m := teamListMeta{Limit: p.Limit, Offset: p.Offset, TotalCount: total, AllCount: total, Next: p.Next}
	if rows > 0 {
		m.Start = p.Offset + 1
	}
	return m
}
