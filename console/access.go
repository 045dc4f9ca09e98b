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
	Gained  []string
	Lost    []string
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
		c.after(w, r, x, x.path("/team"), "", roster.FieldErrorf("role", roster.EINVALID, "choose the new role"))
		return nil
	}
	ma, err := c.svc.MemberAccess(r.Context(), x.a, formInt(r, "uid"), raw)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return roster.Errorf(roster.ENOTFOUND, "no such user in this account")
	}
	if err != nil {
		c.after(w, r, x, x.path("/team"), "", err)
		return nil
	}
	d := rolePreviewData{Member: ma.Member, Reason: ma.Held.Reason, NewRole: ma.Preview.Role}
	for _, p := range ma.Preview.Gained {
		d.Gained = append(d.Gained, p.String())
	}
	for _, p := range ma.Preview.Lost {
		d.Lost = append(d.Lost, p.String())
	}
	x.p.Data = d
	c.render(w, http.StatusOK, "role-preview", x.p)
	return nil
}

// --- access review

type accessRow struct {
	Kind   string // "Member" or "Invitation"
	Email  string
	Name   string
	Role   roster.Role
	Status string
	Reason string // why the member holds nothing: "suspended", "mfa_required" (service.Held)
	Has    []bool // one per permission of the matrix, in order
	You    bool   // the member is the person looking
}

type accessData struct {
	Permissions []string // every permission, in matrix order (the columns)
	Filter      string   // the permission asked for, or ""
	Rows        []accessRow
	CSV         string // the CSV link, with the filter
	Cols        int    // how many columns the table has
}

// accessReview reads every member and pending invitation holding the
// permission asked (all when none is). An unknown permission is EINVALID.
func (c *Console) accessReview(r *http.Request, x *actx) (accessData, error) {
	d := accessData{CSV: x.path("/team/access.csv"), Cols: 4 + len(roster.AllPermissions)}
	for _, p := range roster.AllPermissions {
		d.Permissions = append(d.Permissions, p.String())
	}
	var only roster.Permission
	if v := r.URL.Query().Get("permission"); v != "" {
		p, ok := roster.ParsePermission(v)
		if !ok {
			return d, roster.FieldErrorf("permission", roster.EINVALID, "unknown permission %q: choose one from the list", v)
		}
		only, d.Filter = p, p.String()
		d.CSV += "?permission=" + p.String()
	}
	ms, err := c.svc.AllMembers(r.Context(), x.a)
	if err != nil {
		return d, err
	}
	is, err := c.svc.AllInvitations(r.Context(), x.a)
	if err != nil {
		return d, err
	}
	add := func(kind, email, name string, role roster.Role, status string, h service.Held, you bool) {
		ps := h.Permissions()
		if only != roster.PermissionNone && !slices.Contains(ps, only) {
			return
		}
		row := accessRow{Kind: kind, Email: email, Name: name, Role: role, Status: status, Reason: h.Reason, You: you}
		for _, p := range roster.AllPermissions {
			row.Has = append(row.Has, slices.Contains(ps, p))
		}
		d.Rows = append(d.Rows, row)
	}
	for _, m := range ms {
		h := service.MemberHeld(x.a, m)
		add("Member", m.Email, m.Name, m.Role, string(h.Status), h, m.UserID == x.u.ID)
	}
	for _, i := range is {
		add("Invitation", i.Email, "", i.Role, string(i.Status), service.InvitationHeld(x.a, i.Role), false)
	}
	return d, nil
}

func (c *Console) accessPage(w http.ResponseWriter, r *http.Request, x *actx) error {
	d, err := c.accessReview(r, x)
	if roster.ErrorCode(err) == roster.EINVALID {
		// The filter is refused next to its select; the table shows everyone.
		x.p.Error, x.p.Field, x.p.HTTPStatus = roster.ErrorMessage(err), roster.FieldOf(err), httpStatus(err)
		q := r.URL.Query()
		q.Del("permission")
		r.URL.RawQuery = q.Encode()
		d, err = c.accessReview(r, x)
	}
	if err != nil {
		return err
	}
	x.p.Data = d
	c.render(w, http.StatusOK, "access", x.p)
	return nil
}

func (c *Console) accessCSV(w http.ResponseWriter, r *http.Request, x *actx) error {
	d, err := c.accessReview(r, x)
	if err != nil {
		return err
	}
	rows := [][]string{append([]string{"kind", "email", "name", "role", "status", "reason"}, d.Permissions...)}
	for _, row := range d.Rows {
		rec := []string{strings.ToLower(row.Kind), edge.CSVCell(row.Email), edge.CSVCell(row.Name), row.Role.String(), row.Status, row.Reason}
		for _, has := range row.Has {
			rec = append(rec, map[bool]string{true: "1", false: "0"}[has])
		}
		rows = append(rows, rec)
	}
	return edge.WriteCSV(w, `access-`+x.a.ID+`.csv`, rows)
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
					out = append(out, batchRow{Line: pe.Line, Error: what + ": this line is not valid CSV"})
					continue
				}
				return roster.FieldErrorf("invitations", roster.EINVALID, "%s could not be read", what)
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
				row.Error = "a line holds an email address and, optionally, a role: nothing more"
			}
			out = append(out, row)
			if len(out) > service.MaxInviteBatch {
				return roster.FieldErrorf("invitations", roster.EINVALID, "a batch holds at most %d invitations", service.MaxInviteBatch)
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
			return nil, roster.FieldErrorf("invitations", roster.ETOOLARGE, "the file is larger than 1 MiB: invite at most 100 people at a time")
		}
		if err := read(f, "the file"); err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, roster.FieldErrorf("invitations", roster.EINVALID, "paste one \"email, role\" per line, or choose a CSV file")
	}
	return out, nil
}

// inviteBatch invites each line on its own and shows every line's outcome.
func (c *Console) inviteBatch(w http.ResponseWriter, r *http.Request, x *actx) error {
	rows, err := parseBatch(r)
	if err != nil {
		c.after(w, r, x, x.path("/team"), "", err)
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
			c.after(w, r, x, x.path("/team"), "", err)
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
