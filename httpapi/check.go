package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/service"
)

// The permission check over HTTP: the platform's hot path. A request is
// read into a pooled buffer and decoded into a pooled value (the plain
// form by fastCheck and fastBatch, anything else by encoding/json), and
// the answer is written without an encoder, so a check allocates little
// beyond what net/http itself does.

// checkItem is one check as JSON: an account, a user or personal API key,
// and a permission. It converts to service.CheckRequest (same fields), so
// the service validates and answers it.
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
	reqs    []service.CheckRequest // the batch's items, for the service
	results []service.CheckResult  // the batch's answers
}

var checkPool = sync.Pool{New: func() any { return &checkBuf{out: make([]byte, 0, 256)} }}

// release returns buf to the pool unless a large batch grew it.
func (buf *checkBuf) release() {
	if buf.body.Cap() <= 256<<10 && cap(buf.out) <= 256<<10 && cap(buf.reqs) <= MaxBatch {
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
		return roster.Errorf(roster.EINVALID, "The request body could not be read")
	}
	return nil
}

// decodeStrict decodes one JSON value, refusing unknown fields and
// trailing data, with the same messages as decode.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		e := roster.Errorf(roster.EINVALID, "The request body is not valid JSON for this request: %s", jsonProblem(err))
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			e.Field = te.Field
		}
		return e
	}
	if len(bytes.TrimSpace(data[dec.InputOffset():])) > 0 {
		return roster.Errorf(roster.EINVALID, "The request body has data after the JSON value")
	}
	return nil
}

// rolesWithJSON holds, for each permission, the answer's
// `,"roles_with_permission":[...]` part, written when the reason is
// missing_permission (built once, so a check allocates nothing for it).
var rolesWithJSON = func() [roster.AnyMember][]byte {
	var out [roster.AnyMember][]byte
	for _, p := range roster.AllPermissions {
		b := []byte(`,"roles_with_permission":[`)
		for i, r := range service.RolesWith(p) {
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
// "roles_with_permission" (the roles holding the permission asked) when
// the reason is missing_permission.
func appendDecision(b []byte, d service.CheckResult) []byte {
	b = append(b, `{"allowed":`...)
	b = strconv.AppendBool(b, d.Allowed)
	b = append(b, `,"role":"`...)
	if d.Role != roster.RoleNone {
		b = append(b, d.Role.String()...)
	}
	b = append(b, `","reason":"`...)
	b = append(b, d.Reason()...)
	b = append(b, '"')
	if d.MissingPermission() && int(d.Permission) < len(rolesWithJSON) {
		b = append(b, rolesWithJSON[d.Permission]...)
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
	if !fastCheck(buf.body.Bytes(), &buf.one) {
		buf.one = checkItem{}
		if err := decodeStrict(buf.body.Bytes(), &buf.one); err != nil {
			return err
		}
	}
	// The revision was waited for before the body was read (wrap), as
	// for every service route: 0 here.
	d, err := s.Svc.Check(r.Context(), 0, service.CheckRequest(buf.one))
	if err != nil {
		return err
	}
	buf.out = append(appendDecision(buf.out[:0], d), '\n')
	writeRaw(w, buf.out)
	return nil
}

// MaxBatch is the most checks in one batch (service.MaxBatch).
const MaxBatch = service.MaxBatch

// checkBatch is POST /v1/authz/check-batch {"checks": [item, ...]} (1 to
// MaxBatch items) -> {"results": [{allowed, role, reason}, ...]} in order.
// One bad item refuses the whole batch with 400 naming it (checks[3]: ...).
func (s *Server) checkBatch(w http.ResponseWriter, r *http.Request, _ *Caller) error {
	buf := checkPool.Get().(*checkBuf)
	defer buf.release()
	if err := readBody(r, &buf.body); err != nil {
		return err
	}
	var ok bool
	if buf.batch.Checks, ok = fastBatch(buf.body.Bytes(), buf.batch.Checks[:0]); !ok {
		// encoding/json decodes an array into the slice's reused elements
		// without zeroing them: clear what an earlier batch left, or a
		// field this batch's item omits would keep its value.
		clear(buf.batch.Checks[:cap(buf.batch.Checks)])
		buf.batch.Checks = buf.batch.Checks[:0]
		if err := decodeStrict(buf.body.Bytes(), &buf.batch); err != nil {
			return err
		}
	}
	buf.reqs = buf.reqs[:0]
	for i := range buf.batch.Checks {
		buf.reqs = append(buf.reqs, service.CheckRequest(buf.batch.Checks[i]))
	}
	results, err := s.Svc.CheckBatch(r.Context(), 0, buf.reqs, buf.results[:0])
	buf.results = results
	if err != nil {
		return err
	}
	out := append(buf.out[:0], `{"results":[`...)
	for i := range results {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendDecision(out, results[i])
	}
	buf.out = append(out, "]}\n"...)
	writeRaw(w, buf.out)
	return nil
}
