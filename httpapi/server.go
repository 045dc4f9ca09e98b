// Package httpapi serves Roster's JSON API under /v1. Every route is
// declared in one table (routes.go) with the access it needs; the table is
// the only way to register a handler, so a route without an entry cannot be
// reached, and a member route without a permission is refused.
package httpapi

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/service"
)

// MaxBody is the largest request body accepted (413 request_too_large
// above it): every route's body is capped at it by edge.LimitBody, and
// decode and readBody answer the cap's error. A body is JSON; a multipart
// one (a file) answers 415 unread, since no route takes a file.
const MaxBody = 1 << 20

// PublicMaxBody caps the body of the routes anyone may call (sign-up,
// login, password reset, ...): their JSON is a few short fields, and a
// stranger's connections should each hold no more than a console form's.
const PublicMaxBody = edge.FormMax

// body is what every route takes: JSON up to MaxBody (PublicMaxBody where
// no caller is known yet), never a multipart form (nothing here parses
// forms, so only unsafe methods are refused).
var (
	body       = edge.Body{Max: MaxBody, UnsafeOnly: true}
	publicBody = edge.Body{Max: PublicMaxBody, UnsafeOnly: true}
)

// Server is the JSON API.
type Server struct {
	Svc           *service.Service
	ServiceToken  string // for POST /v1/authz/check and log ingest; empty disables them
	OperatorToken string // for /v1/admin/...; empty disables them
	// Log is nil where server wires it: Register takes the service's.
	Log *slog.Logger
	// Proxies are the reverse proxies trusted to tell the client's
	// address and scheme.
	Proxies edge.Proxies
}

// Routes returns the route table (for tests that enumerate it).
func (s *Server) Routes() []Route { return s.routes() }

// Register adds every route to mux, each with its body capped.
func (s *Server) Register(mux *http.ServeMux) {
	if s.Log == nil {
		s.Log = s.Svc.Log
	}
	fail := func(w http.ResponseWriter, r *http.Request, err error) { writeError(w, s.Log, err) }
	limit, public := edge.LimitBody(body, fail), edge.LimitBody(publicBody, fail)
	for _, rt := range s.routes() {
		if rt.Access == Public {
			mux.Handle(rt.Pattern, public(s.wrap(rt)))
			continue
		}
		mux.Handle(rt.Pattern, limit(s.wrap(rt)))
	}
}

// Protect refuses cookie-authenticated cross-origin unsafe requests
// (Go's CrossOriginProtection: Sec-Fetch-Site, then Origin vs Host).
func Protect(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	// The SAML assertion consumer service takes the identity provider's
	// cross-site form POST; the signed response, bound to the browser that
	// started the sign-in, is its protection (console/saml.go).
	cop.AddInsecureBypassPattern("POST /sso/saml/acs")
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, nil, roster.Errorf(roster.EFORBIDDEN, "Cross-origin request refused"))
	}))
	return cop.Handler(h)
}

// Access says who may call a route.
type Access int

const (
	Public   Access = iota // anyone
	Session                // a logged-in user
	Member                 // a member of {id} holding Route.Perm (or any member when Perm is AnyMember)
	Service                // the platform's service token
	Operator               // the platform operator's token
)

// AnyMember as a Route.Perm: any active or suspended member may call it.
const AnyMember = roster.AnyMember

// Route is one entry of the route table.
type Route struct {
	Pattern string
	Access  Access
	Perm    roster.Permission
	handle  func(w http.ResponseWriter, r *http.Request, c *Caller) error
}

// Caller is who is asking, resolved by the service's gate.
type Caller = service.Caller

// RevisionHeader carries revisions: a write's answer names the revision it
// made; a request that sends one back waits until this server's check
// index has applied it (read-after-write across replicas).
const RevisionHeader = "X-Roster-Revision"

// RevisionWait is how long a request waits for its revision
// (service.RevisionWait).
const RevisionWait = service.RevisionWait

func (s *Server) wrap(rt Route) http.Handler {
	if rt.Access == Service {
		// The platform's hot path (the check): the token, then the
		// handler; no per-request context or writer layers, and a
		// revision wait only when one is asked for.
		tok := service.NewServiceToken(s.ServiceToken)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			err := serviceTokenOf(r, tok)
			if err == nil && r.Header.Get(RevisionHeader) != "" {
				_, err = s.awaitRevision(r)
			}
			if err == nil {
				err = rt.handle(w, r, nil)
			}
			if err != nil {
				writeError(w, s.Log, err)
			}
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, rev := service.WithRevisionSink(r.Context())
		r = r.WithContext(ctx)
		w = &revisionWriter{ResponseWriter: w, rev: rev}
		c := &Caller{IP: s.Proxies.ClientIP(r)}
		err := s.authenticate(r, rt, c)
		if err == nil && rt.Access != Public {
			var rev int64
			if rev, err = s.awaitRevision(r); rev > 0 {
				// The pages read from a standby only once it holds rev.
				r = r.WithContext(service.ReadAtLeast(r.Context(), rev))
			}
		}
		if err == nil {
			err = s.authorize(r, rt, c)
		}
		if err == nil {
			err = rt.handle(w, r, c)
		}
		if err != nil {
			writeError(w, s.Log, err)
		}
	})
}

// awaitRevision waits for the revision the request names (0: none) and
// returns it.
func (s *Server) awaitRevision(r *http.Request) (int64, error) {
	v := r.Header.Get(RevisionHeader)
	if v == "" {
		return 0, nil
	}
	rev, err := strconv.ParseInt(v, 10, 64)
	if err != nil || rev < 0 {
		return 0, roster.Errorf(roster.EINVALID, "The %s header must be a revision number", RevisionHeader)
	}
	return rev, s.Svc.AwaitRevision(r.Context(), rev)
}

// revisionWriter adds the revision a write made to its answer's header.
type revisionWriter struct {
	http.ResponseWriter
	rev *atomic.Int64
}

func (w *revisionWriter) WriteHeader(status int) {
	if rev := w.rev.Load(); rev > 0 {
		w.Header().Set(RevisionHeader, strconv.FormatInt(rev, 10))
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *revisionWriter) Write(b []byte) (int, error) { return w.ResponseWriter.Write(b) }

func (w *revisionWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// serviceTokenOf verifies the service token the request presents
// (Authorization: Bearer <token>), by the service's one rule.
func serviceTokenOf(r *http.Request, tok service.ServiceToken) error {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return tok.Verify(got, ok)
}

// bearerIs checks the operator's token.
func bearerIs(r *http.Request, want, who string) error {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if want == "" {
		return roster.Errorf(roster.EFORBIDDEN, "The %s token is not configured on this server", who)
	}
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return roster.Errorf(roster.EUNAUTHENTICATED, "A valid %s token is required", who)
	}
	return nil
}

// StatusOf returns the HTTP status of an error (edge.StatusOf).
func StatusOf(err error) int { return edge.StatusOf(err) }

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"` // the input the error is about
	} `json:"error"`
}

// RouteError answers a request under /v1/ that no route takes, in the
// error envelope every other error uses: 404 not_found for a path that is
// no route, 405 method_not_allowed for a method its path does not take
// (the router has set Allow). The server calls it for the router.
func RouteError(w http.ResponseWriter, r *http.Request, status int) {
	if status == http.StatusMethodNotAllowed {
		writeError(w, nil, roster.Errorf(roster.EMETHOD, "Method %s is not allowed on %s: see the Allow header", r.Method, r.URL.Path))
		return
	}
	writeError(w, nil, roster.Errorf(roster.ENOTFOUND, "No route %s", r.URL.Path))
}

// writeError writes every error response. Internal errors are logged with
// their cause and shown as "internal error".
func writeError(w http.ResponseWriter, log *slog.Logger, err error) {
	code := roster.ErrorCode(err)
	if code == roster.EINTERNAL && log != nil {
		log.Error("internal error", "err", err)
	}
	edge.SetRetryAfter(w, err)
	var body errorBody
	body.Error.Code, body.Error.Message, body.Error.Field = code, roster.ErrorMessage(err), roster.FieldOf(err)
	writeJSON(w, StatusOf(err), body)
}

// writeJSON encodes into a buffer first, so an encoding failure still
// answers a clean 500.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		http.Error(w, `{"error":{"code":"internal","message":"internal error"}}`, http.StatusInternalServerError)
		return nil
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	return nil
}

// decode reads a JSON body into v, refusing unknown fields and trailing
// data. The body is capped at MaxBody (Register): the whole body is read,
// so one over the cap is refused even when the excess follows a valid
// value. Errors: EINVALID, ETOOLARGE, ETIMEOUT (the body stalled).
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if e := edge.BodyError(err); e != nil {
			return e
		}
		e := roster.Errorf(roster.EINVALID, "The request body is not valid JSON for this request: %s", jsonProblem(err))
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			e.Field = te.Field
		}
		return e
	}
	// Whatever follows the value must be white space, read to its end so a
	// body over the limit is refused even when the excess is blank.
	rest, err := io.ReadAll(io.MultiReader(dec.Buffered(), r.Body))
	if e := edge.BodyError(err); e != nil {
		return e
	} else if err != nil {
		return roster.Errorf(roster.EINVALID, "The request body could not be read")
	}
	if len(bytes.TrimLeft(rest, " \t\r\n")) > 0 {
		return roster.Errorf(roster.EINVALID, "The request body has data after the JSON value")
	}
	return nil
}

// jsonKind names what JSON a Go type takes, never the Go type itself.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	}
	return "an object"
}

func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return "the body must be " + jsonKind(te.Type)
		}
		return "field " + te.Field + " must be " + jsonKind(te.Type)
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "json: unknown field") {
		return strings.TrimPrefix(msg, "json: ")
	}
	if errors.Is(err, io.EOF) {
		return "empty body"
	}
	return "malformed JSON"
}

// page reads ?limit= (default 20, 1..100) and ?offset= (>= 0).
func page(r *http.Request) (roster.Page, error) {
	p := roster.Page{Limit: 20}
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return p, roster.Errorf(roster.EINVALID, "Limit must be a number from 1 to 100")
		}
		p.Limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, roster.Errorf(roster.EINVALID, "Offset must be a number of 0 or more")
		}
		p.Offset = n
	}
	if v := q.Get("after"); v != "" {
		return p, roster.FieldErrorf("after", roster.EINVALID, "This list pages by offset only")
	}
	return p, nil
}

type listMeta struct {
	Limit      int    `json:"limit"`
	Offset     int    `json:"offset"`
	TotalCount int    `json:"total_count"`
	Next       string `json:"next,omitempty"` // the cursor of the next page (?after=), where the list offers one
}

type list[T any] struct {
	Meta    listMeta `json:"meta"`
	Objects []T      `json:"objects"`
}

func newList[T any](p roster.Page, total int, objs []T) list[T] {
	if objs == nil {
		objs = []T{}
	}
	return list[T]{Meta: listMeta{Limit: p.Limit, Offset: p.Offset, TotalCount: total, Next: p.Next}, Objects: objs}
}

func pathInt(r *http.Request, name string) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || n <= 0 {
		return 0, roster.Errorf(roster.ENOTFOUND, "Not found")
	}
	return n, nil
}
