package console

import (
	"net/http"
	"net/url"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/password"
	"github.com/rosterhq/roster/service"
)

// formData re-fills a form after an error, with the error next to its field.
type formData struct {
	Email, Name, Next string
	Field             string // the field the error belongs to
	Sent              bool
	Token             string
	Preview           *service.InvitationPreview
	SignedInAs        string
	Dead              *deadLink // an invitation link that no longer works
	// Errors are the messages of a form with several fields wrong at
	// once, by field (sign-up); Rules the password's rules, shown before
	// the first try (password.Rules).
	Errors map[string]string
	Rules  []string
	// Unverified is set when a login was refused for an address not
	// verified yet: the page offers to send the link again.
	Unverified bool
	// The login page's steps (ssoflow.go): PasswordStep once the address
	// is known, SSO when single sign-on applies to it, SSORequired when
	// the address's account requires it (the page forwards the browser).
	PasswordStep, SSO, SSORequired bool
}

// statePage is a page outside an account shown with the visit's form
// state: the refusal's message, field, typed values and status.
func (v *visit) statePage(w http.ResponseWriter, p *page) *page {
	v.st.fill(w, p)
	return p
}

// typedForm is formData refilled from the visit's form state.
func (v *visit) typedForm(f formData) formData {
	if v.st != nil && v.st.Form != nil {
		f.Email, f.Name = v.st.Form.Get("email"), v.st.Form.Get("name")
		if n := v.st.Form.Get("next"); n != "" {
			f.Next = n
		}
	}
	if v.st != nil {
		f.Field = v.st.Field
		f.Errors = v.st.Errors
		f.Unverified = v.st.Outcome == "unverified"
	}
	return f
}

func (c *Console) signupPage(w http.ResponseWriter, r *http.Request, v *visit) {
	f := v.typedForm(formData{Rules: password.Rules()})
	if v.st != nil && v.st.Outcome == "sent" {
		f.Sent = true
		c.render(w, http.StatusOK, "signup", &page{Title: "Check your inbox", Data: f})
		return
	}
	c.render(w, http.StatusOK, "signup", v.statePage(w, &page{Title: "Sign up", Data: f}))
}

// signup checks every field first (service.SignupErrors: the rules Signup
// applies) so the form comes back with all of its problems marked at once,
// then signs up; either way the answer is GET /signup: "check your inbox",
// or the refusals.
func (c *Console) signup(w http.ResponseWriter, r *http.Request, v *visit) {
	in := service.SignupInput{Email: r.PostFormValue("email"), Password: r.PostFormValue("password"), Name: r.PostFormValue("name")}
	errs := c.svc.SignupErrors(in)
	if len(errs) == 0 {
		if _, err := c.svc.Signup(r.Context(), in, c.proxies.ClientIP(r)); err != nil {
			errs = []error{err}
		}
	}
	if len(errs) > 0 {
		st := refused(r, "/signup", errs[0])
		st.Errors = map[string]string{}
		st.Error = ""
		for _, err := range errs {
			if field := roster.FieldOf(err); field != "" {
				st.Errors[field] = roster.ErrorMessage(err)
			} else {
				st.Error = roster.ErrorMessage(err)
			}
		}
		c.keepState(w, r, "", st)
		return
	}
	c.keepState(w, r, "", formState{Path: "/signup", Outcome: "sent", Form: url.Values{"email": {r.PostFormValue("email")}}})
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request, v *visit) {
	f := c.loginStep(w, r, v, v.typedForm(formData{Next: r.URL.Query().Get("next")}))
	c.render(w, http.StatusOK, "login", v.statePage(w, &page{Title: "Log in", Notice: takeFlash(w, r, ""), Data: f}))
}

// pendingCookie holds the second sign-in step's token between the login
// form and the code form (GET /login/code), so that page can be reloaded.
const pendingCookie = "roster_pending"

func (c *Console) login(w http.ResponseWriter, r *http.Request, v *visit) {
	if r.PostFormValue("password") == "" {
		c.loginAddress(w, r, v) // the first step: the address alone
		return
	}
	next := r.PostFormValue("next")
	res, err := c.svc.Login(r.Context(), service.LoginInput{Email: r.PostFormValue("email"), Password: r.PostFormValue("password"),
		IP: c.proxies.ClientIP(r), UserAgent: r.UserAgent(), WantPending: true})
	if res.Pending != "" {
		// The password was right; the second factor is due, on its own step.
		http.SetCookie(w, &http.Cookie{Name: pendingCookie, Value: res.Pending, Path: "/login", MaxAge: 600,
			HttpOnly: true, Secure: c.proxies.HTTPS(r), SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, "/login/code"+nextQuery(next), http.StatusSeeOther)
		return
	}
	if err != nil {
		st := refused(r, "/login", err)
		if roster.ErrorCode(err) == roster.EEMAILUNVERIFIED {
			// Told only after the right password: the page offers the link again.
			st.Outcome = "unverified"
		}
		c.keepStateAt(w, r, "", st, nextQuery(next))
		return
	}
	c.signedIn(w, r, res, next)
}

// loginCodePage is the second sign-in step's form, for the pending token
// of the login form (its cookie); without one, the login page.
func (c *Console) loginCodePage(w http.ResponseWriter, r *http.Request, v *visit) {
	ck, err := r.Cookie(pendingCookie)
	if err != nil || ck.Value == "" {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	f := formData{Token: ck.Value, Next: r.URL.Query().Get("next")}
	c.render(w, http.StatusOK, "login-code", v.statePage(w, &page{Title: "Two-factor sign-in", Data: f}))
}

// verifyAgain sends an address's verification link again (the login
// page's "Send the link again"). The answer is the same whether or not the
// address has a login, or is verified: a notice on the login page. Only a
// limit's refusal (429, nothing sent) is shown as an error.
func (c *Console) verifyAgain(w http.ResponseWriter, r *http.Request, v *visit) {
	if err := c.svc.RequestVerification(r.Context(), r.PostFormValue("email"), c.proxies.ClientIP(r)); err != nil {
		st := refused(r, "/login", err)
		st.Outcome = "unverified"
		c.keepState(w, r, "", st)
		return
	}
	setNotice(w, "verify-again")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// signedIn sets the session and goes where the person was going.
func (c *Console) signedIn(w http.ResponseWriter, r *http.Request, res service.LoginResult, next string) {
	c.proxies.SetSession(w, r, res.Session, c.svc.Config.SessionTTL)
	http.SetCookie(w, &http.Cookie{Name: pendingCookie, Value: "", Path: "/login", MaxAge: -1, HttpOnly: true,
		Secure: c.proxies.HTTPS(r), SameSite: http.SameSiteLaxMode})
	if next := edge.SafeNext(next); next != "" {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	c.land(w, r, res.User)
}

// loginCode is the second sign-in step: the pending token from the first
// and a code (or a recovery code), without typing the password again.
func (c *Console) loginCode(w http.ResponseWriter, r *http.Request, v *visit) {
	f := formData{Token: r.PostFormValue("pending"), Next: r.PostFormValue("next")}
	res, err := c.svc.LoginPending(r.Context(), f.Token, r.PostFormValue("otp"), r.PostFormValue("recovery_code"),
		c.proxies.ClientIP(r), r.UserAgent())
	if err != nil {
		st := refused(r, "/login/code", err)
		if roster.FieldOf(err) == "pending" {
			// The first step is over (expired, or too many codes): log in again.
			st.Path, st.Field = "/login", ""
		}
		c.keepStateAt(w, r, "", st, nextQuery(f.Next))
		return
	}
	c.signedIn(w, r, res, f.Next)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, v *visit) {
	if v.signedIn { // its CSRF token was checked by the wrapper (visitorForm)
		c.svc.Logout(r.Context(), v.session)
	}
	c.proxies.ClearSession(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// verifyPage asks for a click rather than verifying on GET, so mail
// scanners that fetch links do not use the token up.
func (c *Console) verifyPage(w http.ResponseWriter, r *http.Request, v *visit) {
	f := formData{Token: r.PathValue("token")}
	if v.st != nil && v.st.Error != "" {
		f.Token = "" // the link did not work: no button to press again
	}
	c.render(w, http.StatusOK, "verify", v.statePage(w, &page{Title: "Verify your address", Data: f}))
}

func (c *Console) verify(w http.ResponseWriter, r *http.Request, v *visit) {
	if _, err := c.svc.VerifyEmail(r.Context(), r.PathValue("token")); err != nil {
		c.keepState(w, r, "", refused(r, r.URL.Path, err))
		return
	}
	setNotice(w, "verified")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (c *Console) invitePage(w http.ResponseWriter, r *http.Request, v *visit) {
	token := r.PathValue("token")
	prev, err := c.svc.PreviewInvitation(r.Context(), token)
	if err != nil {
		c.inviteFailed(w, r, v, token, err)
		return
	}
	f := formData{Token: token, Preview: &prev, Email: prev.Invitation.Email, Next: "/invite/" + token, Rules: password.Rules()}
	if v.st != nil && v.st.Form != nil {
		f.Name = v.st.Form.Get("name")
	}
	if v.st != nil {
		f.Field = v.st.Field
	}
	p := v.statePage(w, &page{Title: "Join " + prev.Invitation.AccountName, Data: f})
	if v.signedIn {
		u := v.u
		f.SignedInAs = u.Email
		p.User, p.CSRF, p.Data = &u, c.csrfToken(v.session), f
	}
	c.render(w, http.StatusOK, "invite", p)
}

func (c *Console) inviteSignup(w http.ResponseWriter, r *http.Request, v *visit) {
	token := r.PathValue("token")
	res, err := c.svc.Signup(r.Context(), service.SignupInput{Password: r.PostFormValue("password"), Name: r.PostFormValue("name"), InvitationToken: token}, c.proxies.ClientIP(r))
	if err != nil {
		c.keepState(w, r, v.session, refused(r, "/invite/"+token, err))
		return
	}
	c.proxies.SetSession(w, r, res.Session, c.svc.Config.SessionTTL)
	c.done(w, r, res.Session, "/accounts/"+res.Account.ID, "You joined "+res.Account.Name+".")
}

func (c *Console) inviteAccept(w http.ResponseWriter, r *http.Request, v *visit) {
	u, session := v.u, v.session
	a, _, err := c.svc.AcceptInvitation(r.Context(), u, r.PathValue("token"), c.proxies.ClientIP(r))
	if err != nil {
		// The invitation's page says what became of a link that no
		// longer works (EINVITEINVALID) by itself.
		c.keepState(w, r, session, refused(r, "/invite/"+r.PathValue("token"), err))
		return
	}
	c.done(w, r, sessionOf(r), "/accounts/"+a.ID, "You joined "+a.Name+".")
}

// deadLink is what the page of an invitation link that no longer works
// says: what happened, and what to do next.
type deadLink struct {
	State    string // the invitation's status, or "unknown"
	Heading  string
	What     string
	Next     string
	Href     string // the next step's link, if any
	LinkText string
}

// inviteFailed answers an invitation link the service refused: with what
// became of the invitation when the refusal is about the link itself
// (EINVITEINVALID, 410), else with the error's message.
func (c *Console) inviteFailed(w http.ResponseWriter, r *http.Request, v *visit, token string, err error) {
	p := &page{Title: "Invitation", Data: formData{}}
	u, signedIn := v.u, v.signedIn
	if signedIn {
		p.User, p.CSRF = &u, c.csrfToken(v.session)
	}
	if roster.ErrorCode(err) != roster.EINVITEINVALID {
		p.Error = roster.ErrorMessage(err)
		c.render(w, httpStatus(err), "invite", p)
		return
	}
	l, lerr := c.svc.InvitationLinkState(r.Context(), token)
	if lerr != nil {
		c.log.Error("console", "path", r.URL.Path, "err", lerr)
		l = service.InvitationLink{}
	}
	member := false
	if signedIn && l.AccountID != "" {
		_, _, aerr := c.svc.Account(r.Context(), u.ID, l.AccountID)
		member = aerr == nil
	}
	d := deadInvitation(l, signedIn, member, u.Email)
	p.Title, p.Data = d.Heading, formData{Dead: &d}
	c.render(w, httpStatus(err), "invite", p)
}

const (
	askAgain      = "Ask the person who invited you to send a new invitation: they can do it from the Team page of the account."
	askAgainLower = "ask the person who invited you to send a new invitation: they can do it from the Team page of the account."
)

// deadInvitation words what became of an invitation for the holder of its
// link. A member of the account is sent to it whatever the state.
func deadInvitation(l service.InvitationLink, signedIn, member bool, email string) deadLink {
	acct := l.AccountName
	d := deadLink{State: string(l.Status), Next: askAgain}
	switch l.Status {
	case roster.InvitationAccepted:
		d.Heading = "This invitation was accepted already"
		d.What = "The invitation to " + acct + " was accepted, so its link no longer works: each invitation link works once."
		switch {
		case member:
		case signedIn:
			d.Next = "You are logged in as " + email + ", which is not a member of " + acct + ". If you accepted it with another address, " +
				"log out and log in with that one. If you were removed from " + acct + " since, " + askAgainLower
			d.Href, d.LinkText = "/accounts", "Go to Manage Accounts"
		default:
			d.Next = "If you accepted it, log in to open " + acct + "."
			d.Href, d.LinkText = "/login", "Log in"
		}
	case roster.InvitationRevoked:
		d.Heading = "This invitation was withdrawn"
		d.What = "The invitation to " + acct + " was revoked, or replaced by a newer invitation to the same address, so its link no longer works."
		d.Next = "Look in your mail for a newer invitation from Roster and use its link. If there is none, " + askAgainLower
	case roster.InvitationExpired:
		d.Heading = "This invitation expired"
		d.What = "The invitation to " + acct + " expired on " + l.ExpiresAt.UTC().Format("2 Jan 2006 15:04 UTC") + ", so its link no longer works."
		d.Next = "Ask the person who invited you to send it again: they can resend it from the Team page, with a new link."
	case roster.InvitationSuspended:
		d.Heading = "This invitation is on hold"
		d.What = acct + "'s plan does not include team members now, so its invitations cannot be accepted."
		d.Next = "The link works again (until " + l.ExpiresAt.UTC().Format("2 Jan 2006") + ") when " + acct +
			" is back on the committed monthly spend plan. Ask the person who invited you about it."
	default:
		d.State = "unknown"
		d.Heading = "This invitation link is not valid"
		d.What = "No invitation has this link. It may have been replaced by a newer one when the invitation was sent again, or it was not copied whole."
		d.Next = "Use the link in the most recent invitation mail from Roster. If it does not work either, " + askAgainLower
	}
	if member {
		d.Next = "You are a member of " + acct + " already."
		d.Href, d.LinkText = "/accounts/"+l.AccountID, "Go to "+acct
	}
	return d
}

// --- Manage Accounts

func (c *Console) accountsPage(w http.ResponseWriter, r *http.Request, v *visit) {
	p := v.statePage(w, c.base(w, r, v.u, v.session, "Manage Accounts"))
	p.Active = "accounts"
	c.render(w, http.StatusOK, "accounts", p)
}

func (c *Console) createAccount(w http.ResponseWriter, r *http.Request, v *visit) {
	u := v.u
	a, err := c.svc.CreateAccount(r.Context(), u, r.PostFormValue("name"), c.proxies.ClientIP(r))
	if err != nil {
		c.accountsAgain(w, r, u, err)
		return
	}
	c.done(w, r, sessionOf(r), "/accounts/"+a.ID, "Account "+a.Name+" created.")
}

func (c *Console) setDefault(w http.ResponseWriter, r *http.Request, v *visit) {
	u := v.u
	if err := c.svc.SetDefaultAccount(r.Context(), u.ID, r.PostFormValue("account_id")); err != nil {
		c.accountsAgain(w, r, u, err)
		return
	}
	c.done(w, r, sessionOf(r), "/accounts", "Default account set: you land there after logging in.")
}

func httpStatus(err error) int { return edge.StatusOf(err) }

// accountsAgain answers a refused form of Manage Accounts: back to it,
// with the message and what was typed.
func (c *Console) accountsAgain(w http.ResponseWriter, r *http.Request, u roster.User, err error) {
	c.keepState(w, r, sessionOf(r), refused(r, "/accounts", err))
}
