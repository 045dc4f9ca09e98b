// Package edge holds what Roster's two HTTP edges (the JSON API and the
// console) share about a request before any rule applies: who the client
// is behind trusted proxies, whether the connection was HTTPS, the session
// cookie, the security headers on every answer, which redirect targets are
// safe, the cap and kind of each request body, and the HTTP status of each
// error code. It imports only the domain
// words (the root package), so both edges can import it.
package edge

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// CookieName is the session cookie of the API and the console.
const CookieName = "roster_session"

// Proxies says which reverse proxies in front of Roster are trusted to
// tell the client's address (X-Forwarded-For) and scheme
// (X-Forwarded-Proto). The zero value trusts none: the TCP peer is the
// client, and a forged header changes nothing.
type Proxies struct {
	any      bool // trust the immediate peer, whatever its address, as one hop
	prefixes []netip.Prefix
}

// ParseProxies reads ROSTER_TRUST_PROXY: "" or "false" trusts none; "true"
// trusts the immediate peer as one proxy hop; otherwise a comma-separated
// list of proxy addresses or CIDR networks, every hop of which is trusted.
func ParseProxies(s string) (Proxies, error) {
	var p Proxies
	switch s = strings.TrimSpace(s); s {
	case "", "false":
		return p, nil
	case "true":
		p.any = true
		return p, nil
	}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			pfx, err := netip.ParsePrefix(f)
			if err != nil {
				return p, fmt.Errorf("trust proxy: %q is not an address or CIDR network", f)
			}
			p.prefixes = append(p.prefixes, pfx.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return p, fmt.Errorf("trust proxy: %q is not an address or CIDR network", f)
		}
		p.prefixes = append(p.prefixes, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return p, nil
}

// Enabled reports whether any proxy is trusted.
func (p Proxies) Enabled() bool { return p.any || len(p.prefixes) > 0 }

func (p Proxies) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, pfx := range p.prefixes {
		if pfx.Contains(a) {
			return true
		}
	}
	return false
}

func peer(r *http.Request) (netip.Addr, string) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap(), host
}

// peerTrusted reports whether the TCP peer is a trusted proxy.
func (p Proxies) peerTrusted(r *http.Request) bool {
	a, _ := peer(r)
	return p.any || (a.IsValid() && p.trusted(a))
}

// ClientIP returns the client's address: the TCP peer, unless it is a
// trusted proxy; then the right-most X-Forwarded-For hop that is not a
// trusted proxy (hops left of it could be written by anyone).
func (p Proxies) ClientIP(r *http.Request) string {
	a, host := peer(r)
	if !p.peerTrusted(r) {
		if a.IsValid() {
			return a.String()
		}
		return host
	}
	hops := forwardedFor(r)
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := netip.ParseAddr(hops[i])
		if err != nil {
			break // garbage: stop at the last hop we could read
		}
		h = h.Unmap()
		if p.any || !p.trusted(h) || i == 0 {
			return h.String()
		}
	}
	if a.IsValid() {
		return a.String()
	}
	return host
}

func forwardedFor(r *http.Request) []string {
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				hops = append(hops, h)
			}
		}
	}
	return hops
}

// HTTPS reports whether the client reached Roster over HTTPS: a TLS
// connection, or a trusted proxy that says so in X-Forwarded-Proto.
func (p Proxies) HTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if !p.peerTrusted(r) {
		return false
	}
	v := r.Header.Get("X-Forwarded-Proto")
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.EqualFold(strings.TrimSpace(v), "https")
}

// SetSession sets the session cookie: HttpOnly, SameSite=Lax, and Secure
// when the client came over HTTPS.
func (p Proxies) SetSession(w http.ResponseWriter, r *http.Request, token string, ttl time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: p.HTTPS(r), MaxAge: int(ttl / time.Second),
	})
}

// ClearSession removes the session cookie.
func (p Proxies) ClearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: p.HTTPS(r)})
}

// Session returns the session token the request carries, "" when none.
func Session(r *http.Request) string {
	ck, err := r.Cookie(CookieName)
	if err != nil {
		return ""
	}
	return ck.Value
}

// tokenPages are the pages whose URL holds a secret: a browser must not
// send their address to anyone in a Referer.
var tokenPages = []string{"/invite/", "/verify/", "/reset-password/"}

// Headers sets the headers every answer carries: no content sniffing, and
// a Referrer-Policy that never leaks a token in a URL.
//
// The values are shared slices, set by their canonical keys, so that an
// answer allocates nothing for them (the permission check's hot path):
// each holds one element at full capacity, so a handler's Header().Add
// copies rather than writes into them, and Set replaces them.
func Headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd["X-Content-Type-Options"] = noSniff[:1:1]
		policy := strictOrigin[:1:1]
		for _, p := range tokenPages {
			if strings.HasPrefix(r.URL.Path, p) {
				policy = noReferrer[:1:1]
			}
		}
		hd["Referrer-Policy"] = policy
		h.ServeHTTP(w, r)
	})
}

var (
	noSniff      = []string{"nosniff"}
	strictOrigin = []string{"strict-origin-when-cross-origin"}
	noReferrer   = []string{"no-referrer"}
)

// SafeNext returns next when it is a path on this site, else "". A safe
// next is one leading "/", then no "/" or "\" right after it, no
// backslash anywhere and no control character, in the value as given and
// after percent-decoding (browsers ignore tabs and newlines in URLs, so
// "/\t/evil.example" would leave the site).
func SafeNext(next string) string {
	if !localPath(next) {
		return ""
	}
	dec, err := url.PathUnescape(next)
	if err != nil || !localPath(dec) {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	return next
}

func localPath(s string) bool {
	if len(s) == 0 || s[0] != '/' {
		return false
	}
	if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return false
	}
	for _, c := range []byte(s) {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	return true
}
