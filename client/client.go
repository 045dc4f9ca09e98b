// Package client is a Go client for Roster's JSON API (/v1), for the
// platform's other services and for tools.
//
// A client holds one way in, chosen when it is made:
//
//   - WithServiceToken: the platform's service token, for the permission
//     check (Check, CheckBatch) and log ingest;
//   - WithAPIKey: a member's personal API key (rk_...), for the routes of
//     the key's account, with the member's current role;
//   - WithAccountCredentials: an account's Auth ID and Auth Token, for that
//     account's routes, with the developer role's permissions but
//     credentials.view and credentials.edit;
//   - WithSession: a cookie jar, filled by Login, for everything a
//     logged-in person may do (the /v1/me routes take only a session);
//   - WithOperatorToken: the platform operator's token, for /v1/admin/...
//
// Every refusal is an *Error with the HTTP status, the API's error code
// (the Code... constants), its message, the input field it is about and,
// for 429 and 503, how long to wait (RetryAfter).
//
// The typed methods cover the common calls; Do calls any route of the API
// (httpapi/openapi.json, served at GET /v1/openapi.json, describes them all).
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Client calls one Roster server. It is safe for concurrent use.
type Client struct {
	base          string // scheme://host[/prefix], without a trailing slash
	hc            *http.Client
	authorization string
	userAgent     string
	readOwnWrites bool
	revision      atomic.Int64
}

// Option configures a Client.
type Option func(*config)

type config struct {
	hc            *http.Client
	jar           http.CookieJar
	authorization string
	userAgent     string
	readOwnWrites bool
	err           error
}

// WithServiceToken authenticates as the platform's services
// (ROSTER_SERVICE_TOKEN): the permission check and log ingest.
func WithServiceToken(token string) Option {
	return func(c *config) { c.authorization = "Bearer " + token }
}

// WithOperatorToken authenticates as the platform operator
// (ROSTER_OPERATOR_TOKEN): /v1/admin/...
func WithOperatorToken(token string) Option {
	return func(c *config) { c.authorization = "Bearer " + token }
}

// WithAPIKey authenticates with a member's personal API key (rk_...): the
// routes of the key's account, with the member's current role.
func WithAPIKey(key string) Option {
	return func(c *config) {
		if !strings.HasPrefix(key, "rk_") {
			c.err = errors.New("client: a personal API key starts with rk_")
		}
		c.authorization = "Bearer " + key
	}
}

// WithAccountCredentials authenticates with an account's Auth ID and Auth
// Token (HTTP Basic): that account's routes, as a machine credential with
// the developer role's permissions but credentials.view and credentials.edit.
func WithAccountCredentials(authID, authToken string) Option {
	return func(c *config) {
		r := &http.Request{Header: http.Header{}}
		r.SetBasicAuth(authID, authToken)
		c.authorization = r.Header.Get("Authorization")
	}
}

// WithSession keeps the session cookie that Login sets, in a new cookie
// jar, and sends it back: the client acts as the logged-in person.
func WithSession() Option {
	return func(c *config) {
		c.jar, c.err = cookiejar.New(nil)
	}
}

// WithCookieJar is WithSession with a jar of your own (to share a session,
// or to set a roster_session cookie you already hold).
func WithCookieJar(jar http.CookieJar) Option {
	return func(c *config) { c.jar = jar }
}

// WithHTTPClient sends requests through hc (its transport, timeout and
// redirect policy). With WithSession or WithCookieJar the client uses a
// copy of hc with that jar. The default is an http.Client with a 30 s
// timeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) { c.hc = hc }
}

// WithUserAgent sets the User-Agent of every request (shown in a user's
// list of sessions).
func WithUserAgent(ua string) Option {
	return func(c *config) { c.userAgent = ua }
}

// WithReadOwnWrites sends the highest revision this client's writes were
// answered with (X-Roster-Revision) on every request, so that a read sees
// the client's own writes on whichever replica answers it. See also
// AtRevision.
func WithReadOwnWrites() Option {
	return func(c *config) { c.readOwnWrites = true }
}

// New returns a client of the Roster server at baseURL (e.g.
// "https://roster.internal:8080"; a path prefix is kept).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("client: base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("client: base URL %q: want http(s)://host[:port][/prefix]", baseURL)
	}
	cfg := config{}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.err != nil {
		return nil, cfg.err
	}
	hc := cfg.hc
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.jar != nil {
		cp := *hc
		cp.Jar = cfg.jar
		hc = &cp
	}
	return &Client{
		base: strings.TrimSuffix(u.String(), "/"), hc: hc, authorization: cfg.authorization,
		userAgent: cfg.userAgent, readOwnWrites: cfg.readOwnWrites,
	}, nil
}

// RevisionHeader carries revisions: a write's answer names the revision it
// made; a request that sends one waits until the server has applied it.
const RevisionHeader = "X-Roster-Revision"

type revisionKey struct{}

// AtRevision returns a context whose requests wait, on the server, until
// it has applied revision rev (from a write's X-Roster-Revision, perhaps
// one another service made): read-after-write across replicas. The server
// answers 503 unavailable when it has not within 2 seconds.
func AtRevision(ctx context.Context, rev int64) context.Context {
	return context.WithValue(ctx, revisionKey{}, rev)
}

// IdempotencyHeader carries an Idempotency-Key: a POST retried with the
// same key and the same body within 24 hours answers the first answer
// again and does nothing; the same key with another body is 409 conflict.
const IdempotencyHeader = "Idempotency-Key"

type idempotencyKey struct{}

// WithIdempotencyKey returns a context whose POST requests carry key as
// their Idempotency-Key: retry a request with the same context (after a
// cut connection, a timeout or a 5xx) and it is done once. Use a new
// random key (a UUID) for each request you mean to make, and the same key
// for its retries; a retry while the first is still running is 409
// conflict with RetryAfter set. Other methods ignore the key.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, key)
}

// LastRevision returns the highest revision this client's requests were
// answered with (0 when none).
func (c *Client) LastRevision() int64 { return c.revision.Load() }

// Do calls the route method path (e.g. "GET", "/v1/accounts/MA.../numbers?limit=100")
// with in as its JSON body (nil: none; []byte or json.RawMessage: as is)
// and decodes a successful JSON answer into out (nil: discarded). A
// refusal is an *Error.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	_, err := c.do(ctx, method, path, in, out)
	return err
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) (http.Header, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("client: path %q must start with /", path)
	}
	var body io.Reader
	switch b := in.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	case json.RawMessage:
		body = bytes.NewReader(b)
	default:
		j, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("client: encode the request body: %w", err)
		}
		body = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.authorization != "" {
		req.Header.Set("Authorization", c.authorization)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if key, ok := ctx.Value(idempotencyKey{}).(string); ok && method == http.MethodPost {
		req.Header.Set(IdempotencyHeader, key)
	}
	rev, _ := ctx.Value(revisionKey{}).(int64)
	if c.readOwnWrites {
		rev = max(rev, c.revision.Load())
	}
	if rev > 0 {
		req.Header.Set(RevisionHeader, strconv.FormatInt(rev, 10))
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: read the answer: %w", method, path, err)
	}
	if v, err := strconv.ParseInt(resp.Header.Get(RevisionHeader), 10, 64); err == nil {
		for {
			cur := c.revision.Load()
			if v <= cur || c.revision.CompareAndSwap(cur, v) {
				break
			}
		}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.Header, errorOf(resp, raw)
	}
	if out != nil && len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.Header, fmt.Errorf("client: %s %s: decode the answer: %w", method, path, err)
		}
	}
	return resp.Header, nil
}

// --- errors

// The API's error codes (Error.Code).
const (
	CodeInvalidRequest      = "invalid_request"       // 400
	CodeUnauthenticated     = "unauthenticated"       // 401
	CodeForbidden           = "forbidden"             // 403
	CodePlanRequired        = "plan_required"         // 403
	CodeOwnerImmutable      = "owner_immutable"       // 403
	CodeEmailUnverified     = "email_unverified"      // 403
	CodeMFARequired         = "mfa_required"          // 403, or 401 at login: a second factor is due
	CodeSSORequired         = "sso_required"          // 403: the account requires its single sign-on of this member
	CodeDeactivated         = "member_deactivated"    // 403: the company's directory deactivated this member
	CodeNotFound            = "not_found"             // 404
	CodeConflict            = "conflict"              // 409
	CodeAlreadyMember       = "already_member"        // 409
	CodeInvitationPending   = "invitation_pending"    // 409
	CodeInvitationInvalid   = "invitation_invalid"    // 410
	CodeRequestTooLarge     = "request_too_large"     // 413
	CodePersonalEmailDomain = "personal_email_domain" // 422
	CodeRateLimited         = "rate_limited"          // 429
	CodeInternal            = "internal"              // 500
	CodeUnavailable         = "unavailable"           // 503

	CodeRequestTimeout       = "request_timeout"        // 408: the request body stalled
	CodeUnsupportedMediaType = "unsupported_media_type" // 415: a multipart body (a file) where the route takes none
	CodeMethodNotAllowed     = "method_not_allowed"     // 405: the path does not take the method (Allow names those it does)
)

// Error is a refusal from the server.
type Error struct {
	Status  int    // the HTTP status
	Code    string // one of the Code... constants; "" when the answer was not the API's error envelope
	Message string // for a person
	Field   string // the input the error is about (email, password, checks[3], ...), "" for none
	// RetryAfter, from the Retry-After header (429, 503; 409 for an
	// Idempotency-Key whose first request is still running), says when trying
	// again can succeed; 0 when waiting does not help.
	RetryAfter time.Duration
	// Methods and MFAToken come with the login's mfa_required: the second
	// factors the user has (totp, recovery_code, passkey) and the token to
	// give a passkey with (BeginPasskeySecondFactor).
	Methods  []string
	MFAToken string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "roster: %d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Field != "" {
		b.WriteString(" (field " + e.Field + ")")
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// IsCode reports whether err is (or wraps) an *Error with the code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

func errorOf(resp *http.Response, raw []byte) *Error {
	e := &Error{Status: resp.StatusCode}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	var env struct {
		Error struct {
			Code     string   `json:"code"`
			Message  string   `json:"message"`
			Field    string   `json:"field"`
			Methods  []string `json:"methods"`
			MFAToken string   `json:"mfa_token"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &env) == nil && env.Error.Code != "" {
		e.Code, e.Message, e.Field = env.Error.Code, env.Error.Message, env.Error.Field
		e.Methods, e.MFAToken = env.Error.Methods, env.Error.MFAToken
		return e
	}
	// Not the API's envelope (a proxy's page, an unknown route).
	msg := strings.TrimSpace(string(raw))
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	e.Message = msg
	return e
}
