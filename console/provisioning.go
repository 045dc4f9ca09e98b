package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service"
)

// Settings › Provisioning (issue 23), for those who hold team.edit: the
// SCIM base URL the company's directory (Okta, Entra ID) is given, the
// tokens it presents (a new one shown once, on the page that answers its
// creation: the scim-token section of provisioning.html, from the
// one-time form state, never again), and the roles it gives: the default
// role and the directory's groups mapped to roles.

// provisioningPages are the page and its forms, appended to the account
// pages' table (accountPages).
func provisioningPages() []accountPageDef {
	const A = "/accounts/{id}/settings/provisioning"
	const title = "Provisioning (SCIM)"
	return []accountPageDef{
		{"GET " + A, roster.TeamEdit, "settings", title, (*Console).provisioningPage},
		{"POST " + A + "/tokens", roster.TeamEdit, "settings", title, (*Console).createSCIMToken},
		{"GET " + A + "/tokens/{tid}/revoke", roster.TeamEdit, "settings", "Revoke provisioning token", (*Console).confirmRevokeSCIMToken},
		{"POST " + A + "/tokens/{tid}/revoke", roster.TeamEdit, "settings", title, (*Console).revokeSCIMToken},
		{"POST " + A + "/roles", roster.TeamEdit, "settings", title, (*Console).saveSCIMRoles},
	}
}

// emptyGroupRows is how many empty group rows the roles form offers
// (without script, a person adds more by saving and coming back).
const emptyGroupRows = 3

// createdSCIMToken is a token just made, kept for the page that answers
// its creation (formState.SCIMToken) and shown there once.
type createdSCIMToken struct {
	Name  string `json:"name"`
	Token string `json:"token"`
}

// groupRow is one row of the group mapping editor: a group's display name
// and a role name ("" in an empty row).
type groupRow struct {
	Name, Role string
}

type provisioningData struct {
	BaseURL   string // {BASE_URL}/scim/v2
	Verified  bool   // the account has a verified domain: tokens may be made
	Committed bool   // the committed plan: the directory may add members
	Tokens    []roster.SCIMToken
	Created   *createdSCIMToken // the token just made, shown this once
	Default   string            // the default role's name, as shown (what was sent, after a refusal)
	Rows      []groupRow
	Roles     []roster.Role // what the directory may give: every role but the owner's
}

func provisioningPath(x *actx) string { return x.path("/settings/provisioning") }

// provisionedRoles are the roles the directory may give.
var provisionedRoles = []roster.Role{roster.RoleAdmin, roster.RoleDeveloper, roster.RoleFinanceAnalyst, roster.RoleSupport}

func (c *Console) provisioningPage(w http.ResponseWriter, r *http.Request, x *actx) error {
	ts, err := c.svc.SCIMTokens(r.Context(), x.a)
	if err != nil {
		return err
	}
	ds, err := c.svc.Domains(r.Context(), x.a)
	if err != nil {
		return err
	}
	set, err := c.svc.SCIMSettings(r.Context(), x.a.Seq)
	if err != nil {
		return err
	}
	d := provisioningData{
		BaseURL: strings.TrimRight(c.svc.Config.BaseURL, "/") + "/scim/v2", Tokens: ts,
		Committed: x.a.Plan == roster.PlanCommitted, Roles: provisionedRoles, Default: set.DefaultRole.String()}
	for _, dom := range ds {
		d.Verified = d.Verified || dom.Status == roster.DomainVerified
	}
	if !d.Verified && x.p.Field == "name" {
		x.p.Field = "" // no token form to show it at: above the page
	}
	if st := x.p.State; st != nil && st.SCIMToken != nil {
		d.Created, x.p.Notice = st.SCIMToken, st.Notice // just made (createSCIMToken)
	}
	if f := x.p.Form; f != nil && (x.p.Field == "default_role" || x.p.Field == "group_roles") {
		// The roles form refused: shown again as it was sent.
		d.Default = f.Get("default_role")
		names, roles := f["group_name"], f["group_role"]
		for i := range min(len(names), service.MaxSCIMGroupRoles+emptyGroupRows) {
			row := groupRow{Name: names[i]}
			if i < len(roles) {
				row.Role = roles[i]
			}
			d.Rows = append(d.Rows, row)
		}
	} else {
		for _, n := range service.SortedSCIMGroups(set) {
			d.Rows = append(d.Rows, groupRow{Name: n, Role: set.GroupRoles[n].String()})
		}
		for range emptyGroupRows {
			d.Rows = append(d.Rows, groupRow{})
		}
	}
	x.p.Data = d
	c.render(w, http.StatusOK, "provisioning", x.p)
	return nil
}

func (c *Console) createSCIMToken(w http.ResponseWriter, r *http.Request, x *actx) error {
	t, token, err := c.svc.CreateSCIMToken(r.Context(), x.a, r.PostFormValue("name"), x.actor(r))
	if err != nil {
		c.after(w, r, x, provisioningPath(x), "", err)
		return nil
	}
	// The token is on the next page only (render answers no-store), from
	// the one-time form state; the list never shows it.
	c.keepState(w, r, x.session, formState{Path: provisioningPath(x), SCIMToken: &createdSCIMToken{Name: t.Name, Token: token},
		Notice: "Token " + strconv.Quote(t.Name) + " created: copy it now, it will not be shown again."})
	return nil
}

func (c *Console) confirmRevokeSCIMToken(w http.ResponseWriter, r *http.Request, x *actx) error {
	t, err := c.svc.SCIMToken(r.Context(), x.a, formInt(r, "tid"))
	if err != nil {
		return err
	}
	return c.confirm(w, x, confirmation{
		Heading: "Revoke the provisioning token " + strconv.Quote(t.Name) + "?", Lead: "This is irreversible.",
		Body: []string{"The directory that presents it can no longer provision this account: its next request is refused. " +
			"The members it provisioned stay as they are.",
			"To provision again, create a new token and give it to the directory."},
		Action: provisioningPath(x) + "/tokens/" + strconv.FormatInt(t.ID, 10) + "/revoke", Button: "Revoke token",
		ButtonID: "confirm-revoke", Back: provisioningPath(x)})
}

func (c *Console) revokeSCIMToken(w http.ResponseWriter, r *http.Request, x *actx) error {
	t, err := c.svc.DeleteSCIMToken(r.Context(), x.a, formInt(r, "tid"), x.actor(r))
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return err // no such token here: no page to go back to
	}
	c.after(w, r, x, provisioningPath(x), "Token "+strconv.Quote(t.Name)+" revoked: the directory that used it can no longer provision this account.", err)
	return nil
}

// saveSCIMRoles saves the default role and the group mapping: the rows
// with a name or a role (an empty row is left out).
func (c *Console) saveSCIMRoles(w http.ResponseWriter, r *http.Request, x *actx) error {
	r.ParseForm()
	in := service.SCIMSettingsInput{DefaultRole: r.PostFormValue("default_role"), GroupRoles: map[string]string{}}
	names, roles := r.PostForm["group_name"], r.PostForm["group_role"]
	var err error
	for i, n := range names {
		role := ""
		if i < len(roles) {
			role = roles[i]
		}
		if strings.TrimSpace(n) == "" && role == "" {
			continue
		}
		if _, twice := in.GroupRoles[strings.TrimSpace(n)]; twice && strings.TrimSpace(n) != "" {
			err = roster.FieldErrorf("group_roles", roster.EINVALID, "The group %q is mapped twice: map it once", strings.TrimSpace(n))
			break
		}
		in.GroupRoles[strings.TrimSpace(n)] = role
	}
	if err == nil {
		_, err = c.svc.UpdateSCIMSettings(r.Context(), x.a, in, x.actor(r))
	}
	c.after(w, r, x, provisioningPath(x), "Provisioning roles saved: they apply from the directory's next change of each member.", err)
	return nil
}
