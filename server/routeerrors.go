package server

import (
	"net/http"
	"strings"
)

// routeErrors answers what mux has no route for in the words of the edge
// the path belongs to, instead of Go's plain text: the JSON error envelope
// under /v1/ (api), the console's own page elsewhere (page). A request mux
// routes (every page, /healthz, the static files) passes untouched; one
// it does not is run through mux with its 404 or 405 caught (keeping the
// Allow header the router sets), so the router alone decides which it
// is, and its redirects (a path to clean) still pass.
func routeErrors(mux *http.ServeMux, api, page func(w http.ResponseWriter, r *http.Request, status int)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		cw := &catchWriter{ResponseWriter: w}
		mux.ServeHTTP(cw, r)
		if cw.caught == 0 {
			return
		}
		if r.URL.Path == "/v1" || strings.HasPrefix(r.URL.Path, "/v1/") {
			api(w, r, cw.caught)
			return
		}
		page(w, r, cw.caught)
	})
}

// catchWriter holds back the router's own 404 or 405 answer.
type catchWriter struct {
	http.ResponseWriter
	caught int // the status held back; 0 when the answer went through
	wrote  bool
}

func (c *catchWriter) WriteHeader(status int) {
	if !c.wrote && (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) {
		c.caught = status
		return
	}
	c.wrote = true
	c.ResponseWriter.WriteHeader(status)
}

func (c *catchWriter) Write(b []byte) (int, error) {
	if c.caught != 0 {
		return len(b), nil
	}
	c.wrote = true
	return c.ResponseWriter.Write(b)
}
