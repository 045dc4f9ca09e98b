package console

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/service"
)

// Passkeys in the console (issue 24). The WebAuthn ceremonies run in the
// browser (static/passkeys.js): the page asks the console for the options
// (a POST answered with JSON, for the script only), hands them to
// navigator.credentials.create or .get, and posts the credential back as a
// form, which answers like every console form: 303 to a page, the outcome
// in the one-time form state (post/redirect/get). Without JavaScript the
// pages work as before for passwords and codes, and a passkey form posted
// without the script is told, in words, that passkeys need it.
//
// The routes are entries of the page table (userPages), behind its
// wrapper: the session and its CSRF token on Profile & security, nothing
// on the login pages, which read the pending login from their form.

func passkeyPages() []userPageDef {
	return []userPageDef{
		{"POST /profile/passkeys/options", session, nil, (*Console).passkeyAddOptions},
		{"POST /profile/passkeys", session, nil, (*Console).addPasskey},
		{"POST /profile/passkeys/{id}/rename", session, nil, (*Console).renamePasskey},
		{"GET /profile/passkeys/{id}/remove", session, here, (*Console).removePasskeyPage},
		{"POST /profile/passkeys/{id}/remove", session, nil, (*Console).removePasskey},
		{"POST /login/passkey/options", anyone, nil, (*Console).passkeyLoginOptions},
		{"POST /login/passkey", anyone, nil, (*Console).passkeyLogin},
		{"POST /login/code/passkey/options", anyone, nil, (*Console).passkeyCodeOptions},
		{"POST /login/code/passkey", anyone, nil, (*Console).passkeyCode},
	}
}

// errNeedsScript answers a passkey form posted without the page's script
// (JavaScript off, or the page not loaded whole).
var errNeedsScript = roster.Errorf(roster.EINVALID, "Passkeys need JavaScript in your browser: turn it on for this site and try again, or use your password")

// fromScript reports whether the request is the page script's (it asks
// for JSON); a plain form post is not.
func fromScript(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// passkeyOptions is what the script gets to start a ceremony: the
// service's options ({"publicKey": ...}) and, for a passwordless sign-in,
// the flow they belong to.
type passkeyOptions struct {
	Options json.RawMessage `json:"options"`
	Flow    string          `json:"flow,omitempty"`
}

// scriptError is a refusal as the script shows it: the message, and the
// id of the input it is about ("" for none).
type scriptError struct {
	Error string `json:"error"`
	Input string `json:"input,omitempty"`
}

// answerJSON writes v for the script, encoded before the header.
func (c *Console) answerJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		c.log.Error("console: json", "err", err)
		status, b = http.StatusInternalServerError, []byte(`{"error":"Something went wrong: try again."}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b)
}

// refuseScript answers the script with err: its status, message and the
// input it is about, through input (a field's name → its input's id).
func (c *Console) refuseScript(w http.ResponseWriter, r *http.Request, err error, input func(field string) string) {
	if roster.ErrorCode(err) == roster.EINTERNAL {
		c.log.Error("console", "path", r.URL.Path, "err", err)
	}
	if d := roster.RetryAfter(err); d > 0 {
		w.Header().Set("Retry-After", edge.RetryAfterSeconds(d))
	}
	e := scriptError{Error: roster.ErrorMessage(err)}
	if input != nil {
		e.Input = input(roster.FieldOf(err))
	}
	c.answerJSON(w, httpStatus(err), e)
}

// credentialOf is the credential the script posted, as JSON.
func credentialOf(r *http.Request) (json.RawMessage, error) {
	s := r.PostFormValue("credential")
	if s == "" || !json.Valid([]byte(s)) {
		return nil, roster.Errorf(roster.EINVALID, "Your browser sent no passkey: try again")
	}
	return json.RawMessage(s), nil
}

// passkeyRefused is the form state of a refused passkey form: err's
// message and status, without the credential, the flow or a field of the
// page (the message goes above the form).
func passkeyRefused(r *http.Request, path string, err error) formState {
	st := refused(r, path, err)
	st.Field = ""
	for _, k := range []string{"credential", "flow"} {
		st.Form.Del(k)
	}
	return st
}

// --- Profile & security

// passkeyInput is the input of the add form an error is about.
func passkeyInput(field string) string {
	switch field {
	case "password":
		return "passkey-password"
	case "otp":
		return "passkey-otp"
	case "recovery_code":
		return "passkey-recovery-code"
	case "name":
		return "passkey-name"
	}
	return ""
}

// profilePasskeys puts the user's passkeys on Profile & security, and the
// name a new one is offered (the browser's and system's words).
func (c *Console) profilePasskeys(r *http.Request, u roster.User, d *profileData) error {
	pks, err := c.svc.Passkeys(r.Context(), u)
	if err != nil {
		return err
	}
	d.Passkeys = pks
	d.PasskeyName = browserOf(r.UserAgent())
	return nil
}

// passkeyAddOptions starts adding a passkey, with the password (and the
// code, while two-factor sign-in is on): the creation options, for the
// script.
func (c *Console) passkeyAddOptions(w http.ResponseWriter, r *http.Request, v *visit) {
	if !fromScript(r) {
		c.profileAgain(w, r, v.session, "passkeys", errNeedsScript)
		return
	}
	opts, err := c.svc.BeginPasskeyRegistration(r.Context(), v.u, stepUpForm(r), c.proxies.ClientIP(r))
	if err != nil {
		c.refuseScript(w, r, err, passkeyInput)
		return
	}
	c.answerJSON(w, http.StatusOK, passkeyOptions{Options: opts})
}

// addPasskey keeps the passkey the browser made, under its name.
func (c *Console) addPasskey(w http.ResponseWriter, r *http.Request, v *visit) {
	cred, err := credentialOf(r)
	if err != nil {
		c.profileAgain(w, r, v.session, "passkeys", err)
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" {
		name = browserOf(r.UserAgent())
	}
	pk, err := c.svc.FinishPasskeyRegistration(r.Context(), v.u, name, cred, c.proxies.ClientIP(r))
	if err != nil {
		st := passkeyRefused(r, "/profile", err)
		st.Section = "passkeys"
		c.keepStateAt(w, r, v.session, st, "#passkeys")
		return
	}
	c.done(w, r, v.session, "/profile", "Passkey “"+pk.Name+"” added: you can sign in with it, without your password, and it counts as two-factor sign-in.")
}

// passkeyID is the {id} of a passkey route, 0 when it is no number.
func passkeyID(r *http.Request) int64 {
	n, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

var errNoPasskey = roster.Errorf(roster.ENOTFOUND, "No such passkey: it may have been removed already")

// ownPasskey is the user's passkey id, ENOTFOUND when they have none so.
func (c *Console) ownPasskey(r *http.Request, u roster.User, id int64) (roster.Passkey, error) {
	if id == 0 {
		return roster.Passkey{}, errNoPasskey
	}
	pks, err := c.svc.Passkeys(r.Context(), u)
	if err != nil {
		return roster.Passkey{}, err
	}
	for _, pk := range pks {
		if pk.ID == id {
			return pk, nil
		}
	}
	return roster.Passkey{}, errNoPasskey
}

func (c *Console) renamePasskey(w http.ResponseWriter, r *http.Request, v *visit) {
	id := passkeyID(r)
	if id == 0 {
		c.fail(w, r, nil, errNoPasskey)
		return
	}
	pk, err := c.svc.RenamePasskey(r.Context(), v.u, id, strings.TrimSpace(r.PostFormValue("name")))
	if err != nil {
		st := refused(r, "/profile", err)
		st.Section, st.Field = "passkeys", ""
		c.keepStateAt(w, r, v.session, st, "#passkeys")
		return
	}
	c.done(w, r, v.session, "/profile", "Passkey renamed “"+pk.Name+"”.")
}

// passkeyRemoval is the removal's confirmation page: the passkey, and
// whether the password's step-up asks for a code too.
type passkeyRemoval struct {
	Passkey roster.Passkey
	MFA     bool
	// Last: it is the user's only passkey.
	Last bool
}

// totpOn reports whether u has an authenticator app: the step-up then
// asks for its code too (MFAEnabled is "TOTP or a passkey").
func totpOn(u roster.User) bool { return u.TOTPEnabled }

// removePasskeyPage is the confirmation of a removal: what it does, and
// the password (and code) it asks for.
func (c *Console) removePasskeyPage(w http.ResponseWriter, r *http.Request, v *visit) {
	p := v.statePage(w, c.base(w, r, v.u, v.session, "Remove a passkey"))
	p.Active = "profile"
	pk, err := c.ownPasskey(r, v.u, passkeyID(r))
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	pks, _ := c.svc.Passkeys(r.Context(), v.u)
	p.Title = "Remove the passkey " + pk.Name + "?"
	p.Data = passkeyRemoval{Passkey: pk, MFA: totpOn(v.u), Last: len(pks) == 1}
	c.render(w, http.StatusOK, "passkey-remove", p)
}

func (c *Console) removePasskey(w http.ResponseWriter, r *http.Request, v *visit) {
	pk, err := c.ownPasskey(r, v.u, passkeyID(r))
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	if err := c.svc.DeletePasskey(r.Context(), v.u, pk.ID, stepUpForm(r), c.proxies.ClientIP(r)); err != nil {
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			c.fail(w, r, nil, err)
			return
		}
		if roster.ErrorCode(err) == roster.EINTERNAL {
			c.log.Error("console", "path", r.URL.Path, "err", err)
		}
		st := refused(r, r.URL.Path, err)
		switch st.Field {
		case "password", "otp", "recovery_code":
			st.Field = "remove_" + st.Field
		default:
			st.Field = ""
		}
		c.keepState(w, r, v.session, st)
		return
	}
	c.done(w, r, v.session, "/profile", "Passkey “"+pk.Name+"” removed: it no longer signs you in. Delete it from your device or password manager too.")
}

// --- Signing in

// passkeyLoginOptions starts a passwordless sign-in: the options and
// their flow, for the script (the button, or the address field's autofill
// offer).
func (c *Console) passkeyLoginOptions(w http.ResponseWriter, r *http.Request, v *visit) {
	if !fromScript(r) {
		c.keepState(w, r, "", passkeyRefused(r, "/login", errNeedsScript))
		return
	}
	opts, flow, err := c.svc.BeginPasskeyLogin(r.Context(), c.proxies.ClientIP(r))
	if err != nil {
		c.refuseScript(w, r, err, nil)
		return
	}
	c.answerJSON(w, http.StatusOK, passkeyOptions{Options: opts, Flow: flow})
}

// passkeyLogin signs in with the passkey the browser chose, as the
// password login does: the session, then where the person was going.
func (c *Console) passkeyLogin(w http.ResponseWriter, r *http.Request, v *visit) {
	next := r.PostFormValue("next")
	cred, err := credentialOf(r)
	if err == nil {
		var res service.LoginResult
		res, err = c.svc.FinishPasskeyLogin(r.Context(), r.PostFormValue("flow"), cred, c.proxies.ClientIP(r), r.UserAgent())
		if err == nil {
			c.signedIn(w, r, res, next)
			return
		}
	}
	c.keepStateAt(w, r, "", passkeyRefused(r, "/login", err), nextQuery(next))
}

// passkeyCodeOptions starts the passkey as the second factor of the
// pending login (the code page's token): the options, for the script.
func (c *Console) passkeyCodeOptions(w http.ResponseWriter, r *http.Request, v *visit) {
	if !fromScript(r) {
		c.keepStateAt(w, r, "", passkeyRefused(r, "/login/code", errNeedsScript), nextQuery(r.PostFormValue("next")))
		return
	}
	opts, err := c.svc.BeginPasskeySecondFactor(r.Context(), r.PostFormValue("pending"))
	if err != nil {
		c.refuseScript(w, r, err, nil)
		return
	}
	c.answerJSON(w, http.StatusOK, passkeyOptions{Options: opts})
}

// passkeyCode completes the pending login with the passkey, as the code
// form does with a code.
func (c *Console) passkeyCode(w http.ResponseWriter, r *http.Request, v *visit) {
	next := r.PostFormValue("next")
	cred, err := credentialOf(r)
	if err == nil {
		var res service.LoginResult
		res, err = c.svc.FinishPasskeySecondFactor(r.Context(), r.PostFormValue("pending"), cred, c.proxies.ClientIP(r), r.UserAgent())
		if err == nil {
			c.signedIn(w, r, res, next)
			return
		}
	}
	st := passkeyRefused(r, "/login/code", err)
	if f := roster.FieldOf(err); f == "pending" || f == "mfa_token" {
		// The first step is over (expired, or too many tries): log in again.
		st.Path = "/login"
	}
	c.keepStateAt(w, r, "", st, nextQuery(next))
}
