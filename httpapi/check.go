package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/edge"
)

// The permission check over HTTP: the platform's hot path. A request is
// read into a pooled buffer and decoded into a pooled value, and the answer
// is written without an encoder, so a check allocates little beyond what
// net/http itself does.

// checkItem is one check: an account, a user or personal API key, and a
// permission.
type checkItem struct {
	AccountID  string `json:"account_id"`
	UserID     int64  `json:"user_id"`
	APIKey     string `json:"api_key"`
	Permission string `json:"permission"`
}

type checkBuf struct {
	body  bytes.Buffer
	out   []byte
	one   checkItem
	batch struct {
		Checks []checkItem `json:"checks"`
	}
}

var checkPool = sync.Pool{New: func() any { return &checkBuf{out: make([]byte, 0, 256)} }}

// release returns buf to the pool unless a large batch grew it.
func (buf *checkBuf) release() {
	if buf.body.Cap() <= 256<<10 && cap(buf.out) <= 256<<10 {
		checkPool.Put(buf)
	}
}

// Header values shared by every check answer (never modified).
var (
	jsonContentType = []string{"application/json; charset=utf-8"}
	noStore         = []string{"no-store"}
)

// readBody reads the request body (capped at MaxBody) into buf. Errors:
// ETOOLARGE, ETIMEOUT, EINVALID.
func readBody(r *http.Request, buf *bytes.Buffer) error {
	buf.Reset()
	if _, err := buf.ReadFrom(r.Body); err != nil {
		if e := edge.BodyError(err); e != nil {
			return e
		}
		return roster.Errorf(roster.EINVALID, "the request body could not be read")
	}
	return nil
}

// decodeStrict decodes one JSON value, refusing unknown fields and
// trailing data, with the same messages as decode.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		e := roster.Errorf(roster.EINVALID, "the request body is not valid JSON for this request: %s", jsonProblem(err))
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			e.Field = te.Field
		}
		return e
	}
	if len(bytes.TrimSpace(data[dec.InputOffset():])) > 0 {
		return roster.Errorf(roster.EINVALID, "the request body has data after the JSON value")
	}
	return nil
}

// decide answers one check. Errors: EINVALID (for a person: the item's
// fault), anything else is internal.
func (s *Server) decide(r *http.Request, in *checkItem) (authz.Decision, roster.Permission, error) {
	p, ok := roster.ParsePermission(in.Permission)
	if !ok {
		return authz.Decision{}, p, roster.FieldErrorf("permission", roster.EINVALID, "unknown permission %q", in.Permission)
	}
	if in.AccountID == "" || (in.UserID == 0) == (in.APIKey == "") {
		return authz.Decision{}, p, roster.Errorf(roster.EINVALID, "give account_id and exactly one of user_id or api_key")
	}
	var d authz.Decision
	var err error
	if in.APIKey != "" {
		d, err = s.Svc.CheckKey(r.Context(), in.AccountID, in.APIKey, p)
	} else {
		d, err = s.Svc.CheckUser(r.Context(), in.AccountID, in.UserID, p)
	}
	return d, p, err
}

// rolesWithJSON holds, for each permission, the answer's
// `,"roles_with_permission":[...]` part, written when the reason is
// missing_permission (built once, so a check allocates nothing for it).
var rolesWithJSON = func() [roster.AnyMember][]byte {
	var out [roster.AnyMember][]byte
	for _, p := range roster.AllPermissions {
		b := []byte(`,"roles_with_permission":[`)
		for i, r := range authz.RolesWith(p) {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, r.String())
		}
		out[p] = append(b, ']')
	}
	return out
}()

// appendDecision writes {"allowed":...,"role":...,"reason":...}, and
// "roles_with_permission" (the roles holding p) when the reason is
// missing_permission.
func appendDecision(b []byte, d authz.Decision, p roster.Permission) []byte {
	b = append(b, `{"allowed":`...)
	b = strconv.AppendBool(b, d.Allowed)
	b = append(b, `,"role":"`...)
	if d.Role != roster.RoleNone {
		b = append(b, d.Role.String()...)
	}
	b = append(b, `","reason":"`...)
	b = append(b, d.Reason.String()...)
	b = append(b, '"')
	if d.Reason == authz.ReasonMissingPermission && int(p) < len(rolesWithJSON) {
		b = append(b, rolesWithJSON[p]...)
	}
	return append(b, '}')
}

func writeRaw(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Cache-Control"] = noStore
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// check is POST /v1/authz/check {account_id, user_id | api_key,
// permission} -> {allowed, role, reason[, roles_with_permission]}.
func (s *Server) check(w http.ResponseWriter, r *http.Request, _ *Caller) error {
	buf := checkPool.Get().(*checkBuf)
	defer buf.release()
	if err := readBody(r, &buf.body); err != nil {
		return err
	}
	buf.one = checkItem{}
	if err := decodeStrict(buf.body.Bytes(), &buf.one); err != nil {
		return err
	}
	if err := s.Svc.Fresh(); err != nil {
		return err
	}
	d, p, err := s.decide(r, &buf.one)
	if err != nil {
		return err
	}
	buf.out = append(appendDecision(buf.out[:0], d, p), '\n')
	writeRaw(w, buf.out)
	return nil
}

// MaxBatch is the most checks in one batch.
const MaxBatch = 1000

// checkBatch is POST /v1/authz/check-batch {"checks": [item, ...]} (1 to
// MaxBatch items) -> {"results": [{allowed, role, reason}, ...]} in order.
// One bad item refuses the whole batch with 400 naming it (checks[3]: ...).
func (s *Server) checkBatch(w http.ResponseWriter, r *http.Request, _ *Caller) error {
	buf := checkPool.Get().(*checkBuf)
	defer buf.release()
	if err := readBody(r, &buf.body); err != nil {
		return err
	}
	// encoding/json decodes an array into the slice's reused elements
	// without zeroing them: clear what an earlier batch left, or a field
	// this batch's item omits would keep its value.
	clear(buf.batch.Checks[:cap(buf.batch.Checks)])
	buf.batch.Checks = buf.batch.Checks[:0]
	if err := decodeStrict(buf.body.Bytes(), &buf.batch); err != nil {
		return err
	}
	items := buf.batch.Checks
	if len(items) == 0 || len(items) > MaxBatch {
		return roster.FieldErrorf("checks", roster.EINVALID, "checks must hold 1 to %d checks, not %d", MaxBatch, len(items))
	}
	if err := s.Svc.Fresh(); err != nil {
		return err
	}
	out := append(buf.out[:0], `{"results":[`...)
	for i := range items {
		d, p, err := s.decide(r, &items[i])
		if err != nil {
			if roster.ErrorCode(err) == roster.EINVALID {
				return roster.FieldErrorf("checks["+strconv.Itoa(i)+"]", roster.EINVALID, "checks[%d]: %s", i, roster.ErrorMessage(err))
			}
			return err
		}
		if i > 0 {
			out = append(out, ',')
		}
		out = appendDecision(out, d, p)
	}
	buf.out = append(out, "]}\n"...)
	writeRaw(w, buf.out)
	return nil
}
