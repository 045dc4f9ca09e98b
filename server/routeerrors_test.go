package server

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// routeErrors routes each request once: what mux has no pattern for is
// answered by api (under /v1/) or page, keeping the router's Allow
// header; a routed handler's own 404 and the router's redirects pass
// untouched, and a routed handler can still flush through the writer.
func TestRouteErrors_OnlyTheRoutersOwnAnswers(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "1" {
			http.Error(w, "handler's own not found", http.StatusNotFound)
			return
		}
		w.Write([]byte("thing 1"))
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("part"))
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush through routeErrors: %v", err)
		}
	})
	mux.HandleFunc("GET /dir/", func(w http.ResponseWriter, r *http.Request) {})
	answer := func(kind string) func(w http.ResponseWriter, r *http.Request, status int) {
		return func(w http.ResponseWriter, r *http.Request, status int) {
			w.WriteHeader(status)
			w.Write([]byte(kind + " " + strconv.Itoa(status)))
		}
	}
	h := routeErrors(mux, answer("api"), answer("page"))

	for _, tc := range []struct {
		method, path string
		status       int
		body, allow  string
	}{
		{"GET", "/v1/things/1", 200, "thing 1", ""},
		{"GET", "/v1/things/2", 404, "handler's own not found\n", ""},
		{"GET", "/v1/nothing", 404, "api 404", ""},
		{"DELETE", "/v1/things/1", 405, "api 405", "GET, HEAD"},
		{"GET", "/nothing", 404, "page 404", ""},
		{"POST", "/stream", 405, "page 405", "GET, HEAD"},
		{"GET", "/stream", 200, "part", ""},
		{"GET", "/dir", http.StatusTemporaryRedirect, "", ""},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.status || (tc.body != "" && rec.Body.String() != tc.body) || rec.Header().Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d %q Allow %q, want %d %q Allow %q", tc.method, tc.path, rec.Code, rec.Body.String(), rec.Header().Get("Allow"), tc.status, tc.body, tc.allow)
		}
	}
}
