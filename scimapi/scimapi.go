// Package scimapi is the SCIM 2.0 edge (RFC 7643, 7644; issue 23): the
// company's directory (Okta, Entra ID, ...) provisions an account's
// members and groups at {BASE_URL}/scim/v2 with a bearer token of the
// account. The protocol is github.com/elimity-com/scim's (routing, schema
// validation, PATCH parsing, filters by scim2/filter-parser); this
// package authenticates the token, bounds the body, smooths what the
// providers send that the library would refuse (see prepare), and maps
// each resource operation to the door's methods: the scim room for what
// SCIM keeps, the team room for roles, deactivation and removal, so audit,
// webhooks, mail and the check index stay one path.
package scimapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/service"
	scimroom "github.com/rosterhq/roster/service/scim"
)

// Prefix is where the SCIM service is mounted: {BASE_URL}/scim/v2/...
const Prefix = "/scim/v2"

// MaxBody is the largest request body taken (the ServiceProviderConfig's
// bulk is off, so no SCIM request needs more).
const MaxBody = 1 << 20

// Server answers the SCIM protocol for the door's accounts.
type Server struct {
	Svc     *service.Service
	Proxies edge.Proxies

	scim scim.Server
	// userAttrs and groupAttrs are the attribute names (lower case) a
	// request may name; anything else is ignored (prepare).
	userAttrs, groupAttrs map[string]bool
}

var allowStrings sync.Once

// New returns the SCIM server; baseURL is the server's public URL.
// Errors are logged through the service's logger (svc.Log).
func New(svc *service.Service, baseURL string, proxies edge.Proxies) (*Server, error) {
	// Entra ID sends booleans as strings ("False"): the library takes
	// them when told to (a package-wide switch, set once here).
	allowStrings.Do(func() { schema.SetAllowStringValues(true) })
	s := &Server{Svc: svc, Proxies: proxies}
	users, groups := schema.CoreUserSchema(), schema.CoreGroupSchema()
	s.userAttrs, s.groupAttrs = attrNames(users, RosterExtension()), attrNames(groups)
	srv, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{
			DocumentationURI: optional.NewString(strings.TrimRight(baseURL, "/") + "/docs/scim-protocol.md"),
			AuthenticationSchemes: []scim.AuthenticationScheme{{
				Type: scim.AuthenticationTypeOauthBearerToken, Name: "Bearer token",
				Description: "A SCIM token of the account (Settings, Provisioning), sent as Authorization: Bearer", Primary: true,
			}},
			MaxResults:       scimroom.MaxCount,
			SupportFiltering: true,
			SupportPatch:     true,
		},
		ResourceTypes: []scim.ResourceType{
			{
				ID: optional.NewString("User"), Name: "User", Endpoint: "/Users",
				Description:      optional.NewString("A member of the account"),
				Schema:           users,
				SchemaExtensions: []scim.SchemaExtension{{Schema: RosterExtension()}},
				Handler:          userHandler{s},
			},
			{
				ID: optional.NewString("Group"), Name: "Group", Endpoint: "/Groups",
				Description: optional.NewString("A group of the directory; its display name may map to a role"),
				Schema:      groups,
				Handler:     groupHandler{s},
			},
		},
	}, scim.WithBaseURL(strings.TrimRight(baseURL, "/")+Prefix))
	if err != nil {
		return nil, err
	}
	s.scim = srv
	return s, nil
}

// RosterExtension is the Roster extension of the SCIM user: its "role"
// names the member's role.
func RosterExtension() schema.Schema {
	return schema.Schema{
		ID:          roster.SCIMUserSchemaExtension,
		Name:        optional.NewString("Roster user"),
		Description: optional.NewString("The member's role in the Roster account"),
		Attributes: []schema.CoreAttribute{
			schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				Name:            "role",
				CanonicalValues: []string{"admin", "developer", "finance_analyst", "support"},
				Description:     optional.NewString("The member's role; when not sent, the most powerful role among the member's mapped groups, else the account's default role"),
			})),
		},
	}
}

func attrNames(s schema.Schema, exts ...schema.Schema) map[string]bool {
	out := map[string]bool{"externalid": true, "id": true}
	for _, a := range s.Attributes {
		out[strings.ToLower(a.Name())] = true
	}
	for _, e := range exts {
		out[strings.ToLower(e.ID)] = true
		for _, a := range e.Attributes {
			out[strings.ToLower(e.ID+":"+a.Name())] = true
		}
	}
	return out
}

// ctxKey carries the request's account and actor to the handlers.
type ctxKey struct{}

type caller struct {
	account roster.Account
	actor   roster.Actor
}

func from(r *http.Request) caller { c, _ := r.Context().Value(ctxKey{}).(caller); return c }

// ServeHTTP authenticates the bearer token, reads the body (at most
// MaxBody), prepares the request and hands it to the library.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="SCIM"`)
		writeError(w, scimerrors.ScimError{Status: http.StatusUnauthorized, Detail: "A SCIM token is required: send it as Authorization: Bearer"})
		return
	}
	a, tok, err := s.Svc.SCIMTokenAccount(r.Context(), strings.TrimSpace(token))
	if err != nil {
		if roster.ErrorCode(err) == roster.EUNAUTHENTICATED {
			w.Header().Set("WWW-Authenticate", `Bearer realm="SCIM", error="invalid_token"`)
			writeError(w, scimerrors.ScimError{Status: http.StatusUnauthorized, Detail: "The SCIM token is not valid: it was revoked, or never existed"})
			return
		}
		if roster.ErrorCode(err) == roster.EUNAVAILABLE {
			edge.SetRetryAfter(w, err)
			writeError(w, scimerrors.ScimError{Status: http.StatusServiceUnavailable, Detail: roster.ErrorMessage(err)})
			return
		}
		writeError(w, s.internal(r, err))
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), writerKey{}, w))
	if r.Body != nil {
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
		if err != nil {
			writeError(w, scimerrors.ScimErrorBadRequest("The request body could not be read"))
			return
		}
		if len(body) > MaxBody {
			writeError(w, scimerrors.ScimError{Status: http.StatusRequestEntityTooLarge, Detail: "The request body is larger than 1 MiB"})
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	c := caller{account: a, actor: roster.Actor{Email: "scim:" + tok.Name, IP: s.Proxies.ClientIP(r)}}
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, c))
	r = s.prepare(r)
	http.StripPrefix("/scim", s.scim).ServeHTTP(w, r)
}

func writeError(w http.ResponseWriter, e scimerrors.ScimError) {
	raw, _ := json.Marshal(e)
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(e.Status)
	w.Write(raw)
}

// workEmailFilter is Okta's and Entra ID's filter on the work address,
// which RFC 7644's grammar (and so the filter parser) has no rule for.
var workEmailFilter = regexp.MustCompile(`(?i)emails\[\s*type\s+eq\s+"work"\s*\]\.value\s+eq\s+("(?:[^"\\]|\\.)*")`)

// prepare smooths what the providers send that the library would refuse:
//   - the filter emails[type eq "work"].value eq "x" is rewritten as the
//     RFC's emails[type eq "work" and value eq "x"];
//   - a PATCH's operations on attributes Roster does not know (Entra ID's
//     enterprise extension, "name.familyName" is known and ignored later)
//     are dropped, and so are unknown keys of a value without a path: the
//     issue asks that unknown attributes be ignored, the library refuses
//     them. A PATCH left with no operation is answered as a GET.
func (s *Server) prepare(r *http.Request) *http.Request {
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		if f := q.Get("filter"); f != "" && workEmailFilter.MatchString(f) {
			q.Set("filter", workEmailFilter.ReplaceAllString(f, `emails[type eq "work" and value eq $1]`))
			r.URL.RawQuery = q.Encode()
		}
		return r
	}
	if r.Method != http.MethodPatch || r.Body == nil {
		return r
	}
	known := s.userAttrs
	if strings.Contains(r.URL.Path, "/Groups/") {
		known = s.groupAttrs
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var req map[string]any
	if json.Unmarshal(body, &req) != nil {
		return r // the library answers invalidSyntax
	}
	opsKey := ""
	for k := range req {
		if strings.EqualFold(k, "Operations") {
			opsKey = k
		}
	}
	ops, ok := req[opsKey].([]any)
	if !ok {
		return r
	}
	var kept []any
	for _, raw := range ops {
		op, ok := raw.(map[string]any)
		if !ok {
			kept = append(kept, raw)
			continue
		}
		var path string
		for k, v := range op {
			if strings.EqualFold(k, "path") {
				path, _ = v.(string)
			}
		}
		if path != "" {
			if knownPath(known, path) {
				kept = append(kept, op)
			}
			continue
		}
		for k, v := range op {
			if !strings.EqualFold(k, "value") {
				continue
			}
			if m, ok := v.(map[string]any); ok {
				for key := range m {
					if !knownPath(known, key) {
						delete(m, key)
					}
				}
				if len(m) == 0 {
					continue
				}
			}
			kept = append(kept, op)
		}
	}
	if len(kept) == 0 && len(ops) > 0 {
		r.Method, r.Body, r.ContentLength = http.MethodGet, http.NoBody, 0
		return r
	}
	req[opsKey] = kept
	body, _ = json.Marshal(req)
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	return r
}

// knownPath says whether a PATCH path names an attribute Roster knows:
// its attribute (before any "[" or ".", after a known schema URI).
func knownPath(known map[string]bool, path string) bool {
	p := strings.ToLower(strings.TrimSpace(path))
	if known[p] {
		return true
	}
	if i := strings.LastIndex(p, ":"); i >= 0 && strings.HasPrefix(p, "urn:") {
		if known[p[:i]] { // a known schema URI: its attribute must be known too
			name := p[i+1:]
			if j := strings.IndexAny(name, "[."); j >= 0 {
				name = name[:j]
			}
			return known[p[:i+1]+name]
		}
		return false // another extension's (Entra ID's enterprise user)
	}
	if j := strings.IndexAny(p, "[."); j >= 0 {
		p = p[:j]
	}
	return known[p]
}

// scimError is the SCIM answer to a door's error; an internal one is
// logged with its cause and answered "internal error".
func (s *Server) scimError(r *http.Request, err error) error {
	var e *roster.Error
	if !errors.As(err, &e) {
		return s.internal(r, err)
	}
	se := scimerrors.ScimError{Detail: e.Message}
	switch e.Code {
	case roster.ENOTFOUND:
		se.Status = http.StatusNotFound
	case roster.EOWNERIMMUTABLE:
		se.Status, se.ScimType = http.StatusBadRequest, scimerrors.ScimTypeMutability
	case roster.ECONFLICT, roster.EALREADYMEMBER:
		se.Status, se.ScimType = http.StatusConflict, scimerrors.ScimTypeUniqueness
	case roster.EINVALID, roster.EPERSONALDOMAIN:
		se.Status, se.ScimType = http.StatusBadRequest, scimerrors.ScimTypeInvalidValue
		switch e.Field {
		case "filter":
			se.ScimType = scimerrors.ScimTypeInvalidFilter
		case "path":
			se.ScimType = scimerrors.ScimTypeInvalidPath
		}
	case roster.EPLANREQUIRED, roster.EFORBIDDEN:
		se.Status = http.StatusForbidden
	case roster.EUNAUTHENTICATED:
		se.Status = http.StatusUnauthorized
	case roster.EUNAVAILABLE, roster.ERATELIMITED:
		se.Status = edge.StatusOf(err)
		if w, ok := r.Context().Value(writerKey{}).(http.ResponseWriter); ok {
			edge.SetRetryAfter(w, err) // before the library writes the answer
		}
	default:
		return s.internal(r, err)
	}
	return se
}

// writerKey carries the request's ResponseWriter to scimError, which the
// library calls without it, so a 503 or 429 says when to try again.
type writerKey struct{}

func (s *Server) internal(r *http.Request, err error) scimerrors.ScimError {
	s.Svc.Log.Error("scim", "method", r.Method, "path", r.URL.Path, "err", err)
	return scimerrors.ScimError{Status: http.StatusInternalServerError, Detail: "internal error"}
}

// mutability is the refusal of a change SCIM may not make.
func mutability(detail string) error {
	return scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeMutability, Detail: detail}
}

func invalidValue(detail string) error {
	return scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidValue, Detail: detail}
}

// parseID reads a SCIM id (a user's or a group's integer ID); anything
// else is an id of nothing.
func parseID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != id {
		return 0, scimerrors.ScimErrorResourceNotFound(id)
	}
	return n, nil
}

// applyRoles gives the members among userIDs the role the directory gives
// them, each through the team's role change (audited, announced, mailed).
func (s *Server) applyRoles(r *http.Request, userIDs []int64) error {
	c := from(r)
	changes, err := s.Svc.SCIMRoleChanges(r.Context(), c.account, userIDs)
	if err != nil {
		return s.scimError(r, err)
	}
	for _, ch := range changes {
		if _, err := s.Svc.SetMemberRole(r.Context(), c.account, ch.UserID, ch.Role.String(), c.actor); err != nil {
			switch roster.ErrorCode(err) {
			case roster.ENOTFOUND, roster.EOWNERIMMUTABLE: // gone, or the owner meanwhile
				continue
			}
			return s.scimError(r, err)
		}
	}
	return nil
}

func optionalString(s string) optional.String { return optional.NewString(s) }
