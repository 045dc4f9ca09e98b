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
	"github.com/rosterhq/roster/edge"
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
	c.render(w, http.StatusOK, "forgot-password", &page{Title: "Reset your password", Data: resetData{}})
}

// forgot asks for a reset link and answers "check your inbox" for every
// address, known or not, so the page reveals no one.
func (c *Console) forgot(w http.ResponseWriter, r *http.Request, v *visit) {
	d := resetData{Email: strings.TrimSpace(r.PostFormValue("email"))}
	if d.Email == "" {
		c.render(w, http.StatusBadRequest, "forgot-password", &page{Title: "Reset your password",
			Error: "Enter the email address you log in with", Field: "email", Data: d})
		return
	}
	if err := c.svc.RequestPasswordReset(r.Context(), d.Email, c.proxies.ClientIP(r)); err != nil {
		// Too many requests (429) or a full queue (503): the same for
		// every address, so it reveals no one either.
		edge.SetRetryAfter(w, err)
		c.render(w, httpStatus(err), "forgot-password", &page{Title: "Reset your password", Error: roster.ErrorMessage(err), Data: d})
		return
	}
	d.Sent = true
	c.render(w, http.StatusOK, "forgot-password", &page{Title: "Check your inbox", Data: d})
}

// resetPage shows the new-password form of a reset link; a link that can
// no longer be used says so at once, before anything is typed.
func (c *Console) resetPage(w http.ResponseWriter, r *http.Request, v *visit) {
	d := resetData{Token: r.PathValue("token")}
	if !c.svc.ResetTokenValid(r.Context(), d.Token) {
		d.Invalid = true
		c.render(w, http.StatusGone, "reset-password", &page{Title: "Reset link no longer valid", Data: d})
		return
	}
	c.render(w, http.StatusOK, "reset-password", &page{Title: "Choose a new password", Data: d})
}

func (c *Console) reset(w http.ResponseWriter, r *http.Request, v *visit) {
	d := resetData{Token: r.PathValue("token")}
	err := c.svc.ConfirmPasswordReset(r.Context(), d.Token, r.PostFormValue("password"), c.proxies.ClientIP(r))
	if err != nil {
		if roster.ErrorCode(err) == roster.EINTERNAL {
			c.log.Error("console", "path", "/reset-password/", "err", err)
		}
		if !c.svc.ResetTokenValid(r.Context(), d.Token) {
			d.Invalid = true
			c.render(w, http.StatusGone, "reset-password", &page{Title: "Reset link no longer valid", Data: d})
			return
		}
		edge.SetRetryAfter(w, err)
		field := ""
		if roster.FieldOf(err) == "password" {
			field = "password"
		}
		c.render(w, httpStatus(err), "reset-password", &page{Title: "Choose a new password",
			Error: roster.ErrorMessage(err), Field: field, Data: d})
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
}

// In reports whether the failed form is in section s ("mfa" holds
// "mfa-confirm", "mfa-disable", ...).
func (d profileData) In(s string) bool { return d.Section == s || strings.HasPrefix(d.Section, s+"-") }

type totpSetup struct {
	Secret  string
	QR      template.URL // a PNG made here, as a data: URL
	OTPAuth string       // carried by the confirm form, to show the same key again after a wrong code
}

const profileTitle = "Profile & security"

func (c *Console) profilePage(w http.ResponseWriter, r *http.Request, v *visit) {
	c.showProfile(w, r, v.u, v.session, profileData{}, nil)
}

// showProfile renders Profile & security; with err, as a form's answer:
// its status, and its message next to its field or in its section.
func (c *Console) showProfile(w http.ResponseWriter, r *http.Request, u roster.User, session string, d profileData, err error) {
	p := c.base(w, r, u, session, profileTitle)
	p.Active = "profile"
	if err != nil {
		if roster.ErrorCode(err) == roster.EINTERNAL {
			c.log.Error("console", "path", r.URL.Path, "err", err)
		}
		edge.SetRetryAfter(w, err)
		p.Error, p.Field, p.HTTPStatus = roster.ErrorMessage(err), profileField(d.Section, err), httpStatus(err)
		if p.Field == "otp" && d.Setup == nil {
			p.Field = "" // no code field on the page: the message goes above
		}
	}
	d.MFA = u.MFAEnabled
	ss, serr := c.svc.Sessions(r.Context(), u, session)
	if serr != nil {
		c.fail(w, r, p, serr)
		return
	}
	d.Sessions = ss
	p.Data = d
	c.render(w, http.StatusOK, "profile", p)
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
		c.showProfile(w, r, u, session, profileData{Section: "password"}, err)
		return
	}
	c.done(w, r, session, "/profile", "Password for "+u.Email+" changed: every other session was signed out.")
}

func (c *Console) setupMFA(w http.ResponseWriter, r *http.Request, v *visit) {
	u, session := v.u, v.session
	e, err := c.svc.StartTOTP(r.Context(), u, stepUpForm(r), c.proxies.ClientIP(r))
	if err != nil {
		c.showProfile(w, r, u, session, profileData{Section: "mfa-setup"}, err)
		return
	}
	setup, err := newTOTPSetup(e.OTPAuthURL)
	if err != nil {
		c.showProfile(w, r, u, session, profileData{Section: "mfa"}, err)
		return
	}
	c.showProfile(w, r, u, session, profileData{Setup: setup}, nil)
}

func (c *Console) confirmMFA(w http.ResponseWriter, r *http.Request, v *visit) {
	u, session := v.u, v.session
	codes, err := c.svc.ConfirmTOTP(r.Context(), u, session, service.StepUp{Password: r.PostFormValue("password")},
		r.PostFormValue("otp"), c.proxies.ClientIP(r))
	if err != nil {
		d := profileData{Section: "mfa-confirm"}
		// Show the same key again, so a mistyped code does not mean
		// scanning anew. The key is only ever shown to this session.
		if roster.ErrorCode(err) != roster.ECONFLICT {
			if s, serr := newTOTPSetup(r.PostFormValue("otpauth")); serr == nil && s.accountIs(u.Email) {
				d.Setup = s
			}
		}
		c.showProfile(w, r, u, session, d, err)
		return
	}
	u.MFAEnabled = true
	c.showCodes(w, r, u, session, codes, "Two-factor sign-in is on for "+u.Email+": each sign-in asks for a code from your authenticator app. Every other session was signed out.")
}

func (c *Console) disableMFA(w http.ResponseWriter, r *http.Request, v *visit) {
	u, session := v.u, v.session
	if err := c.svc.DisableTOTP(r.Context(), u, stepUpForm(r), c.proxies.ClientIP(r)); err != nil {
		c.showProfile(w, r, u, session, profileData{Section: "mfa-disable"}, err)
		return
	}
	c.done(w, r, session, "/profile", "Two-factor sign-in is off for "+u.Email+". Accounts that require it will refuse you until you turn it on again.")
}

func (c *Console) newRecoveryCodes(w http.ResponseWriter, r *http.Request, v *visit) {
	u, session := v.u, v.session
	codes, err := c.svc.NewRecoveryCodes(r.Context(), u, stepUpForm(r), c.proxies.ClientIP(r))
	if err != nil {
		c.showProfile(w, r, u, session, profileData{Section: "mfa-recovery"}, err)
		return
	}
	c.showCodes(w, r, u, session, codes, "New recovery codes made for "+u.Email+": the old ones no longer work.")
}

// showCodes answers with the recovery codes on the page itself: never in
// a cookie or a URL, and the page is not stored (Cache-Control: no-store).
func (c *Console) showCodes(w http.ResponseWriter, r *http.Request, u roster.User, session string, codes []string, notice string) {
	p := c.base(w, r, u, session, profileTitle)
	p.Active, p.Notice = "profile", notice
	ss, err := c.svc.Sessions(r.Context(), u, session)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	p.Data = profileData{MFA: u.MFAEnabled, Sessions: ss, Codes: codes, CodesHref: codesDownload(u.Email, codes)}
	c.render(w, http.StatusOK, "profile", p)
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
	return &totpSetup{Secret: key.Secret(), OTPAuth: otpauth,
		QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))}, nil
}

// accountIs reports whether the key names the address, so a form cannot
// show someone a key made for another login.
func (s *totpSetup) accountIs(email string) bool {
	key, err := otp.NewKeyFromURL(s.OTPAuth)
	return err == nil && strings.EqualFold(key.AccountName(), email)
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
		c.showProfile(w, r, u, session, profileData{Section: "sessions"}, err)
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
		c.showProfile(w, r, u, session, profileData{Section: "sessions"}, err)
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
