package console

import (
	"io/fs"
	"net/http"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/service"
)

// need is what a page outside an account asks of its visitor. The page
// table (userPages) names it for every route, and the registration wrapper
// (userPage) enforces it: no handler authenticates or checks a CSRF token
// itself.
type need int

const (
	// anyone: no session is read (sign-up, log-in, reset, verification).
	anyone need = iota
	// visitor: the session is read when there is one, and nothing is
	// required; a POST is not checked, since the form is a stranger's
	// (the invitation's sign-up).
	visitor
	// visitorForm: as visitor, and a signed-in visitor's POST must carry
	// its CSRF token (log out).
	visitorForm
	// session: a live session; without one, to the login page. A POST
	// must carry its CSRF token.
	session
)

// visit is who asked for a page outside an account, as the wrapper read
// it: signedIn is false when the page reads no session or there is none.
type visit struct {
	u        roster.User
	session  string
	caller   service.Caller // the authenticated caller, for the gate (switchAccount)
	signedIn bool
	// st is the one-time form state of a GET page: what the form that
	// sent the browser here said (formstate.go); nil when none.
	st *formState
}

// userPageDef is one entry of the table of pages outside an account.
type userPageDef struct {
	pattern string
	need    need
	// next is the page a visitor without a session is sent to log in for
	// (/login?next=...); nil sends them to /login alone.
	next   func(r *http.Request) string
	handle func(c *Console, w http.ResponseWriter, r *http.Request, v *visit)
}

// here is the requested path, for /login?next=.
func here(r *http.Request) string { return r.URL.Path }

// inviteLink is the invitation's own page, for /login?next=.
func inviteLink(r *http.Request) string { return "/invite/" + r.PathValue("token") }

// userPages is the table of the console's pages outside an account;
// accountPages holds those under /accounts/{id}.
func userPages() []userPageDef {
	pages := []userPageDef{
		{"GET /{$}", session, nil, (*Console).home},
		{"GET /signup", anyone, nil, (*Console).signupPage},
		{"POST /signup", anyone, nil, (*Console).signup},
		{"GET /login", anyone, nil, (*Console).loginPage},
		{"POST /login", anyone, nil, (*Console).login},
		{"GET /login/code", anyone, nil, (*Console).loginCodePage},
		{"POST /login/code", anyone, nil, (*Console).loginCode},
		{"POST /logout", visitorForm, nil, (*Console).logout},
		{"GET /forgot-password", anyone, nil, (*Console).forgotPage},
		{"POST /forgot-password", anyone, nil, (*Console).forgot},
		{"GET /reset-password/{token}", anyone, nil, (*Console).resetPage},
		{"POST /reset-password/{token}", anyone, nil, (*Console).reset},
		{"GET /profile", session, here, (*Console).profilePage},
		{"POST /profile/password", session, nil, (*Console).changePassword},
		{"POST /profile/mfa/setup", session, nil, (*Console).setupMFA},
		{"POST /profile/mfa/confirm", session, nil, (*Console).confirmMFA},
		{"POST /profile/mfa/cancel", session, nil, (*Console).cancelMFA},
		{"POST /profile/mfa/disable", session, nil, (*Console).disableMFA},
		{"POST /profile/mfa/recovery-codes", session, nil, (*Console).newRecoveryCodes},
		{"POST /profile/sessions/{id}/end", session, nil, (*Console).endSession},
		{"POST /profile/sessions/end-others", session, nil, (*Console).endOtherSessions},
		{"GET /verify/{token}", anyone, nil, (*Console).verifyPage},
		{"POST /verify/{token}", anyone, nil, (*Console).verify},
		{"POST /verify-again", anyone, nil, (*Console).verifyAgain},
		{"GET /invite/{token}", visitor, nil, (*Console).invitePage},
		{"POST /invite/{token}/signup", visitor, nil, (*Console).inviteSignup},
		{"POST /invite/{token}/accept", session, inviteLink, (*Console).inviteAccept},
		{"GET /accounts", session, here, (*Console).accountsPage},
		{"POST /accounts", session, nil, (*Console).createAccount},
		{"POST /accounts/default", session, nil, (*Console).setDefault},
		{"GET /accounts/switch", visitor, nil, (*Console).switchAccount},
	}
	return append(append(append(pages, ssoFlowPages()...), samlPages()...), passkeyPages()...)
}

// authenticate reads the request's session. It is the console's only
// call of the gate's Authenticate, made by the registration wrappers
// (userPage, accountPage, signedInFirst) and nowhere else.
func (c *Console) authenticate(r *http.Request) (service.Caller, error) {
	return c.svc.Authenticate(r.Context(), service.Credential{Session: edge.Session(r)}, true)
}

// userPage reads the visitor as the page's need says, sends a visitor
// without a needed session to log in, and checks a signed-in POST's CSRF
// token before the handler runs.
func (c *Console) userPage(pg userPageDef) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := &visit{}
		if pg.need != anyone {
			// Any failure (no session, an ended one, the database away)
			// is a visitor who is not signed in, as it always was here.
			if caller, err := c.authenticate(r); err == nil {
				v.u, v.session, v.caller, v.signedIn = caller.User, caller.Session, caller, true
			}
		}
		if pg.need == session && !v.signedIn {
			to := "/login"
			if pg.next != nil {
				to += "?next=" + pg.next(r)
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost && v.signedIn && (pg.need == session || pg.need == visitorForm) {
			if err := c.checkCSRF(r, v.session); err != nil {
				c.fail(w, r, nil, err)
				return
			}
		}
		if r.Method == http.MethodGet {
			v.st = c.takeState(w, r, v.session)
		}
		pg.handle(c, w, r, v)
	})
}

// route is one pattern of the mux and what answers it.
type route struct {
	pattern string
	h       http.Handler
}

// routes is every route of the console, from the tables: the static
// files, the pages outside an account (userPages) and the account pages
// (accountPages), each behind its table's wrapper. Register adds these
// and nothing else; a test holds it to that.
func (c *Console) routes() []route {
	static, _ := fs.Sub(staticFS, "static")
	out := []route{{"GET /static/", http.StripPrefix("/static/", noListing(http.FileServerFS(static)))}}
	for _, pg := range userPages() {
		out = append(out, route{pg.pattern, c.readYourWrites(c.userPage(pg))})
	}
	for _, pg := range accountPages() {
		out = append(out, route{pg.pattern, c.readYourWrites(c.accountPage(pg))})
	}
	return out
}
