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

// SAMLBindingCookie binds a started SAML sign-in to the browser that
// started it. It is apart from SSOBindingCookie because it must come back
// on the provider's cross-site form POST to the ACS: over HTTPS it is
// SameSite=None (and Secure); over plain HTTP (development, tests) a
// browser refuses None without Secure, so it is Lax, which a provider on
// the same site (another port of localhost) still gets.
const SAMLBindingCookie = "roster_saml"

// SetSAMLBinding sets the SAML binding cookie, on the ACS path only.
func (p Proxies) SetSAMLBinding(w http.ResponseWriter, r *http.Request, value string, ttl time.Duration) {
	ck := &http.Cookie{Name: SAMLBindingCookie, Value: value, Path: "/sso/saml/acs", MaxAge: int(ttl / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if p.HTTPS(r) {
		ck.Secure, ck.SameSite = true, http.SameSiteNoneMode
	}
	http.SetCookie(w, ck)
}

// ClearSAMLBinding removes the SAML binding cookie (a response is taken once).
func (p Proxies) ClearSAMLBinding(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SAMLBindingCookie, Value: "", Path: "/sso/saml/acs", MaxAge: -1, HttpOnly: true,
		Secure: p.HTTPS(r), SameSite: http.SameSiteLaxMode})
}

// SAMLBinding is the SAML binding cookie the request carries, "" when none.
func SAMLBinding(r *http.Request) string {
	ck, err := r.Cookie(SAMLBindingCookie)
	if err != nil {
		return ""
	}
	return ck.Value
}
