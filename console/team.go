package console

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service"
)

// The team's pages beyond the list itself: what each role means, the
// confirmations for revoking an invitation and for leaving, and the words
// of a refusal (who to ask).

func init() {
	// refusalOf is the refusal an error page explains, or nil: the error
	// page is shown for many errors, and only the gate's refusals carry one.
	funcs["refusalOf"] = func(v any) *refusal {
		r, _ := v.(*refusal)
		return r
	}
}

// --- the roles page

type roleColumn struct {
	Role        roster.Role
	Label       string
	Description string
	You         bool
}

type roleRow struct {
	Perm   roster.Permission
	Phrase string
	Cells  []bool // one per column, in the columns' order
}

type rolesData struct {
	Columns   []roleColumn
	Rows      []roleRow
	Mine      roster.Role
	CanTeam   bool // the Team page is open to the caller
	Suspended bool
}

// roles builds the matrix as a person reads it: the roles with their
// descriptions, and each permission in words with Yes or No per role.
func roles(mine roster.Role) rolesData {
	d := rolesData{Mine: mine}
	for _, r := range roster.Roles {
		d.Columns = append(d.Columns, roleColumn{Role: r, Label: r.Label(), Description: r.Description(), You: r == mine})
	}
	for _, p := range roster.AllPermissions {
		row := roleRow{Perm: p, Phrase: p.Phrase()}
		for _, r := range roster.Roles {
			row.Cells = append(row.Cells, service.RoleAllows(r, p))
		}
		d.Rows = append(d.Rows, row)
	}
	return d
}

// rolesPage is the role comparison. Any member may open it (anyMember):
// what the roles mean is no secret of the account, and a member who is
// refused a page or offered a role needs it most.
func (c *Console) rolesPage(w http.ResponseWriter, r *http.Request, x *actx) error {
	d := roles(x.role)
	d.CanTeam = x.p.Status == roster.MemberActive && service.RoleAllows(x.role, roster.TeamView)
	d.Suspended = x.p.Status == roster.MemberSuspended
	x.p.Data = d
	c.render(w, http.StatusOK, "roles", x.p)
	return nil
}

// --- revoking an invitation

// pendingInvitation finds one of the account's pending invitations.
// Errors: ENOTFOUND.
func (c *Console) pendingInvitation(ctx context.Context, a roster.Account, id int64) (roster.Invitation, error) {
	is, err := c.svc.AllInvitations(ctx, a)
	if err != nil {
		return roster.Invitation{}, err
	}
	for _, inv := range is {
		if inv.ID == id {
			return inv, nil
		}
	}
	return roster.Invitation{}, roster.Errorf(roster.ENOTFOUND, "No such pending invitation")
}

func (c *Console) confirmRevoke(w http.ResponseWriter, r *http.Request, x *actx) error {
	inv, err := c.pendingInvitation(r.Context(), x.a, formInt(r, "inv"))
	if err != nil {
		return err
	}
	return c.confirm(w, x, confirmation{
		Heading: "Revoke the invitation to " + inv.Email + "?",
		Lead:    "The invitation's link stops working at once.",
		Body: []string{inv.Email + " cannot join " + x.a.Name + " as " + inv.Role.Label() + " with it, even from the mail already sent.",
			"You can invite " + inv.Email + " again at any time; a new invitation has a new link."},
		Action: x.path("/team/invitations/" + strconv.FormatInt(inv.ID, 10) + "/revoke"), Button: "Revoke invitation",
		ButtonID: "confirm-revoke", Back: x.path("/team")})
}

// --- leaving

// confirmLeave says what leaving does, as Service.Leave does it: the
// membership ends, the member's API keys for the account go with it (the
// schema cascades), the account stops being their default, and only a
// new invitation brings them back.
func (c *Console) confirmLeave(w http.ResponseWriter, r *http.Request, x *actx) error {
	if x.role == roster.RoleOwner {
		return roster.Errorf(roster.EOWNERIMMUTABLE, "The owner cannot leave their account")
	}
	return c.confirm(w, x, confirmation{
		Heading: "Leave " + x.a.Name + "?",
		Lead:    "You lose access to " + x.a.Name + " at once.",
		Body: []string{"Its pages and its API stop answering you, and your API keys for " + x.a.Name +
			" are deleted. If it is your default account, it no longer is. Your login, your other accounts and their API keys are not affected.",
			"Your leaving is recorded in " + x.a.Name + "'s audit log. To come back, the owner or an admin of " + x.a.Name + " must invite you again."},
		Action: x.path("/leave"), Button: "Leave " + x.a.Name, ButtonID: "confirm-leave", Back: x.path("")})
}

// --- refusals

// refusal is what a 403 page explains beyond its message: the permission's
// technical name and the people who can change the caller's access.
type refusal struct {
	Perm      string
	Ask       []roster.Member
	Suspended bool
}

// maxAsk is how many people a refusal names at most.
const maxAsk = 5

// whoToAsk lists the account's active owner and admins, owner first, at
// most maxAsk, without the caller. Reading fails quietly: the refusal
// stands without names.
func (c *Console) whoToAsk(ctx context.Context, a roster.Account, me int64) []roster.Member {
	var out []roster.Member
	p := roster.Page{Limit: 100}
	for range 50 {
		ms, _, next, err := c.svc.Members(ctx, a, p)
		if err != nil {
			return out
		}
		for _, m := range ms {
			if (m.Role == roster.RoleOwner || m.Role == roster.RoleAdmin) && m.Status == roster.MemberActive && m.UserID != me {
				out = append(out, m)
				if len(out) == maxAsk {
					return out
				}
			}
		}
		if next == "" || len(ms) == 0 {
			break
		}
		p.After = next
	}
	return out
}

// refuse words the gate's refusal of caller on a page needing perm: what
// the page needs, in words, which roles have it, the caller's role, and
// who can help. It returns the error to show and sets the page's refusal.
func (c *Console) refuse(ctx context.Context, p *page, caller service.Caller, perm roster.Permission, err error) error {
	a := caller.Account
	ref := &refusal{Perm: perm.String(), Ask: c.whoToAsk(ctx, a, caller.User.ID)}
	p.Data = ref
	if roster.ErrorCode(err) == roster.EPLANREQUIRED && caller.Status == roster.MemberSuspended {
		ref.Suspended = true
		return roster.Errorf(roster.EPLANREQUIRED, "Your access to %s is suspended: its plan does not include team members now, so only its owner can use it. %s comes back with your %s role when %s is on the committed monthly spend plan again.",
			a.Name, gerund(perm.Phrase()), caller.Role.Label(), a.Name)
	}
	return roster.Errorf(roster.EFORBIDDEN, "%s needs %s. Your role in %s is %s.",
		gerund(perm.Phrase()), rolesNeeded(perm), a.Name, caller.Role.Label())
}

// rolesNeeded names the roles holding p: "the Owner role", or "one of
// these roles: Owner, Admin or Support".
func rolesNeeded(p roster.Permission) string {
	var names []string
	for _, r := range service.RolesWith(p) {
		names = append(names, r.Label())
	}
	switch len(names) {
	case 0:
		return "a role no one has"
	case 1:
		return "the " + names[0] + " role"
	}
	return "one of these roles: " + strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// gerund turns a permission's phrase into the subject of a sentence:
// "View phone numbers" → "Viewing phone numbers".
func gerund(phrase string) string {
	verb, rest, _ := strings.Cut(phrase, " ")
	switch {
	case verb == "Be":
		verb = "Being"
	case strings.HasSuffix(verb, "e") && !strings.HasSuffix(verb, "ee"):
		verb = verb[:len(verb)-1] + "ing"
	default:
		verb += "ing"
	}
	if rest == "" {
		return verb
	}
	return verb + " " + rest
}
