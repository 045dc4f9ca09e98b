package console

import (
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/service"
)

// Access you can see through, in the console: a role change shown as the
// permissions it gives and takes before it is saved, a review of who
// holds what (as a page and as CSV), and invitations by the batch.

// --- role change preview

type rolePreviewData struct {
	Member  roster.Member
	Reason  string // why the member holds nothing now: "suspended", "mfa_required" (service.Held)
	NewRole roster.Role
	Gained  []roster.Permission
	Lost    []roster.Permission
	Same    bool // the new role is the one they hold: nothing to save
}

// rolePreview shows what changing a member's role would change, and a
// button that saves it. It changes nothing.
func (c *Console) rolePreview(w http.ResponseWriter, r *http.Request, x *actx) error {
	raw := r.FormValue("role")
	if r.Method == http.MethodPost && raw != "" {
		// The preview is a page of its own (GET ?role=), so a reload
		// shows it again and the address bar holds a page.
		http.Redirect(w, r, r.URL.Path+"?role="+url.QueryEscape(raw), http.StatusSeeOther)
		return nil
	}
	if raw == "" {
		c.after(w, r, x, x.path("/team"), "", roster.FieldErrorf("role", roster.EINVALID, "Choose the new role"))
		return nil
	}
	ma, err := c.svc.MemberAccess(r.Context(), x.a, formInt(r, "uid"), raw)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return roster.Errorf(roster.ENOTFOUND, "No such user in this account")
	}
	if err != nil {
		c.after(w, r, x, x.path("/team"), "", err)
		return nil
	}
	d := rolePreviewData{Member: ma.Member, Reason: ma.Held.Reason, NewRole: ma.Preview.Role,
		Gained: ma.Preview.Gained, Lost: ma.Preview.Lost, Same: ma.Preview.Role == ma.Member.Role}
	x.p.Data = d
	c.render(w, http.StatusOK, "role-preview", x.p)
	return nil
}

// --- access review

type accessRow struct {
	Kind   string // "Member" or "Invitation"
	UserID int64  // the member's, for their own page; 0 for an invitation
	Email  string
	Name   string
	Role   roster.Role
	Status string
	Reason string // why the member holds nothing: "suspended", "mfa_required" (service.Held)
	Has    []bool // one per permission of the matrix, in order
	You    bool   // the member is the person looking
}

// accessGroup is one area over the review's permission columns: "Phone
// numbers" over View and Edit.
type accessGroup struct {
	Area string
	Span int
}

type accessData struct {
	Permissions []roster.Permission // every permission, in matrix order (the columns)
	Groups      []accessGroup       // the columns' areas, in order
	Filter      string              // the permission asked for, or ""
	Rows        []accessRow
	Invitations []accessRow // pending invitations, on the first page
	CSV         string      // the CSV link, with the filter
	Cols        int         // how many columns the table has
	Total       int         // members in the account
	From, To    int         // the members this page reads, counted from 1
	Next, First string      // links to the next and the first page, "" when none
}

// accessPageSize is how many members a page of the review reads.
const accessPageSize = 50

// accessHeader fills the columns: every permission, grouped by area.
func accessHeader(d *accessData) {
	for _, p := range roster.AllPermissions {
		d.Permissions = append(d.Permissions, p)
		if n := len(d.Groups); n > 0 && d.Groups[n-1].Area == p.Area() {
			d.Groups[n-1].Span++
			continue
		}
		d.Groups = append(d.Groups, accessGroup{Area: p.Area(), Span: 1})
	}
}

// accessRowOf is one person's row, or false when they do not hold only
// (when it is not PermissionNone).
func accessRowOf(only roster.Permission, kind string, uid int64, email, name string, role roster.Role, status string, h service.Held, you bool) (accessRow, bool) {
	ps := h.Permissions()
	if only != roster.PermissionNone && !slices.Contains(ps, only) {
		return accessRow{}, false
	}
	row := accessRow{Kind: kind, UserID: uid, Email: email, Name: name, Role: role, Status: status, Reason: h.Reason, You: you}
	for _, p := range roster.AllPermissions {
		row.Has = append(row.Has, slices.Contains(ps, p))
	}
	return row, true
}

// accessFilter reads the permission asked for. An unknown one is EINVALID.
func accessFilter(r *http.Request) (roster.Permission, error) {
	v := r.URL.Query().Get("permission")
	if v == "" {
		return roster.PermissionNone, nil
	}
	p, ok := roster.ParsePermission(v)
	if !ok {
		return p, roster.FieldErrorf("permission", roster.EINVALID, "Unknown permission %q: choose one from the list", v)
	}
	return p, nil
}

// accessReview reads one page of members (accessPageSize, from the cursor
// "after") holding the permission asked (all when none is), and on the
// first page the pending invitations. An unknown permission or cursor is
// EINVALID.
func (c *Console) accessReview(r *http.Request, x *actx) (accessData, error) {
	d := accessData{CSV: x.path("/team/access.csv"), Cols: 3 + len(roster.AllPermissions)}
	accessHeader(&d)
	only, err := accessFilter(r)
	if err != nil {
		return d, err
	}
	q := url.Values{}
	if only != roster.PermissionNone {
		d.Filter = only.String()
		d.CSV += "?permission=" + d.Filter
		q.Set("permission", d.Filter)
	}
	after := r.URL.Query().Get("after")
	ms, total, next, err := c.svc.Members(r.Context(), x.a, roster.Page{Limit: accessPageSize, After: after})
	if err != nil {
		return d, err
	}
	d.Total = total
	for _, m := range ms {
		h := service.MemberHeld(x.a, m)
		if row, ok := accessRowOf(only, "Member", m.UserID, m.Email, m.Name, m.Role, string(h.Status), h, m.UserID == x.u.ID); ok {
			d.Rows = append(d.Rows, row)
		}
	}
	if after == "" {
		d.From, d.To = min(1, len(ms)), len(ms)
		is, err := c.svc.AllInvitations(r.Context(), x.a)
		if err != nil {
			return d, err
		}
		for _, i := range is {
			if row, ok := accessRowOf(only, "Invitation", 0, i.Email, "", i.Role, string(i.Status), service.InvitationHeld(x.a, i.Role), false); ok {
				d.Invitations = append(d.Invitations, row)
			}
		}
	} else {
		d.First = x.path("/team/access")
		if len(q) > 0 {
			d.First += "?" + q.Encode()
		}
		d.From, d.To = 0, len(ms) // a cursor does not say where it is: the page names its count only
	}
	if next != "" && len(ms) > 0 {
		q.Set("after", next)
		d.Next = x.path("/team/access") + "?" + q.Encode()
	}
	return d, nil
}

func (c *Console) accessPage(w http.ResponseWriter, r *http.Request, x *actx) error {
	d, err := c.accessReview(r, x)
	if roster.ErrorCode(err) == roster.EINVALID {
		// The filter (or a stale cursor) is refused next to its select;
		// the table shows everyone from the first page.
		x.p.Error, x.p.Field, x.p.HTTPStatus = roster.ErrorMessage(err), roster.FieldOf(err), httpStatus(err)
		r.URL.RawQuery = ""
		d, err = c.accessReview(r, x)
	}
	if err != nil {
		return err
	}
	x.p.Data = d
	c.render(w, http.StatusOK, "access", x.p)
	return nil
}

// accessCSV is the whole review, every member and pending invitation, one
// column per permission named by its code (a spreadsheet's reader filters
// on it).
func (c *Console) accessCSV(w http.ResponseWriter, r *http.Request, x *actx) error {
	only, err := accessFilter(r)
	if err != nil {
		return err
	}
	ms, err := c.svc.AllMembers(r.Context(), x.a)
	if err != nil {
		return err
	}
	is, err := c.svc.AllInvitations(r.Context(), x.a)
	if err != nil {
		return err
	}
	head := []string{"kind", "email", "name", "role", "status", "reason"}
	for _, p := range roster.AllPermissions {
		head = append(head, p.String())
	}
	rows := [][]string{head}
	add := func(row accessRow, ok bool) {
		if !ok {
			return
		}
		rec := []string{strings.ToLower(row.Kind), edge.CSVCell(row.Email), edge.CSVCell(row.Name), row.Role.String(), row.Status, row.Reason}
		for _, has := range row.Has {
			rec = append(rec, map[bool]string{true: "1", false: "0"}[has])
		}
		rows = append(rows, rec)
	}
	for _, m := range ms {
		h := service.MemberHeld(x.a, m)
		add(accessRowOf(only, "Member", m.UserID, m.Email, m.Name, m.Role, string(h.Status), h, false))
	}
	for _, i := range is {
		add(accessRowOf(only, "Invitation", 0, i.Email, "", i.Role, string(i.Status), service.InvitationHeld(x.a, i.Role), false))
	}
	return edge.WriteCSV(w, `access-`+x.a.ID+`.csv`, rows)
}

// personArea is one area of a person's access: each permission in words,
// allowed or not.
type personArea struct {
	Area  string
	Perms []personPerm
}

type personPerm struct {
	Perm    roster.Permission
	Allowed bool
}

type personAccessData struct {
	Member  roster.Member
	Status  string
	Reason  string
	Areas   []personArea
	Allowed int
	Total   int // permissions in the matrix
}

// personAccess is one member's access for an auditor: their role and
// every permission of the matrix in words, grouped by area, each allowed
// or not in words, as the gate decides it now (nothing while suspended or
// without the two-factor sign-in the account requires).
func (c *Console) personAccess(w http.ResponseWriter, r *http.Request, x *actx) error {
	m, err := c.svc.Member(r.Context(), x.a, formInt(r, "uid"))
	if err != nil {
		return err
	}
	h := service.MemberHeld(x.a, m)
	ps := h.Permissions()
	d := personAccessData{Member: m, Status: string(h.Status), Reason: h.Reason, Allowed: len(ps), Total: roster.NumPermissions}
	for _, p := range roster.AllPermissions {
		if n := len(d.Areas); n == 0 || d.Areas[n-1].Area != p.Area() {
			d.Areas = append(d.Areas, personArea{Area: p.Area()})
		}
		a := &d.Areas[len(d.Areas)-1]
		a.Perms = append(a.Perms, personPerm{Perm: p, Allowed: slices.Contains(ps, p)})
	}
	x.p.Title = "Access of " + m.Name
	x.p.Data = d
	c.render(w, http.StatusOK, "person-access", x.p)
	return nil
}

// --- bulk invite

// batchRow is one line of a batch and its outcome.
type batchRow struct {
	Line    int
	Email   string
	Role    string
	Created bool
	Error   string
}

// parseBatch reads "email, role" lines (role optional: support) from the
// pasted text and the uploaded file, in that order. A line that cannot be
// read is an outcome of its own; a header line "email,role" is skipped.
func parseBatch(r *http.Request) ([]batchRow, error) {
	var out []batchRow
	read := func(src io.Reader, what string) error {
		cr := csv.NewReader(src)
		cr.FieldsPerRecord, cr.TrimLeadingSpace = -1, true
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				return nil
			}
			line, _ := cr.FieldPos(0)
			if err != nil {
				var pe *csv.ParseError
				if errors.As(err, &pe) {
					out = append(out, batchRow{Line: pe.Line, Error: capital(what) + ": this line is not valid CSV"})
					continue
				}
				return roster.FieldErrorf("invitations", roster.EINVALID, "%s could not be read", capital(what))
			}
			for i := range rec {
				rec[i] = strings.TrimSpace(rec[i])
			}
			if len(rec) == 1 && rec[0] == "" {
				continue
			}
			if strings.EqualFold(rec[0], "email") {
				continue // a header
			}
			row := batchRow{Line: line, Email: rec[0], Role: "support"}
			if len(rec) > 1 && rec[1] != "" {
				row.Role = rec[1]
			}
			if len(rec) > 2 {
				row.Error = "A line holds an email address and, optionally, a role: nothing more"
			}
			out = append(out, row)
			if len(out) > service.MaxInviteBatch {
				return roster.FieldErrorf("invitations", roster.EINVALID, "A batch holds at most %d invitations", service.MaxInviteBatch)
			}
		}
	}
	if err := read(strings.NewReader(r.PostFormValue("invitations")), "the pasted list"); err != nil {
		return nil, err
	}
	if f, fh, err := r.FormFile("file"); err == nil {
		defer f.Close()
		// The body's cap (edge.UploadMax) leaves room for the rest of the
		// form; the file itself is held to edge.FileMax.
		if fh.Size > edge.FileMax {
			return nil, roster.FieldErrorf("invitations", roster.ETOOLARGE, "The file is larger than 1 MiB: invite at most 100 people at a time")
		}
		if err := read(f, "the file"); err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, roster.FieldErrorf("invitations", roster.EINVALID, "Paste one \"email, role\" per line, or choose a CSV file")
	}
	return out, nil
}

// inviteBatch invites each line on its own and shows every line's outcome
// on the Team page; a batch refused whole is shown on the invite page.
func (c *Console) inviteBatch(w http.ResponseWriter, r *http.Request, x *actx) error {
	rows, err := parseBatch(r)
	if err != nil {
		c.after(w, r, x, x.path("/team/invite"), "", err)
		return nil
	}
	var in []service.InviteRow
	var at []int
	for i, row := range rows {
		if row.Error == "" {
			in = append(in, service.InviteRow{Email: row.Email, Role: row.Role})
			at = append(at, i)
		}
	}
	if len(in) > 0 {
		res, err := c.svc.InviteBatch(r.Context(), x.a, in, x.actor(r))
		if err != nil {
			c.after(w, r, x, x.path("/team/invite"), "", err)
			return nil
		}
		for k, out := range res {
			row := &rows[at[k]]
			if out.Err != nil {
				if roster.ErrorCode(out.Err) == roster.EINTERNAL {
					c.log.Error("console", "path", r.URL.Path, "err", out.Err)
				}
				row.Error = roster.ErrorMessage(out.Err)
				continue
			}
			row.Created, row.Email, row.Role = true, out.Invitation.Email, out.Invitation.Role.Label()
		}
	}
	// The outcome goes to the team page in the one-time form state: the
	// counts and each line, and the refused lines back in the text box,
	// to be corrected and sent again.
	st := formState{Path: x.path("/team"), Batch: rows}
	var again []string
	for _, row := range rows {
		if !row.Created && row.Email != "" {
			again = append(again, row.Email+", "+row.Role)
		}
	}
	if len(again) > 0 {
		st.Form = url.Values{"invitations": {strings.Join(again, "\n")}}
	}
	c.keepStateAt(w, r, x.session, st, "#batch-results")
	return nil
}

// capital starts a phrase with a capital letter, for a message that opens
// with it ("the file" → "The file").
func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
