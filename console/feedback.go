package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/edge"
)

// Feedback after a form: success travels to the next page in a one-time
// flash cookie, signed with the session so no one else can put words on a
// page; an error goes to the form's page in a one-time form state
// (formstate.go), with what was typed and the message next to its field.
// Neither ever travels in a URL.

const flashCookie = "roster_flash"

// notices are the flashes that can be shown without a session (after
// verifying an address): the cookie names one of these, never free text.
var notices = map[string]string{
	"verified":     "Your address is verified: log in.",
	"reset":        "Your password is set, every session was signed out and your personal API keys were deleted: log in.",
	"verify-again": "If that address has a login that is not verified yet, a new link to verify it is on its way: follow it, then log in.",
}

func flashMAC(session, msg string) string {
	m := hmac.New(sha256.New, []byte(session))
	m.Write([]byte("roster console flash v1\x00" + msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// setFlash keeps msg for the next page this session opens.
func setFlash(w http.ResponseWriter, session, msg string) {
	v := "m." + base64.RawURLEncoding.EncodeToString([]byte(msg)) + "." + flashMAC(session, msg)
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: v, Path: "/", MaxAge: 60, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// setNotice keeps one of the fixed notices for the next page, session or not.
func setNotice(w http.ResponseWriter, key string) {
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "k." + key, Path: "/", MaxAge: 60, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// takeFlash returns the flash for this page, once: the cookie is cleared.
// A message whose signature does not match the session is dropped.
func takeFlash(w http.ResponseWriter, r *http.Request, session string) string {
	ck, err := r.Cookie(flashCookie)
	if err != nil || ck.Value == "" {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	kind, rest, _ := strings.Cut(ck.Value, ".")
	switch kind {
	case "k":
		return notices[rest]
	case "m":
		enc, mac, _ := strings.Cut(rest, ".")
		b, err := base64.RawURLEncoding.DecodeString(enc)
		if err != nil || session == "" || !hmac.Equal([]byte(mac), []byte(flashMAC(session, string(b)))) {
			return ""
		}
		return string(b)
	}
	return ""
}

// done answers a successful form: the message goes to the next page, and
// the browser to path.
func (c *Console) done(w http.ResponseWriter, r *http.Request, session, path, msg string) {
	if msg != "" {
		setFlash(w, session, msg)
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// after answers an account page's form: done on success; on an error, a
// redirect (303) to the page at path, which shows the message next to its
// field, the values typed (never a secret: secretField) and the error's
// status, through a one-time form state (formstate.go).
func (c *Console) after(w http.ResponseWriter, r *http.Request, x *actx, path, msg string, err error) {
	if err == nil {
		c.done(w, r, x.session, path, msg)
		return
	}
	if roster.ErrorCode(err) == roster.EINTERNAL {
		c.log.Error("console", "path", r.URL.Path, "err", err)
	}
	c.keepState(w, r, x.session, refused(r, path, err))
}

// sessionOf is the request's session token, for signing its flash.
func sessionOf(r *http.Request) string { return edge.Session(r) }
