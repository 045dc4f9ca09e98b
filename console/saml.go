package console

import (
	"net/http"
	"strconv"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/service"
)

// SAML 2.0 sign-in's routes (issue 22): the service provider's metadata,
// a start per connection, and the assertion consumer service every
// connection shares. All three are public: the provider's admin fetches
// the metadata, and the provider's page posts the response from its own
// site (so the ACS takes no CSRF token and needs no session; the
// server's cross-origin check lets POST /sso/saml/acs through, see
// httpapi.Protect). What protects the ACS is the response itself: signed,
// for this connection, answering a request this server made from this
// browser (samlCookie), accepted once.

func samlPages() []userPageDef {
	return []userPageDef{
		{"GET /sso/saml/{cid}/metadata", anyone, nil, (*Console).samlMetadata},
		{"GET /sso/saml/{cid}/start", anyone, nil, (*Console).samlStart},
		{"POST /sso/saml/acs", anyone, nil, (*Console).samlACS},
	}
}

// connectionID is the {cid} of the path; 0 when it is not a number (no
// connection has it).
func connectionID(r *http.Request) int64 {
	id, err := strconv.ParseInt(r.PathValue("cid"), 10, 64)
	if err != nil || id < 0 {
		return 0
	}
	return id
}

func (c *Console) samlMetadata(w http.ResponseWriter, r *http.Request, v *visit) {
	md, err := c.svc.SAMLMetadata(r.Context(), connectionID(r))
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	w.Write(md)
}

// samlStart starts a sign-in through the connection (the settings' "test
// connection" link, and any bookmark of it).
func (c *Console) samlStart(w http.ResponseWriter, r *http.Request, v *visit) {
	to, binding, err := c.svc.StartSAMLByID(r.Context(), connectionID(r), c.proxies.ClientIP(r))
	if err != nil {
		c.samlFailed(w, r, err)
		return
	}
	c.redirectSAML(w, r, to, binding)
}

// redirectSAML sends the browser to the identity provider with a SAML
// sign-in that StartSAML began, keeping its binding in the browser for the
// ACS (edge.SAMLBindingCookie). /sso/start calls it for a SAML connection.
func (c *Console) redirectSAML(w http.ResponseWriter, r *http.Request, to, binding string) {
	c.proxies.SetSAMLBinding(w, r, binding, service.SSOFlowTTL)
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// samlACS is the assertion consumer service: the provider's form posts
// the response here. A sign-in lands on the account (or wherever the
// person lands); a refusal is a page saying why, with 401.
func (c *Console) samlACS(w http.ResponseWriter, r *http.Request, v *visit) {
	in := service.SAMLResponse{Response: r.PostFormValue("SAMLResponse"), RelayState: r.PostFormValue("RelayState"),
		IP: c.proxies.ClientIP(r), UserAgent: r.UserAgent()}
	in.BrowserBinding = edge.SAMLBinding(r)
	// The binding is single-use whatever happens.
	c.proxies.ClearSAMLBinding(w, r)
	res, err := c.svc.FinishSAML(r.Context(), in)
	if err != nil {
		c.samlFailed(w, r, err)
		return
	}
	c.proxies.SetSession(w, r, res.Session, c.svc.Config.SessionTTL)
	if res.AccountID != "" {
		http.Redirect(w, r, "/accounts/"+res.AccountID, http.StatusSeeOther)
		return
	}
	c.land(w, r, res.User)
}

// samlFailed is the page of a sign-in that did not happen: what went
// wrong, in words, and the way back to the login page.
func (c *Console) samlFailed(w http.ResponseWriter, r *http.Request, err error) {
	code := roster.ErrorCode(err)
	if code == roster.EINTERNAL {
		c.fail(w, r, nil, err)
		return
	}
	c.render(w, httpStatus(err), "error", &page{Title: "Single sign-on did not work", Error: roster.ErrorMessage(err), Code: code})
}
