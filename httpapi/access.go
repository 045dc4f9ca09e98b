package httpapi

import (
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/service"
)

// Access you can see through: a member's access and a role change's
// preview, the account's access review (JSON or CSV), your own access in
// every account, and invitations by the batch.

func (s *Server) accessRoutes() []Route {
	return []Route{
		{"GET /v1/me/access", Session, 0, s.myAccess},
		{"GET /v1/accounts/{id}/access", Member, roster.TeamView, s.accessReview},
		{"GET /v1/accounts/{id}/members/{user_id}/access", Member, roster.TeamView, s.memberAccess},
		{"POST /v1/accounts/{id}/invitations/batch", Member, roster.TeamEdit, s.inviteBatch},
	}
}

// permissionNames returns the permissions' API names ([] for none).
func permissionNames(ps []roster.Permission) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

type previewJSON struct {
	Role   string   `json:"role"`
	Gained []string `json:"gained"`
	Lost   []string `json:"lost"`
}

type memberAccessJSON struct {
	Role        string              `json:"role"`
	Status      roster.MemberStatus `json:"status"`
	Reason      string              `json:"reason,omitempty"`
	Permissions []string            `json:"permissions"`
	Preview     *previewJSON        `json:"preview,omitempty"`
}

// memberAccess is GET /v1/accounts/{id}/members/{user_id}/access[?role=]:
// the member's role and permissions, and with ?role= what changing to it
// would gain and lose.
func (s *Server) memberAccess(w http.ResponseWriter, r *http.Request, c *Caller) error {
	uid, err := pathInt(r, "user_id")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	role := q.Get("role")
	if q.Has("role") && role == "" {
		return roster.FieldErrorf("role", roster.EINVALID, "Choose a role: admin, developer, finance_analyst or support")
	}
	a, err := s.Svc.MemberAccess(r.Context(), c.Account, uid, role)
	if err != nil {
		return err
	}
	out := memberAccessJSON{Role: a.Member.Role.String(), Status: a.Held.Status, Reason: a.Held.Reason, Permissions: permissionNames(a.Permissions)}
	if p := a.Preview; p != nil {
		out.Preview = &previewJSON{Role: p.Role.String(), Gained: permissionNames(p.Gained), Lost: permissionNames(p.Lost)}
	}
	return writeJSON(w, http.StatusOK, out)
}

type reviewMemberJSON struct {
	UserID      int64               `json:"user_id"`
	Email       string              `json:"email"`
	Name        string              `json:"name"`
	Role        string              `json:"role"`
	Status      roster.MemberStatus `json:"status"`
	Reason      string              `json:"reason,omitempty"`
	MFAEnabled  bool                `json:"mfa_enabled"`
	Permissions []string            `json:"permissions"`
}

type reviewInvitationJSON struct {
	ID          int64    `json:"id"`
	Email       string   `json:"email"`
	Role        string   `json:"role"`
	Permissions []string `json:"permissions"`
}

// wantsCSV reports whether the request's Accept asks for text/csv.
func wantsCSV(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/csv" {
			return true
		}
	}
	return false
}

// accessReview is GET /v1/accounts/{id}/access[?permission=]: every
// member and pending invitation with role and permissions, as JSON or,
// with Accept: text/csv, one CSV row each.
func (s *Server) accessReview(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var only roster.Permission
	if v := r.URL.Query(); v.Has("permission") {
		p, ok := roster.ParsePermission(v.Get("permission"))
		if !ok {
			return roster.FieldErrorf("permission", roster.EINVALID, "Unknown permission %q", v.Get("permission"))
		}
		only = p
	}
	ms, err := s.Svc.AllMembers(r.Context(), c.Account)
	if err != nil {
		return err
	}
	is, err := s.Svc.AllInvitations(r.Context(), c.Account)
	if err != nil {
		return err
	}
	holds := func(ps []roster.Permission) bool { return only == roster.PermissionNone || slices.Contains(ps, only) }
	members := []reviewMemberJSON{}
	var memberPerms [][]roster.Permission
	for _, m := range ms {
		h := service.MemberHeld(c.Account, m)
		ps := h.Permissions()
		if !holds(ps) {
			continue
		}
		members = append(members, reviewMemberJSON{m.UserID, m.Email, m.Name, m.Role.String(), h.Status, h.Reason, m.MFA, permissionNames(ps)})
		memberPerms = append(memberPerms, ps)
	}
	invitations := []reviewInvitationJSON{}
	var invPerms [][]roster.Permission
	var invStatus []roster.InvitationStatus
	for _, i := range is {
		ps := service.InvitationHeld(c.Account, i.Role).Permissions()
		if !holds(ps) {
			continue
		}
		invitations = append(invitations, reviewInvitationJSON{i.ID, i.Email, i.Role.String(), permissionNames(ps)})
		invPerms = append(invPerms, ps)
		invStatus = append(invStatus, i.Status)
	}
	if !wantsCSV(r) {
		return writeJSON(w, http.StatusOK, map[string]any{"members": members, "invitations": invitations})
	}

	header := []string{"kind", "id", "email", "name", "role", "status", "reason"}
	for _, p := range roster.AllPermissions {
		header = append(header, p.String())
	}
	rows := [][]string{header}
	row := func(kind string, id int64, email, name, role, status, reason string, ps []roster.Permission) {
		rec := []string{kind, strconv.FormatInt(id, 10), edge.CSVCell(email), edge.CSVCell(name), role, status, reason}
		for _, p := range roster.AllPermissions {
			if slices.Contains(ps, p) {
				rec = append(rec, "1")
			} else {
				rec = append(rec, "0")
			}
		}
		rows = append(rows, rec)
	}
	for i, m := range members {
		row("member", m.UserID, m.Email, m.Name, m.Role, string(m.Status), m.Reason, memberPerms[i])
	}
	for i, inv := range invitations {
		row("invitation", inv.ID, inv.Email, "", inv.Role, string(invStatus[i]), "", invPerms[i])
	}
	return edge.WriteCSV(w, `access-`+c.Account.ID+`.csv`, rows)
}

type myAccessJSON struct {
	AccountID   string              `json:"account_id"`
	Name        string              `json:"name"`
	Role        string              `json:"role"`
	Status      roster.MemberStatus `json:"status"`
	Reason      string              `json:"reason,omitempty"`
	Permissions []string            `json:"permissions"`
}

// myAccess is GET /v1/me/access: your role, status and permissions in
// every account you are a member of.
func (s *Server) myAccess(w http.ResponseWriter, r *http.Request, c *Caller) error {
	ms, err := s.Svc.AllMemberships(r.Context(), c.User.ID)
	if err != nil {
		return err
	}
	out := make([]myAccessJSON, 0, len(ms))
	for _, m := range ms {
		h := service.MembershipHeld(m, c.User)
		out = append(out, myAccessJSON{m.Account.ID, m.Account.Name, m.Role.String(), h.Status, h.Reason, permissionNames(h.Permissions())})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"accounts": out})
}

type rowErrorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// RetryAfter is a rate_limited row's wait in seconds, as the
	// Retry-After header says it for a whole request.
	RetryAfter int `json:"retry_after,omitempty"`
}

type inviteResultJSON struct {
	Email  string        `json:"email"`
	Status string        `json:"status,omitempty"`
	ID     int64         `json:"id,omitempty"`
	Error  *rowErrorJSON `json:"error,omitempty"`
}

// inviteBatch is POST /v1/accounts/{id}/invitations/batch {"invitations":
// [{email, role}, ...]} (1 to 100) -> {"results": [...]} in order, each
// row created or refused on its own.
func (s *Server) inviteBatch(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Invitations []struct {
			Email string `json:"email"`
			Role  string `json:"role"`
		} `json:"invitations"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	rows := make([]service.InviteRow, len(in.Invitations))
	for i, row := range in.Invitations {
		rows[i] = service.InviteRow{Email: row.Email, Role: row.Role}
	}
	res, err := s.Svc.InviteBatch(r.Context(), c.Account, rows, c.Actor())
	if err != nil {
		return err
	}
	out := make([]inviteResultJSON, len(res))
	for i, x := range res {
		out[i].Email = rows[i].Email
		if x.Err != nil {
			code := roster.ErrorCode(x.Err)
			if code == roster.EINTERNAL && s.Log != nil {
				s.Log.Error("internal error", "err", x.Err)
			}
			out[i].Error = &rowErrorJSON{Code: code, Message: roster.ErrorMessage(x.Err), Field: roster.FieldOf(x.Err)}
			if d := roster.RetryAfter(x.Err); d > 0 {
				out[i].Error.RetryAfter = int((d + time.Second - 1) / time.Second) // rounded up, as the header is
			}
			continue
		}
		out[i].Status, out[i].ID = "created", x.Invitation.ID
	}
	return writeJSON(w, http.StatusOK, map[string]any{"results": out})
}
