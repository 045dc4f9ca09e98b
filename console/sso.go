package console

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service"
)

// Settings › Single sign-on (issue 22): the account's verified domains,
// its connections to its identity provider and the switch that requires
// them, for those who hold team.edit. This file has the page and its
// domains section; the connections section and the require switch are
// the templates sso-connections and sso-require
// (templates/partials/sso-connections.html, sso-require.html), each fed
// by its field of ssoData, and their forms add their routes to ssoPages.

// ssoPages are the single sign-on page and its forms, appended to the
// account pages' table (accountPages).
func ssoPages() []accountPageDef {
	const A = "/accounts/{id}/settings/sso"
	const title = "Single sign-on"
	return []accountPageDef{
		{"GET " + A, roster.TeamEdit, "settings", title, (*Console).ssoPage},
		{"POST " + A + "/domains", roster.TeamEdit, "settings", title, (*Console).addDomain},
		{"POST " + A + "/domains/{dom}/verify", roster.TeamEdit, "settings", title, (*Console).verifyDomain},
		{"GET " + A + "/domains/{dom}/delete", roster.TeamEdit, "settings", "Remove domain", (*Console).confirmDeleteDomain},
		{"POST " + A + "/domains/{dom}/delete", roster.TeamEdit, "settings", title, (*Console).deleteDomain},
		{"POST " + A + "/connections", roster.TeamEdit, "settings", title, (*Console).addConnection},
		{"POST " + A + "/connections/{cid}", roster.TeamEdit, "settings", title, (*Console).editConnection},
		{"POST " + A + "/connections/{cid}/enabled", roster.TeamEdit, "settings", title, (*Console).enableConnection},
		{"GET " + A + "/connections/{cid}/delete", roster.TeamEdit, "settings", "Delete connection", (*Console).confirmDeleteConnection},
		{"POST " + A + "/connections/{cid}/delete", roster.TeamEdit, "settings", title, (*Console).deleteConnection},
		{"POST " + A + "/require", roster.TeamEdit, "settings", title, (*Console).saveRequireSSO},
	}
}

// ssoData is the single sign-on page's data.
type ssoData struct {
	Domains []roster.Domain
	// Refused is the domain whose verification was just refused: the
	// page's error is shown on its row (0: none, the error, if any, is
	// the page's).
	Refused int64
	// Section is the form a refusal belongs to ("oidc", "saml",
	// "conn-<id>", "require", "domain-<id>"; "": the domain form's).
	Section string
	// Connections and Require are the data of the connections section and
	// of the require switch (partials/sso-connections.html and
	// sso-require.html).
	Connections ssoConnections
	Require     ssoRequire
}

// ssoPath is the page's path in the account.
func ssoPath(x *actx) string { return x.path("/settings/sso") }

// domainSection is the form state's Section of a refused verification.
func domainSection(id int64) string { return "domain-" + strconv.FormatInt(id, 10) }

func (c *Console) ssoPage(w http.ResponseWriter, r *http.Request, x *actx) error {
	ds, err := c.svc.Domains(r.Context(), x.a)
	if err != nil {
		return err
	}
	d := ssoData{Domains: ds}
	if st := x.p.State; st != nil && st.Section != "" {
		d.Section = st.Section
		for _, dom := range ds {
			if st.Section == domainSection(dom.ID) {
				d.Refused = dom.ID
			}
		}
	}
	cs, err := c.svc.Connections(r.Context(), x.a)
	if err != nil {
		return err
	}
	d.Connections = c.connectionsData(x, ds, cs)
	d.Require = requireData(x, ds, cs)
	x.p.Data = d
	c.render(w, http.StatusOK, "sso", x.p)
	return nil
}

func (c *Console) addDomain(w http.ResponseWriter, r *http.Request, x *actx) error {
	d, err := c.svc.AddDomain(r.Context(), x.a, r.PostFormValue("domain"), x.actor(r))
	c.after(w, r, x, ssoPath(x), d.Domain+" added: publish its TXT record below, then verify it.", err)
	return nil
}

// verifyDomain looks the domain's record up; a refusal (what was found)
// is shown on the domain's row.
func (c *Console) verifyDomain(w http.ResponseWriter, r *http.Request, x *actx) error {
	id := formInt(r, "dom")
	d, err := c.svc.VerifyDomain(r.Context(), x.a, id, x.actor(r))
	if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
		if roster.ErrorCode(err) == roster.EINTERNAL {
			c.log.Error("console", "path", r.URL.Path, "err", err)
		}
		st := refused(r, ssoPath(x), err)
		st.Section = domainSection(id)
		c.keepState(w, r, x.session, st)
		return nil
	}
	c.after(w, r, x, ssoPath(x), d.Domain+" is verified.", err)
	return nil
}

func (c *Console) confirmDeleteDomain(w http.ResponseWriter, r *http.Request, x *actx) error {
	d, err := c.svc.Domain(r.Context(), x.a, formInt(r, "dom"))
	if err != nil {
		return err
	}
	body := []string{"Its TXT record is no longer checked; to add it again you must publish a new record."}
	if d.Status == roster.DomainVerified {
		body = []string{"This account no longer holds " + d.Domain + ": another Roster account may verify it. " +
			"Its members' addresses on it are no longer this account's for single sign-on.",
			"To hold it again you must add it and publish a new TXT record."}
	}
	return c.confirm(w, x, confirmation{
		Heading: "Remove the domain " + d.Domain + "?", Body: body,
		Action: x.path("/settings/sso/domains/" + strconv.FormatInt(d.ID, 10) + "/delete"), Button: "Remove domain",
		ButtonID: "confirm-delete", Back: ssoPath(x)})
}

func (c *Console) deleteDomain(w http.ResponseWriter, r *http.Request, x *actx) error {
	d, err := c.svc.DeleteDomain(r.Context(), x.a, formInt(r, "dom"), x.actor(r))
	c.after(w, r, x, ssoPath(x), d.Domain+" removed.", err)
	return nil
}

// --- connections (partials/sso-connections.html)

// ssoConnections is the connections section's data.
type ssoConnections struct {
	// Verified is whether the account has a verified domain: without one
	// the section says to verify a domain first, and has no forms.
	Verified    bool
	Connections []connView
	// OIDC and SAML are the add forms, with what was typed when one was
	// refused (never the secret).
	OIDC, SAML connForm
	Roles      []roleOption
	// RedirectURI and ACSURL are the same for every connection of their
	// protocol: the add forms say them before one exists.
	RedirectURI, ACSURL string
}

// connView is one connection's row: what it is, the values to paste into
// the provider, and its edit form.
type connView struct {
	ID                         int64
	Type                       roster.SSOType
	Name                       string
	Enabled                    bool
	DefaultRole                roster.Role
	Role                       string // DefaultRole as the form names it: "none", "developer", ...
	CountsAsMFA                bool
	Issuer, ClientID           string
	IdPEntityID, MetadataURL   string
	AllowIdPInitiated          bool
	RedirectURI                string // OIDC
	ACSURL, SPEntityID, SPMeta string // SAML
	Edit                       connForm
}

// connForm is a connection form's values and its refusal, when it was
// the one refused: Error is shown at the field Field names (the form's
// input name) or, when Field is "", above the form. Open keeps an edit
// form's <details> open.
type connForm struct {
	Name, Issuer, ClientID, MetadataURL, MetadataXML, DefaultRole string
	CountsAsMFA, AllowIdPInitiated, Enabled                       bool
	Error, Field                                                  string
	Open                                                          bool
}

// FieldError is the refusal's message when it is about the input.
func (f connForm) FieldError(input string) string {
	if f.Field == input {
		return f.Error
	}
	return ""
}

// roleOption is one choice of a default role.
type roleOption struct{ Value, Label string }

// defaultRoles are the choices of a connection's default role: none, or
// any role but the owner's.
func defaultRoles() []roleOption {
	out := []roleOption{{"none", "None — people who are not members ask an admin"}}
	for _, r := range roster.Roles[1:] {
		out = append(out, roleOption{r.String(), r.Label()})
	}
	return out
}

// roleValue is a default role as the form's select names it.
func roleValue(r roster.Role) string {
	if n := service.SSORoleName(r); n != "" {
		return n
	}
	return "none"
}

// The inputs of each connection form (their names), for a refusal's
// field: a refusal about another field is shown above the form.
var (
	oidcInputs = []string{"name", "issuer", "client_id", "client_secret", "default_role"}
	samlInputs = []string{"name", "metadata_url", "metadata_xml", "default_role"}
	editInputs = []string{"name", "default_role", "client_secret", "metadata_url", "metadata_xml"}
)

// connSection is the form state's Section of a refused edit.
func connSection(id int64) string { return "conn-" + strconv.FormatInt(id, 10) }

// refusedForm is a connection form's values after a refusal: what was
// typed (the form state's, secrets dropped), the message, and its field
// when it is one of the form's inputs (prefix: the add forms' inputs are
// named "oidc_issuer", "saml_name", ...).
func refusedForm(x *actx, prefix string, inputs []string) connForm {
	st := x.p.State
	form := st.Form
	get := func(k string) string { return form.Get(prefix + k) }
	f := connForm{Name: get("name"), Issuer: get("issuer"), ClientID: get("client_id"), MetadataURL: get("metadata_url"),
		MetadataXML: get("metadata_xml"), DefaultRole: get("default_role"), CountsAsMFA: form.Has(prefix + "counts_as_mfa"),
		AllowIdPInitiated: form.Has(prefix + "allow_idp_initiated"), Enabled: form.Has(prefix + "enabled"), Error: st.Error, Open: true}
	if slices.Contains(inputs, st.Field) {
		f.Field = st.Field
	}
	return f
}

func (c *Console) connectionsData(x *actx, ds []roster.Domain, cs []roster.SSOConnection) ssoConnections {
	d := ssoConnections{Roles: defaultRoles(), OIDC: connForm{DefaultRole: "none"}, SAML: connForm{DefaultRole: "none"},
		RedirectURI: c.svc.RedirectURI(), ACSURL: c.svc.SAMLACSURL()}
	for _, dom := range ds {
		d.Verified = d.Verified || dom.Status == roster.DomainVerified
	}
	section := ""
	if x.p.State != nil {
		section = x.p.State.Section
	}
	switch section {
	case "oidc":
		d.OIDC = refusedForm(x, "oidc_", oidcInputs)
	case "saml":
		d.SAML = refusedForm(x, "saml_", samlInputs)
	}
	for _, cn := range cs {
		v := connView{ID: cn.ID, Type: cn.Type, Name: cn.Name, Enabled: cn.Enabled, DefaultRole: cn.DefaultRole, Role: roleValue(cn.DefaultRole),
			CountsAsMFA: cn.CountsAsMFA, Issuer: cn.Issuer, ClientID: cn.ClientID, IdPEntityID: cn.IdPEntityID, MetadataURL: cn.MetadataURL, AllowIdPInitiated: cn.AllowIdPInitiated,
			Edit: connForm{Name: cn.Name, DefaultRole: roleValue(cn.DefaultRole), CountsAsMFA: cn.CountsAsMFA,
				AllowIdPInitiated: cn.AllowIdPInitiated, Enabled: cn.Enabled}}
		if cn.Type == roster.SSOOIDC {
			v.RedirectURI = d.RedirectURI
		} else {
			v.ACSURL, v.SPEntityID = d.ACSURL, c.svc.SAMLEntityID(cn.ID)
			v.SPMeta = v.SPEntityID
		}
		if section == connSection(cn.ID) {
			v.Edit = refusedForm(x, "", editInputs)
		}
		d.Connections = append(d.Connections, v)
	}
	return d
}

// connectionInput is an add form's connection (typ: "oidc" or "saml"),
// its inputs named with the type as prefix.
func connectionInput(r *http.Request, typ string) service.SSOConnectionInput {
	get := func(k string) string { return r.PostFormValue(typ + "_" + k) }
	in := service.SSOConnectionInput{Type: typ, Name: get("name"), DefaultRole: get("default_role"), CountsAsMFA: get("counts_as_mfa") != ""}
	if typ == string(roster.SSOOIDC) {
		in.Issuer, in.ClientID, in.ClientSecret = get("issuer"), get("client_id"), get("client_secret")
	} else {
		in.MetadataURL, in.MetadataXML, in.AllowIdPInitiated = get("metadata_url"), get("metadata_xml"), get("allow_idp_initiated") != ""
	}
	return in
}

// connRefused answers a refused connection form: the page again, the
// message at the form whose Section it names, what was typed kept (never
// the client secret: secretField).
func (c *Console) connRefused(w http.ResponseWriter, r *http.Request, x *actx, section string, err error) {
	if roster.ErrorCode(err) == roster.EINTERNAL {
		c.log.Error("console", "path", r.URL.Path, "err", err)
	}
	st := refused(r, ssoPath(x), err)
	st.Section = section
	c.keepState(w, r, x.session, st)
}

// addConnection adds an OIDC or SAML connection (the form's type).
func (c *Console) addConnection(w http.ResponseWriter, r *http.Request, x *actx) error {
	typ := r.PostFormValue("type")
	if typ != string(roster.SSOOIDC) && typ != string(roster.SSOSAML) {
		c.connRefused(w, r, x, "", roster.Errorf(roster.EINVALID, "Choose OpenID Connect or SAML"))
		return nil
	}
	cn, err := c.svc.CreateConnection(r.Context(), x.a, connectionInput(r, typ), x.actor(r))
	if err != nil {
		c.connRefused(w, r, x, typ, err)
		return nil
	}
	c.done(w, r, x.session, ssoPath(x)+"#connection-"+strconv.FormatInt(cn.ID, 10),
		cn.Name+" added: paste the values shown with it into your identity provider.")
	return nil
}

// editConnection saves a connection's edit form: every field it shows
// (a checkbox left unchecked is off), and a new client secret only when
// one is typed.
func (c *Console) editConnection(w http.ResponseWriter, r *http.Request, x *actx) error {
	id := formInt(r, "cid")
	cn, err := c.svc.Connection(r.Context(), x.a, id)
	if err != nil {
		return err
	}
	name, role := r.PostFormValue("name"), r.PostFormValue("default_role")
	enabled, mfa := r.PostFormValue("enabled") != "", r.PostFormValue("counts_as_mfa") != ""
	ch := service.SSOConnectionChange{Name: &name, DefaultRole: &role, Enabled: &enabled, CountsAsMFA: &mfa}
	if secret := r.PostFormValue("client_secret"); secret != "" && cn.Type == roster.SSOOIDC {
		ch.ClientSecret = &secret
	}
	if cn.Type == roster.SSOSAML {
		idp := r.PostFormValue("allow_idp_initiated") != ""
		ch.AllowIdPInitiated = &idp
		// New metadata: pasted XML, or a URL other than the one it was
		// read from (the form shows that one).
		none := ""
		if xml := strings.TrimSpace(r.PostFormValue("metadata_xml")); xml != "" {
			ch.MetadataXML, ch.MetadataURL = &xml, &none
		} else if u := strings.TrimSpace(r.PostFormValue("metadata_url")); u != "" && u != cn.MetadataURL {
			ch.MetadataURL, ch.MetadataXML = &u, &none
		}
	}
	cn, err = c.svc.UpdateConnection(r.Context(), x.a, id, ch, x.actor(r))
	if err != nil {
		c.connRefused(w, r, x, connSection(id), err)
		return nil
	}
	c.done(w, r, x.session, ssoPath(x)+"#connection-"+strconv.FormatInt(id, 10), cn.Name+" saved.")
	return nil
}

// enableConnection turns a connection on or off (enabled: "true" or
// "false"); off ends the sessions it made.
func (c *Console) enableConnection(w http.ResponseWriter, r *http.Request, x *actx) error {
	id := formInt(r, "cid")
	on := r.PostFormValue("enabled") == "true"
	cn, err := c.svc.UpdateConnection(r.Context(), x.a, id, service.SSOConnectionChange{Enabled: &on}, x.actor(r))
	if err != nil {
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return err
		}
		c.connRefused(w, r, x, connSection(id), err)
		return nil
	}
	msg := cn.Name + " is on: people on your verified domains may sign in through it."
	if !on {
		msg = cn.Name + " is off: no one signs in through it, and the sessions it made have ended."
	}
	c.done(w, r, x.session, ssoPath(x)+"#connection-"+strconv.FormatInt(id, 10), msg)
	return nil
}

func (c *Console) confirmDeleteConnection(w http.ResponseWriter, r *http.Request, x *actx) error {
	cn, err := c.svc.Connection(r.Context(), x.a, formInt(r, "cid"))
	if err != nil {
		return err
	}
	cf := confirmation{
		Heading: "Delete the connection " + cn.Name + "?",
		Lead:    "This cannot be undone.",
		Body: []string{"No one signs in through it any more, and everyone signed in through it is signed out at once: the sessions it made end.",
			"To use this identity provider again you must add a new connection and paste its new values into the provider."},
		Action: x.path("/settings/sso/connections/" + strconv.FormatInt(cn.ID, 10) + "/delete"), Button: "Delete connection",
		ButtonID: "confirm-delete", Back: ssoPath(x)}
	if x.a.RequireSSO {
		cs, err := c.svc.Connections(r.Context(), x.a)
		if err != nil {
			return err
		}
		others := 0
		for _, o := range cs {
			if o.Enabled && o.ID != cn.ID {
				others++
			}
		}
		if others == 0 {
			cf.Warning = []string{"This account requires single sign-on and this is its only enabled connection: " +
				"the members on your verified domains will have no way to sign in to it until you add another or turn the requirement off."}
		}
	}
	return c.confirm(w, x, cf)
}

func (c *Console) deleteConnection(w http.ResponseWriter, r *http.Request, x *actx) error {
	id := formInt(r, "cid")
	cn, err := c.svc.Connection(r.Context(), x.a, id)
	if err != nil {
		return err
	}
	err = c.svc.DeleteConnection(r.Context(), x.a, id, x.actor(r))
	c.after(w, r, x, ssoPath(x), cn.Name+" deleted: the sessions it made have ended.", err)
	return nil
}

// --- the require switch (partials/sso-require.html)

// ssoRequire is the require switch's data.
type ssoRequire struct {
	On bool
	// Domains are the verified domains the requirement binds.
	Domains []string
	// Ready: an enabled connection exists, so the switch may be turned on.
	Ready bool
	Error string // the refusal of the last change, in words
}

func requireData(x *actx, ds []roster.Domain, cs []roster.SSOConnection) ssoRequire {
	d := ssoRequire{On: x.a.RequireSSO}
	for _, dom := range ds {
		if dom.Status == roster.DomainVerified {
			d.Domains = append(d.Domains, dom.Domain)
		}
	}
	for _, cn := range cs {
		d.Ready = d.Ready || cn.Enabled
	}
	d.Ready = d.Ready && len(d.Domains) > 0
	if st := x.p.State; st != nil && st.Section == "require" {
		d.Error = st.Error
	}
	return d
}

// saveRequireSSO turns the requirement on or off, through the service
// method PATCH /v1/accounts/{id}/security {require_sso} uses: it refuses
// without a verified domain or an enabled connection, and a caller it
// would lock out of this session.
func (c *Console) saveRequireSSO(w http.ResponseWriter, r *http.Request, x *actx) error {
	on := r.PostFormValue("require_sso") != ""
	_, err := c.svc.SetRequireSSO(r.Context(), x.a, x.u, x.role, x.caller.CameThroughSSO(), on, x.actor(r))
	if err != nil {
		c.connRefused(w, r, x, "require", err)
		return nil
	}
	msg := "Single sign-on is required of the members on your verified domains; the owner and admins were told by mail."
	if !on {
		msg = "Single sign-on is no longer required: members may sign in with a password again."
	}
	c.done(w, r, x.session, ssoPath(x)+"#require", msg)
	return nil
}
