package httpapi

import "net/http"

// TakesIdempotencyKey reports whether a route honours an Idempotency-Key.
func TakesIdempotencyKey(rt Route) bool { return takesIdempotencyKey(rt) }

// ServeRoute serves a route that is not in the table, exactly as the table
// serves its own (the gate, the revision, an Idempotency-Key): for tests
// of what every route shares, with a handler that fails on purpose.
func (s *Server) ServeRoute(pattern string, a Access, h func(http.ResponseWriter, *http.Request, *Caller) error) http.Handler {
	return s.wrap(Route{Pattern: pattern, Access: a, handle: h})
}
