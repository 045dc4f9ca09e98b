package httpapi

import (
	_ "embed"
	"net/http"
)

// openAPI is the API's OpenAPI 3.1 description: every route of the route
// table, its parameters, the JSON it takes and answers, the statuses and
// error codes it can answer, the credentials it accepts and, for account
// routes, the permission it needs (x-roster-permission). The tests hold it
// to the route table and check every answer they get against it.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the API's OpenAPI 3.1 description (JSON). The caller
// must not modify it.
func OpenAPI() []byte { return openAPI }

// openapi is GET /v1/openapi.json: the description, for tools and clients.
func (s *Server) openapi(w http.ResponseWriter, r *http.Request, c *Caller) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	w.Write(openAPI)
	return nil
}
