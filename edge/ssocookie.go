package edge

import (
	"net/http"
	"time"
)

// SSOBindingCookie binds a started single sign-on to the browser that
// started it (login CSRF); the callback is refused without it.
const SSOBindingCookie = "roster_sso"

// SetSSOBinding sets the binding cookie: HttpOnly, SameSite=Lax (the
// provider's redirect back is a top-level GET), on the /sso/ paths only,
// for ttl, and Secure when the client came over HTTPS.
func (p Proxies) SetSSOBinding(w http.ResponseWriter, r *http.Request, value string, ttl time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: SSOBindingCookie, Value: value, Path: "/sso/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: p.HTTPS(r), MaxAge: int(ttl / time.Second)})
}

// ClearSSOBinding removes the binding cookie (a flow finishes once).
func (p Proxies) ClearSSOBinding(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SSOBindingCookie, Value: "", Path: "/sso/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: p.HTTPS(r)})
}

// SSOBinding is the binding cookie the request carries, "" when none.
func SSOBinding(r *http.Request) string {
	ck, err := r.Cookie(SSOBindingCookie)
	if err != nil {
		return ""
	}
	return ck.Value
}
