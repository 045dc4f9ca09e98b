package console

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/service"
)

// Post/redirect/get (issue 21): every console form answers 303 to a GET
// page, refusals included, so no POST-only URL stays in the address bar
// and reloading never sends a form again. What the GET page must show of
// the POST (the message, the field it is about, the status, what was
// typed, a page's own outcome) travels in a one-time form state: kept in
// the database (service.KeepFormState) so the GET may reach another
// replica, under the hash of the browser's session joined with a random
// id from an HttpOnly cookie, read once by the page wrapper and deleted,
// expiring in minutes (swept by the retention job). Nothing of it is ever
// in a URL, and no password, code or secret is ever kept (secretField).

const formCookie = "roster_form"

// formState is one form's answer, waiting for its page.
type formState struct {
	Path   string     `json:"path"`             // the GET page it is for; another page drops it
	Error  string     `json:"error,omitempty"`  // the refusal's message
	Field  string     `json:"field,omitempty"`  // the input the message is about
	Status int        `json:"status,omitempty"` // the refusal's status: the GET page answers it
	Retry  string     `json:"retry,omitempty"`  // Retry-After of a limit's refusal, in seconds
	Form   url.Values `json:"form,omitempty"`   // what was typed, secrets dropped
	// A page's own outcome, when the form has one.
	Errors  map[string]string `json:"errors,omitempty"`  // several fields wrong at once, by field (sign-up)
	Section string            `json:"section,omitempty"` // Profile: the form that failed
	Outcome string            `json:"outcome,omitempty"` // "sent" (sign-up, reset link), "codes", "codes-shown", "unverified" (login: offer the link again)
	Batch   []batchRow        `json:"batch,omitempty"`   // a bulk invite's lines
	Codes   []string          `json:"codes,omitempty"`   // recovery codes, shown once
	Notice  string            `json:"notice,omitempty"`  // a success's words, with an outcome
	// Secrets a page shows once, after the POST that made or read them:
	// the Auth Token read (audited), a new webhook's signing secret and a
	// new SCIM token.
	Creds   *roster.Credentials `json:"creds,omitempty"`
	Webhook *service.Webhook    `json:"webhook,omitempty"`
	// A new SCIM token (Settings › Provisioning).
	SCIMToken *createdSCIMToken `json:"scim_token,omitempty"`
}

// secretField reports whether a form field holds something never kept
// in a form state, even for a minute: passwords (password,
// current_password, new_password, setup_password, ...), codes (otp,
// recovery_code, ...), the authenticator key (otpauth), tokens (csrf,
// pending), and card numbers (card_number, cvc). A refused form asks for
// them again.
func secretField(name string) bool {
	for _, s := range []string{"password", "otp", "code", "secret", "token", "csrf", "pending", "card_number", "cvc"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// typedValues is what was typed into r's form, without secretField's
// fields.
func typedValues(r *http.Request) url.Values {
	out := url.Values{}
	for k, vs := range r.PostForm {
		if !secretField(k) {
			out[k] = vs
		}
	}
	return out
}

// refused is the form state of a refused form: err's message, field and
// status, and what was typed.
func refused(r *http.Request, path string, err error) formState {
	st := formState{Path: path, Error: roster.ErrorMessage(err), Field: roster.FieldOf(err), Status: httpStatus(err), Form: typedValues(r)}
	if d := roster.RetryAfter(err); d > 0 {
		st.Retry = edge.RetryAfterSeconds(d)
	}
	return st
}

// formSecret is the key of the browser's state: its session, when the
// page reads one, joined with the id of its form cookie.
func formSecret(id, session string) string { return id + "\x00" + session }

// keepState keeps st for the browser and sends it to st.Path with 303. A
// state that cannot be kept (the database away) still redirects: the page
// then shows no message, rather than the form being sent again.
func (c *Console) keepState(w http.ResponseWriter, r *http.Request, session string, st formState) {
	c.keepStateAt(w, r, session, st, "")
}

// keepStateAt is keepState with a query or fragment for the page's URL
// (?next=, #recovery-codes).
func (c *Console) keepStateAt(w http.ResponseWriter, r *http.Request, session string, st formState, query string) {
	c.putState(w, r, session, st)
	http.Redirect(w, r, st.Path+query, http.StatusSeeOther)
}

// putState keeps st for the browser: in the database, under its session
// and the random id its cookie is given here.
func (c *Console) putState(w http.ResponseWriter, r *http.Request, session string, st formState) {
	id := randomID()
	b, err := json.Marshal(st)
	if err == nil && len(b) > service.FormStateMax {
		st.Form, st.Batch = nil, nil // too much typed: the message alone
		b, err = json.Marshal(st)
	}
	if err == nil {
		err = c.svc.KeepFormState(r.Context(), formSecret(id, session), b)
	}
	if err != nil {
		c.log.Error("console: form state", "path", r.URL.Path, "err", err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: formCookie, Value: id, Path: "/", MaxAge: int(service.FormStateTTL.Seconds()),
		HttpOnly: true, Secure: c.proxies.HTTPS(r), SameSite: http.SameSiteLaxMode})
}

// nextQuery is "?next=" with a safe next page, else "".
func nextQuery(next string) string {
	if next = edge.SafeNext(next); next != "" {
		return "?next=" + url.QueryEscape(next)
	}
	return ""
}

// takeState returns the state kept for this browser and this page, once:
// the cookie is cleared and the state deleted whichever page reads it, so
// a state meant for another page (the browser went elsewhere) is dropped.
// nil when there is none.
func (c *Console) takeState(w http.ResponseWriter, r *http.Request, session string) *formState {
	ck, err := r.Cookie(formCookie)
	if err != nil || ck.Value == "" || r.Method != http.MethodGet {
		return nil
	}
	http.SetCookie(w, &http.Cookie{Name: formCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: c.proxies.HTTPS(r), SameSite: http.SameSiteLaxMode})
	b, err := c.svc.TakeFormState(r.Context(), formSecret(ck.Value, session))
	if err != nil {
		c.log.Error("console: form state", "path", r.URL.Path, "err", err)
		return nil
	}
	var st formState
	if b == nil || json.Unmarshal(b, &st) != nil || st.Path != r.URL.Path {
		return nil
	}
	return &st
}

// fill puts a refusal's state on the page: its message, field, typed
// values and status (and when to try again), as templates' errFor, typed
// and orphan read them.
func (st *formState) fill(w http.ResponseWriter, p *page) {
	if st == nil || (st.Error == "" && len(st.Errors) == 0) {
		return
	}
	p.Error, p.Field, p.HTTPStatus = st.Error, st.Field, st.Status
	if st.Form != nil {
		p.Form = st.Form
	}
	if st.Retry != "" {
		w.Header().Set("Retry-After", st.Retry)
	}
}

// randomID is 128 random bits, URL-safe.
func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// isPage reports whether a GET page of the tables has path: its
// segments are the pattern's, a {name} standing for any one.
func isPage(path string) bool {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	var patterns []string
	for _, pg := range userPages() {
		patterns = append(patterns, pg.pattern)
	}
	for _, pg := range accountPages() {
		patterns = append(patterns, pg.pattern)
	}
	for _, pat := range patterns {
		p, ok := strings.CutPrefix(pat, "GET /")
		if !ok || p == "{$}" {
			continue
		}
		ps := strings.Split(p, "/")
		if len(ps) != len(seg) {
			continue
		}
		match := true
		for i := range ps {
			if ps[i] != seg[i] && !(strings.HasPrefix(ps[i], "{") && seg[i] != "") {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// formPage is the page a form's refusal returns to: the form's own URL
// when a GET page has it (an edit page), else the nearest page above it
// (POST /accounts/{id}/billing/recharges: /accounts/{id}/billing).
func formPage(path string) string {
	for p := path; p != "" && p != "/"; p = p[:strings.LastIndex(p, "/")] {
		if isPage(p) {
			return p
		}
	}
	return "/"
}

// RouteError answers a console request the router has no page for, in
// the console's layout: 404 "Page not found" for a path that is no page,
// 405 "Method not allowed" for a method its path does not take (a form's
// URL typed into the address bar, say; the router has set Allow). The
// server calls it for every path outside /v1/ the router refuses.
func (c *Console) RouteError(w http.ResponseWriter, r *http.Request, status int) {
	p := &page{Title: "Page not found", Code: roster.ENOTFOUND,
		Error: "There is no page at this address. Check it for a typing mistake, or start again from the start page."}
	if status == http.StatusMethodNotAllowed {
		p.Title, p.Code = "Method not allowed", roster.EMETHOD
		p.Error = "This address takes a form's answer, not a visit: it is not a page to open."
		if to := formPage(r.URL.Path); to != "/" {
			p.Data = to // the page the form is on
		}
	}
	c.render(w, status, "notfound", p)
}
