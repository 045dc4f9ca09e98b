package console

import (
	"net/http"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/service"
)

// Single sign-on in the browser: the login page's "Continue with single
// sign-on" (or a link to /sso/start?email=) sends the browser to the
// account's identity provider, with a cookie binding the sign-in to this
// browser; the provider sends it back to the callback, which signs the
// person in as the login form does and lands them on the account.

func ssoFlowPages() []userPageDef {
	return []userPageDef{
		{"GET /sso/start", anyone, nil, (*Console).ssoStart},
		{"POST /sso/start", anyone, nil, (*Console).ssoStart},
		{"GET /sso/oidc/callback", anyone, nil, (*Console).oidcCallback},
	}
}

// ssoStart sends the browser to the identity provider for the address
// (the query's on GET, the form's on POST). No single sign-on for it: back
// to the login page, saying so.
func (c *Console) ssoStart(w http.ResponseWriter, r *http.Request, v *visit) {
	email := r.URL.Query().Get("email")
	if r.Method == http.MethodPost {
		email = r.PostFormValue("email")
	}
	st, err := c.svc.StartSSO(r.Context(), email, c.proxies.ClientIP(r))
	if err != nil {
		if roster.ErrorCode(err) == roster.EINTERNAL {
			c.fail(w, r, nil, err)
			return
		}
		c.keepState(w, r, "", refused(r, "/login", err))
		return
	}
	if st.SAML {
		c.redirectSAML(w, r, st.RedirectURL, st.Binding)
		return
	}
	c.proxies.SetSSOBinding(w, r, st.Binding, service.SSOFlowTTL)
	http.Redirect(w, r, st.RedirectURL, http.StatusSeeOther)
}

// oidcCallback finishes an OpenID Connect sign-in: the session cookie is
// set and the browser lands on the account. A refusal is a page that says
// what went wrong (401; 403 for a person who is not a member).
func (c *Console) oidcCallback(w http.ResponseWriter, r *http.Request, v *visit) {
	q := r.URL.Query()
	res, err := c.svc.FinishOIDC(r.Context(), service.SSOCallback{State: q.Get("state"), Code: q.Get("code"),
		Error: q.Get("error"), ErrorDescription: q.Get("error_description"),
		Binding: edge.SSOBinding(r), IP: c.proxies.ClientIP(r), UserAgent: r.UserAgent()})
	c.ssoSignedIn(w, r, res, err)
}

// ssoSignedIn ends a single sign-on of either protocol: the binding
// cookie goes (a flow finishes once), then the session is set and the
// browser lands on the account, or the refusal is shown.
func (c *Console) ssoSignedIn(w http.ResponseWriter, r *http.Request, res service.SSOSignedIn, err error) {
	c.proxies.ClearSSOBinding(w, r)
	if err != nil {
		code := roster.ErrorCode(err)
		if code == roster.EINTERNAL {
			c.log.Error("console", "path", r.URL.Path, "err", err)
		}
		title := "Single sign-on failed"
		if code == roster.EFORBIDDEN {
			title = "Not a member yet"
		}
		c.render(w, edge.StatusOf(err), "sso-failed", &page{Title: title, Error: roster.ErrorMessage(err), Code: code})
		return
	}
	c.proxies.SetSession(w, r, res.Session, c.svc.Config.SessionTTL)
	http.Redirect(w, r, "/accounts/"+res.AccountID, http.StatusSeeOther)
}

// The words of the single sign-on audit actions (auditWords), kept with
// the part that writes them.
func init() {
	auditWords[roster.ActionLoginSSO] = func(e roster.AuditEvent) string {
		return "signed in through single sign-on (" + e.Detail + ")"
	}
	auditWords[roster.ActionMemberJoinSSO] = func(e roster.AuditEvent) string {
		return "joined through single sign-on as " + e.Detail
	}
	auditWords[roster.ActionSSOConnectionCreate] = func(e roster.AuditEvent) string {
		return "added the single sign-on connection " + quoted(e.Detail)
	}
	auditWords[roster.ActionSSOConnectionUpdate] = func(e roster.AuditEvent) string {
		return "changed a single sign-on connection: " + e.Detail
	}
	auditWords[roster.ActionSSOConnectionDelete] = func(e roster.AuditEvent) string {
		return "deleted the single sign-on connection " + quoted(e.Detail)
	}
}
