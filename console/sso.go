package console

import (
	"net/http"
	"strconv"

	"github.com/rosterhq/roster"
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
	}
}

// ssoData is the single sign-on page's data.
type ssoData struct {
	Domains []roster.Domain
	// Refused is the domain whose verification was just refused: the
	// page's error is shown on its row (0: none, the error, if any, is
	// the page's).
	Refused int64
	// Connections and Require are the data of the connections section and
	// of the require switch (partials/sso-connections.html and
	// sso-require.html), set by the parts that render them.
	Connections any
	Require     any
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
		for _, dom := range ds {
			if st.Section == domainSection(dom.ID) {
				d.Refused = dom.ID
			}
		}
	}
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
