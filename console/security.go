package console

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"image/png"
	"net/http"
	"net/url"
	"strings"

	"github.com/pquerna/otp"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service"
)

// A person's own security: the password reset that starts from the login
// page (no session), and Profile & security (password, two-factor sign-in,
// sessions) for every logged-in user, whatever their accounts.

// --- password reset

type resetData struct {
	Email   string
	Sent    bool   // the reset was asked for: the same answer for every address
	Token   string // the reset link's token
	Invalid bool   // the link is invalid, used or expired
}

func (c *Console) forgotPage(w http.ResponseWriter, r *http.Request, v *visit) {
	d := resetData{}
	if v.st != nil {
		d.Email = v.st.Form.Get("email")
		if v.st.Outcome == "sent" {
			d.Sent = true
			c.render(w, http.StatusOK, "forgot-password", &page{Title: "Check your inbox", Data: d})
			return
		}
	}
	c.render(w, http.StatusOK, "forgot-password", v.statePage(w, &page{Title: "Reset your password", Data: d}))
}

// forgot asks for a reset link and answers "check your inbox" for every
// address, known or not, so the page reveals no one.
func (c *Console) forgot(w http.ResponseWriter, r *http.Request, v *visit) {
	email := strings.TrimSpace(r.PostFormValue("email"))
	if email == "" {
		c.keepState(w, r, "", refused(r, "/forgot-password", roster.FieldErrorf("email", roster.EINVALID, "Enter the email address you log in with")))
		return
	}
	if err := c.svc.RequestPasswordReset(r.Context(), email, c.proxies.ClientIP(r)); err != nil {
		// Too many requests (429) or a full queue (503): the same for
		// every address, so it reveals no one either.
		st := refused(r, "/forgot-password", err)
		st.Field = ""
		c.keepState(w, r, "", st)
		return
	}
	c.keepState(w, r, "", formState{Path: "/forgot-password", Outcome: "sent", Form: url.Values{"email": {email}}})
}

// resetPage shows the new-password form of a reset link; a link that can
// no longer be used says so at once, before anything is typed.
func (c *Console) resetPage(w http.ResponseWriter, r *http.Request, v *visit) {
	d := resetData{Token: r.PathValue("token")}
	valid, err := c.svc.ResetTokenValid(r.Context(), d.Token)
	if err != nil {
		c.fail(w, r, nil, err) // the database failed: 503, not "no longer valid"
		return
	}
	if !valid {
		d.Invalid = true
		c.render(w, http.StatusGone, "reset-password", &page{Title: "Reset link no longer valid", Data: d})
		return
	}
	c.render(w, http.StatusOK, "reset-password", v.statePage(w, &page{Title: "Choose a new password", Data: d}))
}

func (c *Console) reset(w http.ResponseWriter, r *http.Request, v *visit) {
	d := resetData{Token: r.PathValue("token")}
	err := c.svc.ConfirmPasswordReset(r.Context(), d.Token, r.PostFormValue("password"), c.proxies.ClientIP(r))
	if err != nil {
		if roster.ErrorCode(err) == roster.EINTERNAL {
			c.log.Error("console", "path", "/reset-password/", "err", err)
		}
		// A link that no longer works says so on its page by itself.
		st := refused(r, r.URL.Path, err)
		if st.Field != "password" {
			st.Field = ""
		}
		c.keepState(w, r, "", st)
		return
	}
	// Every session of the user ended, this browser's too.
	c.proxies.ClearSession(w, r)
	setNotice(w, "reset")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// --- Profile & security

type profileData struct {
	MFA      bool
	Sessions []roster.Session
	// Setup is a new authenticator waiting for its first code.
	Setup *totpSetup
	// Codes are recovery codes just made: shown on this page only, once.
	Codes     []string
	CodesHref template.URL
	// Section is the part of the page whose form failed: its error is
	// shown there when it belongs to none of its fields.
	Section string
	// CodesShown: recovery codes were shown on the page before this
	// reload, once, and cannot be shown again.
	CodesShown bool
	// Passkeys are the user's passkeys (passkeys.go); PasskeyName is the
	// name a new one is offered: this browser's and system's.
	Passkeys    []roster.Passkey
	PasskeyName string
}

// In reports whether the failed form is in section s ("mfa" holds
// "mfa-confirm", "mfa-disable", ...).
func (d profileData) In(s string) bool { return d.Section == s || strings.HasPrefix(d.Section, s+"-") }

type totpSetup struct {
	Secret string
	QR     template.URL // a PNG made here, as a data: URL
}

const profileTitle = "Profile & security"

// profilePage shows Profile & security with what its form said (the
// visit's form state): a refusal in its section, recovery codes once,
// and an authenticator being set up, the same key on every reload for
// the session that started it.
func (c *Console) profilePage(w http.ResponseWriter, r *http.Request, v *visit) {
	u, session := v.u, v.session
	p := v.statePage(w, c.base(w, r, u, session, profileTitle))
	p.Active = "profile"
	d := profileData{MFA: u.TOTPEnabled}
	if st := v.st; st != nil {
		d.Section = st.Section
		if st.Notice != "" {
			p.Notice = st.Notice
		}
		switch st.Outcome {
		case "codes":
			d.Codes, d.CodesHref = st.Codes, codesDownload(u.Email, st.Codes)
			// A reload says they were shown, rather than nothing.
			c.putState(w, r, session, formState{Path: "/profile", Outcome: "codes-shown"})
		case "codes-shown":
			d.CodesShown = true
		}
	}
	if !u.TOTPEnabled {
		setup, err := c.pendingSetup(r, u, session)
		if err != nil {
			c.fail(w, r, p, err)
			return
		}
		d.Setup = setup
	}
	if (p.Field == "otp" || p.Field == "confirm_password") && d.Setup == nil {
		p.Field = "" // no such field on the page: the message goes above
	}
	ss, err := c.svc.Sessions(r.Context(), u, session)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	d.Sessions = ss
	if err := c.profilePasskeys(r, u, &d); err != nil {
		c.fail(w, r, p, err)
		return
	}
	p.Data = d
	c.render(w, http.StatusOK, "profile", p)
}

// setupSecret names the session that started setting up an authenticator:
// only that session is shown the key (a stolen cookie of another session
// does not see the key being enrolled), for as long as it keeps coming
// back within service.FormStateTTL.
func setupSecret(session string) string { return "totp setup\x00" + session }

// pendingSetup is the authenticator this session is setting up, nil when
// none: StartTOTP's key, until ConfirmTOTP or CancelTOTP.
func (c *Console) pendingSetup(r *http.Request, u roster.User, session string) (*totpSetup, error) {
	mark, err := c.svc.TakeFormState(r.Context(), setupSecret(session))
	if err != nil || mark == nil {
		return nil, err
	}
	e, ok, err := c.svc.PendingTOTP(r.Context(), u)
	if err != nil || !ok {
		return nil, err
	}
	if err := c.svc.KeepFormState(r.Context(), setupSecret(session), mark); err != nil {
		return nil, err
	}
	return newTOTPSetup(e.OTPAuthURL)
}

// profileAgain answers a refused form of Profile & security: back to it,
// the message in the form's section or next to its field.
func (c *Console) profileAgain(w http.ResponseWriter, r *http.Request, session, section string, err error) {
	if roster.ErrorCode(err) == roster.EINTERNAL {
		c.log.Error("console", "path", r.URL.Path, "err", err)
	}
	st := refused(r, "/profile", err)
	st.Section, st.Field = section, profileField(section, err)
	c.keepState(w, r, session, st)
}

// profileField is the input of the page an error is about. The page holds
// several forms with a password, so each one's field has its own name.
func profileField(section string, err error) string {
	f := roster.FieldOf(err)
	switch section {
	case "password":
		switch {
		case f == "current_password" || f == "new_password":
			return f
		case f == "password" && roster.ErrorCode(err) == roster.EUNAUTHENTICATED:
			return "current_password" // the current password is wrong
		case f == "password":
			return "new_password" // the new one breaks a rule
		}
	case "mfa-setup":
		if f == "password" {
			return "setup_password"
		}
	case "mfa-confirm":
		switch f {
		case "otp":
			return "otp"
		case "password":
			return "confirm_password"
		}
	case "mfa-disable", "mfa-recovery":
		// Each form's fields are named after it: disable_password,
		// recovery_otp, ...
		prefix := strings.TrimPrefix(section, "mfa-") + "_"
		switch f {
		case "password", "otp", "recovery_code":
			return prefix + f
		}
	}
	return ""
}

// stepUpPart is the data of a form's code fields (profile.html's
// step-up-code).
type stepUpPart struct {
	Page *page
	Form string // "disable", "recovery": the fields' prefix
}

// stepUpForm is what a two-factor form asks for again: the password and,
// while two-factor sign-in is on, a code or a recovery code.
func stepUpForm(r *http.Request) service.StepUp {
	return service.StepUp{Password: r.PostFormValue("password"), OTP: r.PostFormValue("otp"), RecoveryCode: r.PostFormValue("recovery_code")}
}

func (c *Console) changePassword(w http.ResponseWriter, r *http.Request, v *visit) {
	u, session := v.u, v.session
	err := c.svc.ChangePassword(r.Context(), u, session, r.PostFormValue("current_password"), r.PostFormValue("new_password"), c.proxies.ClientIP(r))
	if err != nil {
		c.profileAgain(w, r, session, "password", err)
		return
	}
	c.done(w, r, session, "/profile", "Password for "+u.Email+" changed: every other session was signed out.")
}

// setupMFA makes a new authenticator key, pending until confirmed or
// cancelled, and sends the browser to Profile & security, which shows it
// (pendingSetup) on every reload.
func (c *Console) setupMFA(w http.ResponseWriter, r *http.Request, v *visit) {
	u, session := v.u, v.session
	if _, err := c.svc.StartTOTP(r.Context(), u, stepUpForm(r), c.proxies.ClientIP(r)); err != nil {
		c.profileAgain(w, r, session, "mfa-setup", err)
		return
	}
	if err := c.svc.KeepFormState(r.Context(), setupSecret(session), []byte("1")); err != nil {
		c.profileAgain(w, r, session, "mfa", err)
		return
	}
	c.keepStateAt(w, r, session, formState{Path: "/profile", Outcome: "setup"}, "#mfa")
}

// cancelMFA forgets an authenticator being set up.
func (c *Console) cancelMFA(w http.ResponseWriter, r *http.Request, v *visit) {
	if err := c.svc.CancelTOTP(r.Context(), v.u); err != nil {
		c.profileAgain(w, r, v.session, "mfa", err)
		return
	}
	c.svc.TakeFormState(r.Context(), setupSecret(v.session))
	c.done(w, r, v.session, "/profile", "Two-factor sign-in was not set up: the key you may have scanned will never be asked for. Remove it from your authenticator app.")
}

func (c *Console) confirmMFA(w http.ResponseWriter, r *http.Request, v *visit) {
	u, session := v.u, v.session
	codes, err := c.svc.ConfirmTOTP(r.Context(), u, session, service.StepUp{Password: r.PostFormValue("password")},
		r.PostFormValue("otp"), c.proxies.ClientIP(r))
	if err != nil {
		c.profileAgain(w, r, session, "mfa-confirm", err)
		return
	}
	c.svc.TakeFormState(r.Context(), setupSecret(session))
	c.showCodes(w, r, session, codes, "Two-factor sign-in is on for "+u.Email+": each sign-in asks for a code from your authenticator app. Every other session was signed out.")
}

func (c *Console) disableMFA(w http.ResponseWriter, r *http.Request, v *visit) {
	u, session := v.u, v.session
	if err := c.svc.DisableTOTP(r.Context(), u, stepUpForm(r), c.proxies.ClientIP(r)); err != nil {
		c.profileAgain(w, r, session, "mfa-disable", err)
		return
	}
	c.done(w, r, session, "/profile", "Two-factor sign-in is off for "+u.Email+". Accounts that require it will refuse you until you turn it on again.")
}

func (c *Console) newRecoveryCodes(w http.ResponseWriter, r *http.Request, v *visit) {
	u, session := v.u, v.session
	codes, err := c.svc.NewRecoveryCodes(r.Context(), u, stepUpForm(r), c.proxies.ClientIP(r))
	if err != nil {
		c.profileAgain(w, r, session, "mfa-recovery", err)
		return
	}
	c.showCodes(w, r, session, codes, "New recovery codes made for "+u.Email+": the old ones no longer work.")
}

// showCodes sends the browser to Profile & security, which shows the
// recovery codes once: they travel in the one-time form state (in the
// database for the seconds of the redirect, deleted when shown), never in
// a cookie or a URL, and the page is not stored (Cache-Control: no-store).
func (c *Console) showCodes(w http.ResponseWriter, r *http.Request, session string, codes []string, notice string) {
	c.keepStateAt(w, r, session, formState{Path: "/profile", Outcome: "codes", Codes: codes, Notice: notice}, "#recovery-codes")
}

// codesDownload is a data: URL of the codes as a text file, for a
// download link: the codes never leave the page.
func codesDownload(email string, codes []string) template.URL {
	var b strings.Builder
	b.WriteString("Roster recovery codes for " + email + "\n")
	b.WriteString("Each code works once, in place of a code from your authenticator app.\n\n")
	for _, c := range codes {
		b.WriteString(c + "\n")
	}
	return template.URL("data:text/plain;charset=utf-8," + url.PathEscape(b.String()))
}

// newTOTPSetup reads an otpauth:// URL and draws its QR code as a PNG.
func newTOTPSetup(otpauth string) (*totpSetup, error) {
	key, err := otp.NewKeyFromURL(otpauth)
	if err != nil || key.Type() != "totp" || key.Secret() == "" {
		return nil, roster.Errorf(roster.EINVALID, "Set up two-factor sign-in again")
	}
	img, err := key.Image(200, 200)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return &totpSetup{Secret: key.Secret(),
		QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))}, nil
}

func (c *Console) endSession(w http.ResponseWriter, r *http.Request, v *visit) {
	u, session := v.u, v.session
	id := formInt(r, "id")
	// The session's words, read before it ends: "Firefox on Windows, from 203.0.113.9".
	what := "The session"
	if ss, err := c.svc.Sessions(r.Context(), u, session); err == nil {
		for _, s := range ss {
			if s.ID == id {
				what = "The session of " + browserOf(s.UserAgent)
				if s.IP != "" {
					what += " from " + s.IP
				}
			}
		}
	}
	if err := c.svc.EndSession(r.Context(), u, id); err != nil {
		c.profileAgain(w, r, session, "sessions", err)
		return
	}
	c.done(w, r, session, "/profile", what+" is signed out.")
}

func (c *Console) endOtherSessions(w http.ResponseWriter, r *http.Request, v *visit) {
	u, session := v.u, v.session
	others := -1
	if ss, err := c.svc.Sessions(r.Context(), u, session); err == nil {
		others = len(ss) - 1
	}
	if err := c.svc.EndOtherSessions(r.Context(), u, session, c.proxies.ClientIP(r)); err != nil {
		c.profileAgain(w, r, session, "sessions", err)
		return
	}
	msg := "Signed out everywhere else: only this session is left."
	if others > 0 {
		msg = "Signed out " + plural(others, "other session") + ": only this one is left."
	}
	c.done(w, r, session, "/profile", msg)
}

// browserOf names the browser and system of a user agent, for the
// sessions table (the whole string is its title).
func browserOf(ua string) string {
	if ua == "" {
		return "unknown"
	}
	name := ""
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"HeadlessChrome/", "Headless Chrome"},
		{"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"}, {"Go-http-client/", "Go client"},
	} {
		if strings.Contains(ua, b.token) {
			name = b.name
			break
		}
	}
	system := ""
	for _, s := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, s.token) {
			system = s.name
			break
		}
	}
	switch {
	case name != "" && system != "":
		return name + " on " + system
	case name != "":
		return name
	case system != "":
		return system
	}
	if r := []rune(ua); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return ua
}
