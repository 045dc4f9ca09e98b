package httpapi_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/httpapi"
	"github.com/rosterhq/roster/server/servertest"
)

// The API description (openapi.json) is held to the server two ways: the
// document against the route table (TestOpenAPI_*), and every answer any
// test of this package gets through servertest against the document
// (checkAnswer, installed in init).

func init() { servertest.ResponseCheck = checkAnswer }

// described is the document, parsed and validated once, with a mux of
// its operations that routes a request as the server's mux does.
type described struct {
	doc *openapi3.T
	mux *http.ServeMux
	ops map[string]*operation // by "METHOD /path"
}

type operation struct {
	method, path string
	params       []string // the path's {names}
	route        *routers.Route
	// The JSON schemas of the request body and of each answer's body,
	// compiled once.
	request  *jsonschema.Schema
	response map[int]*jsonschema.Schema
}

type matchKey struct{}

type match struct {
	op     *operation
	params map[string]string
}

var spec = sync.OnceValues(func() (*described, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi.json is not a valid OpenAPI document: %w", err)
	}
	// Bodies are checked with JSON Schema 2020-12 (as OpenAPI 3.1 has it)
	// by the validator kin-openapi uses, but with each schema compiled
	// once here: kin-openapi compiles a schema on every validation.
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(httpapi.OpenAPI()))
	if err != nil {
		return nil, err
	}
	const docURL = "urn:roster:openapi.json"
	compiler := jsonschema.NewCompiler()
	compiler.DefaultDraft(jsonschema.Draft2020)
	compiler.AssertFormat()
	if err := compiler.AddResource(docURL, raw); err != nil {
		return nil, err
	}
	compile := func(tokens ...string) (*jsonschema.Schema, error) {
		var ptr strings.Builder
		for _, t := range tokens {
			t = strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1")
			ptr.WriteString("/" + url.PathEscape(t))
		}
		return compiler.Compile(docURL + "#" + ptr.String())
	}

	d := &described{doc: doc, mux: http.NewServeMux(), ops: map[string]*operation{}}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			o := &operation{method: method, path: path, response: map[int]*jsonschema.Schema{},
				route: &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}}
			for _, seg := range strings.Split(path, "/") {
				if name, ok := strings.CutPrefix(seg, "{"); ok {
					o.params = append(o.params, strings.TrimSuffix(name, "}"))
				}
			}
			at := []string{"paths", path, strings.ToLower(method)}
			if rb := op.RequestBody; rb != nil {
				if rb.Ref != "" || rb.Value.Content["application/json"] == nil {
					return nil, fmt.Errorf("%s %s: the request body must be an inline application/json one", method, path)
				}
				if o.request, err = compile(append(at, "requestBody", "content", "application/json", "schema")...); err != nil {
					return nil, err
				}
			}
			for code, resp := range op.Responses.Map() {
				status, err := strconv.Atoi(code)
				if err != nil || len(resp.Value.Content) == 0 {
					continue
				}
				if resp.Value.Content["application/json"] == nil {
					return nil, fmt.Errorf("%s %s: %s is not application/json", method, path, code)
				}
				loc := append(slices.Clone(at), "responses", code)
				if name, ok := strings.CutPrefix(resp.Ref, "#/components/responses/"); ok {
					loc = []string{"components", "responses", name}
				} else if resp.Ref != "" {
					return nil, fmt.Errorf("%s %s: %s: unexpected $ref %s", method, path, code, resp.Ref)
				}
				if o.response[status], err = compile(append(loc, "content", "application/json", "schema")...); err != nil {
					return nil, err
				}
			}
			d.ops[method+" "+path] = o
			d.mux.HandleFunc(method+" "+path, func(w http.ResponseWriter, r *http.Request) {
				m := r.Context().Value(matchKey{}).(*match)
				m.op, m.params = o, map[string]string{}
				for _, p := range o.params {
					m.params[p] = r.PathValue(p)
				}
			})
		}
	}
	return d, nil
})

func mustSpec(t *testing.T) *described {
	t.Helper()
	d, err := spec()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// find returns the documented operation that routes req, with its path
// parameters, or nil and the status the router answers (404 or 405).
func (d *described) find(req *http.Request) (*operation, map[string]string, int) {
	m := &match{}
	r := req.Clone(context.WithValue(req.Context(), matchKey{}, m))
	r.Body = http.NoBody
	rec := httptest.NewRecorder()
	d.mux.ServeHTTP(rec, r)
	return m.op, m.params, rec.Code
}

// checkAnswer checks one answer against the document: the operation that
// routes the request must document the status (undocumented statuses
// fail), the headers it describes and the JSON body; an answer without
// content must have no body. A success must also have come from a
// request the document accepts: the credentials one of the operation's
// security requirements names, and the parameters and body it describes.
// A request no operation routes must have been refused by the server's
// router too (404 or 405).
func checkAnswer(req *http.Request, status int, header http.Header, body []byte) error {
	d, err := spec()
	if err != nil {
		return err
	}
	op, params, routerStatus := d.find(req)
	if op == nil {
		if status != routerStatus {
			return fmt.Errorf("no documented operation routes %s %s (the document's router answers %d), yet the server answered %d: %s",
				req.Method, req.URL.Path, routerStatus, status, excerpt(body))
		}
		return nil
	}
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: op.route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, ExcludeRequestBody: true},
	}
	if status >= 200 && status < 300 {
		if err := op.acceptedRequest(ctx, in); err != nil {
			return fmt.Errorf("%s %s answered %d to a request the document refuses: %w", op.method, op.path, status, err)
		}
	}
	// The status and the headers, by kin-openapi; the body below.
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: true},
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("%s %s: %d %s: %w", op.method, op.path, status, excerpt(body), err)
	}
	// The API's own headers, when an answer carries them, are documented
	// for it (kin-openapi checks only the documented ones).
	documented := op.route.Operation.Responses.Status(status).Value.Headers
	for _, h := range []string{"X-Roster-Revision", "Retry-After", "Set-Cookie"} {
		if header.Get(h) != "" && documented[h] == nil {
			return fmt.Errorf("%s %s: %d has %s: %s, which the document does not describe", op.method, op.path, status, h, header.Get(h))
		}
	}
	schema, hasContent := op.response[status]
	switch {
	case !hasContent && len(body) > 0:
		return fmt.Errorf("%s %s: %d is documented without content, yet has a body: %s", op.method, op.path, status, excerpt(body))
	case !hasContent || req.Method == http.MethodHead:
		return nil
	case op.route.Operation.Responses.Status(status).Value.Content.Get(header.Get("Content-Type")) == nil:
		return fmt.Errorf("%s %s: %d has Content-Type %q, not the documented one", op.method, op.path, status, header.Get("Content-Type"))
	}
	if mt, _, _ := mime.ParseMediaType(header.Get("Content-Type")); mt == "text/csv" {
		// A CSV answer (the access review): documented as text/csv (above),
		// and well-formed CSV with a header row and rows of its width.
		if _, err := csv.NewReader(bytes.NewReader(body)).ReadAll(); err != nil || len(body) == 0 {
			return fmt.Errorf("%s %s: %d is not CSV with a header row: %v: %s", op.method, op.path, status, err, excerpt(body))
		}
		return nil
	}
	if err := validJSON(schema, body); err != nil {
		return fmt.Errorf("%s %s: %d %s: %w", op.method, op.path, status, excerpt(body), err)
	}
	return nil
}

// validJSON checks that body is one JSON value that schema accepts.
func validJSON(schema *jsonschema.Schema, body []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return schema.Validate(v)
}

// acceptedRequest checks that the request presented a credential one of
// the operation's security requirements names, and that its parameters
// and body are what the document describes.
func (op *operation) acceptedRequest(ctx context.Context, in *openapi3filter.RequestValidationInput) error {
	req := in.Request
	presented := map[string]bool{}
	if ck, err := req.Cookie(edge.CookieName); err == nil && ck.Value != "" {
		presented["sessionCookie"] = true
	}
	switch auth := req.Header.Get("Authorization"); {
	case strings.HasPrefix(auth, "Bearer rk_"):
		presented["personalApiKey"] = true
	case strings.HasPrefix(auth, "Bearer "):
		presented["serviceToken"], presented["operatorToken"] = true, true
	case strings.HasPrefix(auth, "Basic "):
		presented["accountCredentials"] = true
	}
	if sec := in.Route.Operation.Security; sec != nil && len(*sec) > 0 {
		ok := false
		for _, requirement := range *sec {
			all := true
			for name := range requirement {
				all = all && presented[name]
			}
			ok = ok || all
		}
		if !ok {
			return fmt.Errorf("it presented none of the credentials the operation's security names")
		}
	}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		return err
	}
	if op.request == nil {
		return nil
	}
	// The body, from a fresh copy (the request's own was sent).
	var body []byte
	if req.GetBody != nil {
		rd, err := req.GetBody()
		if err != nil {
			return err
		}
		defer rd.Close()
		if body, err = io.ReadAll(rd); err != nil {
			return err
		}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if in.Route.Operation.RequestBody.Value.Required {
			return fmt.Errorf("no body, but the document requires one")
		}
		return nil
	}
	if err := validJSON(op.request, body); err != nil {
		return fmt.Errorf("body %s: %w", excerpt(body), err)
	}
	return nil
}

func excerpt(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// securityFor is what each access level must document, as sets of
// scheme names (one set per security requirement).
var securityFor = map[httpapi.Access][]string{
	httpapi.Public:   {},
	httpapi.Session:  {"sessionCookie"},
	httpapi.Member:   {"accountCredentials", "personalApiKey", "sessionCookie"},
	httpapi.Service:  {"serviceToken"},
	httpapi.Operator: {"operatorToken"},
}

// TestOpenAPI_DescribesTheRouteTable holds the document to the route table
// both ways: every route is documented (method, path, security for its
// access, x-roster-permission for its permission, the statuses its access
// can answer), and every documented operation is routed.
func TestOpenAPI_DescribesTheRouteTable(t *testing.T) {
	t.Parallel()
	d := mustSpec(t)
	routed := map[string]bool{}
	for _, rt := range (&httpapi.Server{}).Routes() {
		routed[rt.Pattern] = true
		method, path, _ := strings.Cut(rt.Pattern, " ")
		item := d.doc.Paths.Value(path)
		var op *openapi3.Operation
		if item != nil {
			op = item.GetOperation(method)
		}
		if op == nil {
			t.Errorf("%s is routed but not documented", rt.Pattern)
			continue
		}

		// Security: one requirement per way in, each naming one scheme;
		// public routes need none (anonymous allowed).
		if op.Security == nil {
			t.Errorf("%s: no security (say [] for a public route)", rt.Pattern)
		} else {
			var got []string
			anonymous := len(*op.Security) == 0
			for _, req := range *op.Security {
				if len(req) == 0 {
					anonymous = true
				}
				for name := range req {
					if len(req) != 1 {
						t.Errorf("%s: a security requirement names %d schemes together, want one", rt.Pattern, len(req))
					}
					got = append(got, name)
				}
			}
			sort.Strings(got)
			want := securityFor[rt.Access]
			if rt.Access == httpapi.Public {
				if !anonymous {
					t.Errorf("%s is public but its security does not allow an anonymous caller: %v", rt.Pattern, got)
				}
			} else if anonymous || !slices.Equal(got, want) {
				t.Errorf("%s: security %v (anonymous %v), want %v for its access", rt.Pattern, got, anonymous, want)
			}
		}

		// The permission an account route needs.
		perm, has := op.Extensions["x-roster-permission"]
		if rt.Access == httpapi.Member {
			if perm != rt.Perm.String() {
				t.Errorf("%s: x-roster-permission %v, want %s", rt.Pattern, perm, rt.Perm)
			}
		} else if has {
			t.Errorf("%s is not an account route but has x-roster-permission %v", rt.Pattern, perm)
		}

		// The refusals its access can answer.
		want := map[int][]string{500: {roster.EINTERNAL}}
		if method != http.MethodGet {
			want[403] = append(want[403], roster.EFORBIDDEN) // cross-origin protection
			want[415] = []string{roster.EMEDIATYPE}          // a multipart body, refused unread (edge.LimitBody)
		}
		if op.RequestBody != nil {
			want[408] = []string{roster.ETIMEOUT}  // the body stalled
			want[413] = []string{roster.ETOOLARGE} // the body is over MaxBody
		}
		if httpapi.TakesIdempotencyKey(rt) {
			want[400] = append(want[400], roster.EINVALID)  // a malformed Idempotency-Key
			want[409] = append(want[409], roster.ECONFLICT) // the key's other request, or its first still running
			has := false
			for _, p := range op.Parameters {
				has = has || p.Ref == "#/components/parameters/IdempotencyKey"
			}
			if !has {
				t.Errorf("%s takes an Idempotency-Key, but the document does not say so", rt.Pattern)
			}
		}
		switch rt.Access {
		case httpapi.Session:
			want[401] = []string{roster.EUNAUTHENTICATED}
			want[503] = []string{roster.EUNAVAILABLE}
		case httpapi.Member:
			want[401] = []string{roster.EUNAUTHENTICATED}
			want[404] = []string{roster.ENOTFOUND}
			want[503] = []string{roster.EUNAVAILABLE}
			if rt.Perm != httpapi.AnyMember {
				want[403] = append(want[403], roster.EFORBIDDEN, roster.EPLANREQUIRED, roster.EMFAREQUIRED, roster.ESSOREQUIRED, roster.EDEACTIVATED)
			}
		case httpapi.Service, httpapi.Operator:
			want[401] = []string{roster.EUNAUTHENTICATED}
			want[403] = append(want[403], roster.EFORBIDDEN)
			want[503] = []string{roster.EUNAVAILABLE}
		}
		for status, codes := range want {
			got := errorCodes(op, status)
			for _, c := range codes {
				if !slices.Contains(got, c) {
					t.Errorf("%s: answers %d %s for its access, but the document does not say so (documents %v)", rt.Pattern, status, c, got)
				}
			}
		}
	}
	for path, item := range d.doc.Paths.Map() {
		for method := range item.Operations() {
			if !routed[method+" "+path] {
				t.Errorf("%s %s is documented but not routed", method, path)
			}
		}
	}
}

// TestOpenAPI_ErrorsAndBodies: every error answer documented is the error
// envelope with codes of its own status (edge.StatusOf), every success is
// documented, and every request body refuses unknown fields, as decode does.
func TestOpenAPI_ErrorsAndBodies(t *testing.T) {
	t.Parallel()
	d := mustSpec(t)
	for name, o := range d.ops {
		op := o.route.Operation
		successes := 0
		for code, resp := range op.Responses.Map() {
			status, err := strconv.Atoi(code)
			if err != nil {
				t.Errorf("%s: response %q: only explicit statuses, so that an undocumented one fails", name, code)
				continue
			}
			if status < 400 {
				successes++
				continue
			}
			codes := errorCodes(op, status)
			if len(codes) == 0 {
				t.Errorf("%s: %d lists no error codes", name, status)
			}
			for _, c := range codes {
				e := roster.Errorf(c, "")
				e.Challenge = status == http.StatusUnauthorized && c == roster.EMFAREQUIRED
				if got := edge.StatusOf(e); got != status {
					t.Errorf("%s: %d lists %s, which the server answers with %d", name, status, c, got)
				}
			}
			if _, ok := resp.Value.Content["application/json"]; !ok {
				t.Errorf("%s: %d is not the JSON error envelope", name, status)
			}
		}
		if successes != 1 {
			t.Errorf("%s documents %d successes, want 1", name, successes)
		}
		if rb := op.RequestBody; rb != nil {
			mt := rb.Value.Content.Get("application/json")
			if mt == nil || mt.Schema == nil {
				t.Errorf("%s: a request body that is not JSON", name)
				continue
			}
			for _, where := range openObjects(mt.Schema, "body", map[*openapi3.Schema]bool{}) {
				t.Errorf("%s: %s takes unknown fields (the server refuses them): say additionalProperties: false", name, where)
			}
		}
	}
}

// errorCodes returns the codes the document lists for an error status of
// op: the enum of error.code in its schema (directly or through allOf).
func errorCodes(op *openapi3.Operation, status int) []string {
	resp := op.Responses.Status(status)
	if resp == nil || resp.Value == nil {
		return nil
	}
	mt := resp.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil
	}
	var codes []string
	var walk func(s *openapi3.SchemaRef)
	walk = func(s *openapi3.SchemaRef) {
		if s == nil || s.Value == nil {
			return
		}
		if e := s.Value.Properties["error"]; e != nil && e.Value != nil {
			if c := e.Value.Properties["code"]; c != nil && c.Value != nil && len(c.Value.Enum) > 0 {
				if codes == nil { // the narrowest: the operation's own list comes first
					for _, v := range c.Value.Enum {
						codes = append(codes, fmt.Sprint(v))
					}
				}
			}
		}
		for _, sub := range s.Value.AllOf {
			walk(sub)
		}
	}
	walk(mt.Schema)
	return codes
}

// openObjects lists the object schemas under s that allow properties they
// do not name.
func openObjects(s *openapi3.SchemaRef, where string, seen map[*openapi3.Schema]bool) []string {
	if s == nil || s.Value == nil || seen[s.Value] {
		return nil
	}
	v := s.Value
	seen[v] = true
	var out []string
	if len(v.Properties) > 0 && (v.AdditionalProperties.Has == nil || *v.AdditionalProperties.Has) {
		out = append(out, where)
	}
	for name, p := range v.Properties {
		out = append(out, openObjects(p, where+"."+name, seen)...)
	}
	out = append(out, openObjects(v.Items, where+"[]", seen)...)
	for _, group := range [][]*openapi3.SchemaRef{v.OneOf, v.AnyOf, v.AllOf} {
		for _, sub := range group {
			out = append(out, openObjects(sub, where, seen)...)
		}
	}
	return out
}

// TestOpenAPI_Served: GET /v1/openapi.json answers the embedded document.
func TestOpenAPI_Served(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	r := e.Client(t).Must(200, "GET", "/v1/openapi.json", nil)
	if !bytes.Equal(r.Body, httpapi.OpenAPI()) {
		t.Error("GET /v1/openapi.json does not answer the embedded document")
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var v struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil || !strings.HasPrefix(v.OpenAPI, "3.1.") {
		t.Errorf("openapi %q, %v", v.OpenAPI, err)
	}
}

// TestOpenAPI_CheckRefusesWhatTheDocumentDoesNot: the answer check itself
// fails an undocumented status, a body off its schema, and a success to
// a request the document refuses.
func TestOpenAPI_CheckRefusesWhatTheDocumentDoesNot(t *testing.T) {
	t.Parallel()
	mustSpec(t)
	req := func(method, path, body string) *http.Request {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		r, _ := http.NewRequest(method, "http://roster.test"+path, rd)
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		return r
	}
	jsonHeader := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	session := func(r *http.Request) *http.Request {
		r.AddCookie(&http.Cookie{Name: edge.CookieName, Value: "x"})
		return r
	}
	user := `{"id":1,"email":"a@acme-corp.com","name":"A","email_verified":true,"mfa_enabled":false,"default_account_id":null,"created_at":"2026-11-01T10:00:00Z"}`
	for _, tc := range []struct {
		name   string
		req    *http.Request
		status int
		body   string
		ok     bool
	}{
		{"documented", session(req("GET", "/v1/me", "")), 200, user, true},
		{"undocumented status", session(req("GET", "/v1/me", "")), 418, `{"error":{"code":"internal","message":"x"}}`, false},
		{"missing field", session(req("GET", "/v1/me", "")), 200, `{"id":1}`, false},
		{"unknown field", session(req("GET", "/v1/me", "")), 200, strings.TrimSuffix(user, "}") + `,"password":"x"}`, false},
		{"code of another status", session(req("GET", "/v1/me", "")), 401, `{"error":{"code":"forbidden","message":"x"}}`, false},
		{"success without credentials", req("GET", "/v1/me", ""), 200, user, false},
		{"success with an unknown field", req("POST", "/v1/verify-email", `{"token":"t","extra":1}`), 200, `{"status":"verified","email":"a@acme-corp.com"}`, false},
		{"refusal of an unknown field", req("POST", "/v1/verify-email", `{"token":"t","extra":1}`), 400, `{"error":{"code":"invalid_request","message":"x"}}`, true},
		{"no content with a body", req("POST", "/v1/logout", ""), 204, `{}`, false},
		{"unrouted, refused", req("GET", "/v1/nothing-here", ""), 404, "404 page not found\n", true},
		{"unrouted, answered", req("GET", "/v1/nothing-here", ""), 200, "{}", false},
	} {
		err := checkAnswer(tc.req, tc.status, jsonHeader, []byte(tc.body))
		if (err == nil) != tc.ok {
			t.Errorf("%s: check says %v", tc.name, err)
		}
	}
}
