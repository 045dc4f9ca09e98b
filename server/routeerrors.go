package server

import (
	"net/http"
	"strings"
)

// routeErrors answers what mux has no route for in the words of the edge
// the path belongs to, instead of Go's plain text: the JSON error envelope
// under /v1/ (api), the console's own page elsewhere (page). Every request
// is routed once: mux serves it through a catchWriter that holds back a
// 404 or 405 only when mux matched no pattern (ServeMux sets r.Pattern on
// this very request before a routed handler runs, so a handler's own 404,
// a not_found answer, passes), keeping the Allow header the router sets.
// So the router alone decides which it is, and its redirects (a path to
// clean) still pass.
func routeErrors(mux *http.ServeMux, api, page func(w http.ResponseWriter, r *http.Request, status int)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &catchWriter{ResponseWriter: w, r: r}
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

// catchWriter holds back the router's own 404 or 405 answer. Unwrap lets
// http.ResponseController reach the connection's writer (deadlines,
// flushing) through it.
type catchWriter struct {
	http.ResponseWriter
	r      *http.Request
	caught int // the status held back; 0 when the answer went through
	wrote  bool
}

func (c *catchWriter) WriteHeader(status int) {
	if !c.wrote && c.r.Pattern == "" && (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) {
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

func (c *catchWriter) Flush() {
	if c.caught == 0 {
		c.wrote = true
		http.NewResponseController(c.ResponseWriter).Flush()
	}
}

func (c *catchWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
