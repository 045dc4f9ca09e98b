package console

import (
	"net/http"
	"net/url"
	"strings"

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
// (the query's on GET, the form's on POST). No single sign-on for it (or
// the provider cannot be reached): back to the login page, saying so, at
// its password step with the address filled.
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
		fs := refused(r, "/login", err)
		fs.Form = url.Values{"email": {email}}
		c.keepState(w, r, "", fs)
		return
	}
	if st.SAML {
		c.redirectSAML(w, r, st.RedirectURL, st.Binding)
		return
	}
	c.proxies.SetSSOBinding(w, r, st.Binding, service.SSOFlowTTL)
	http.Redirect(w, r, st.RedirectURL, http.StatusSeeOther)
}

// The login page asks for the address first (issue 22). Its first step
// posts the address alone to POST /login (the password field is in the
// form, hidden, so a password manager may fill it: a form that brings a
// password is the password login, as before). With the address alone the
// server decides, and answers with the login page again (a one-time form
// state): when the account that verified the address's domain requires
// single sign-on, a page that forwards the browser at once (a Refresh
// header, and a link) to GET /sso/start?email=, which redirects to the
// provider; otherwise the password step, with the address filled and a
// "Continue with single sign-on" link to GET /sso/start?email= beside the
// password when single sign-on applies. The way to the provider is a
// navigation, never a form's redirect: the console's CSP (form-action
// 'self') stops a form whose answer redirects to another site, as the
// provider is. Nothing here reveals more than POST /v1/sso/start does,
// and whether the domain's account requires it (service LoginOptionsFor):
// the same for every address on the domain. No JavaScript is needed. The
// owner of an account that requires single sign-on keeps a password path:
// /login?with=password is the password step at once.

// loginAddress is the login page's first step: the address alone.
func (c *Console) loginAddress(w http.ResponseWriter, r *http.Request, v *visit) {
	email := strings.TrimSpace(r.PostFormValue("email"))
	next := r.PostFormValue("next")
	if email == "" {
		st := refused(r, "/login", roster.FieldErrorf("email", roster.EINVALID, "Enter the email address you log in with"))
		c.keepStateAt(w, r, "", st, nextQuery(next))
		return
	}
	opts, err := c.svc.LoginOptionsFor(r.Context(), email)
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	st := formState{Path: "/login", Outcome: "password", Form: url.Values{"email": {email}, "next": {next}}}
	if opts.Required {
		st.Outcome = "sso-required"
	}
	c.keepStateAt(w, r, "", st, nextQuery(next))
}

// loginStep is the login page's step for the visit: the password step
// once an address is known (the first step's outcome, any refusal of the
// page's forms, or ?with=password), offering single sign-on when it
// applies to the address; or, when the address's account requires it,
// the page that forwards the browser to it.
func (c *Console) loginStep(w http.ResponseWriter, r *http.Request, v *visit, f formData) formData {
	f.PasswordStep = v.st != nil || r.URL.Query().Get("with") == "password"
	if v.st != nil && v.st.Outcome == "sso-required" && f.Email != "" {
		f.SSO, f.SSORequired = true, true
		w.Header().Set("Refresh", "0; url="+ssoStartURL(f.Email))
		return f
	}
	if f.PasswordStep && f.Email != "" {
		if opts, err := c.svc.LoginOptionsFor(r.Context(), f.Email); err == nil {
			f.SSO = opts.SSO
		} else {
			c.log.Error("console: login options", "err", err)
		}
	}
	return f
}

// ssoStartURL is the console's way to an address's identity provider.
func ssoStartURL(email string) string { return "/sso/start?email=" + url.QueryEscape(email) }

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
