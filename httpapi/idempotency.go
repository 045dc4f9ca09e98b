package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/service"
)

// IdempotencyHeader carries an Idempotency-Key (docs/api.md): a retry of a
// POST with the same key and the same request within 24 hours answers the
// first answer again, with ReplayedHeader, and does nothing.
const IdempotencyHeader = service.IdempotencyHeader

// ReplayedHeader marks an answer sent again for an Idempotency-Key.
const ReplayedHeader = "Idempotent-Replayed"

// questions are the POST routes that change nothing: the check asks, so
// its answer is always today's, and an Idempotency-Key is ignored there.
var questions = map[string]bool{
	"POST /v1/authz/check":       true,
	"POST /v1/authz/check-batch": true,
}

// takesIdempotencyKey reports whether the route honours an Idempotency-Key:
// every POST but the questions.
func takesIdempotencyKey(rt Route) bool {
	return strings.HasPrefix(rt.Pattern, "POST ") && !questions[rt.Pattern]
}

// keptHeaders are the headers of an answer that a replay sends again.
var keptHeaders = []string{"Content-Type", "Cache-Control", "Location", "Set-Cookie", RevisionHeader}

// idempotencyScope names the caller whose keys these are: the gate's
// caller (a user, an API key, an account's credentials), else the token
// or, on a public route, the client's address.
func idempotencyScope(rt Route, c *Caller) string {
	if c != nil {
		if sc, ok := c.IdempotencyScope(); ok {
			return sc
		}
	}
	switch rt.Access {
	case Service:
		return "service"
	case Operator:
		return "operator"
	}
	return "client:" + c.IP
}

// handleIdempotent runs the route's handler under the request's
// Idempotency-Key, when it presents one: it claims the key, runs the
// handler with an answer recorded, stores the answer (not a 5xx or a 429,
// which are no answers: the key is released) and only then sends it; a
// retry of an answered key gets the stored answer. rev is the revision
// the handler's writes made (nil where none is kept).
func (s *Server) handleIdempotent(w http.ResponseWriter, r *http.Request, rt Route, c *Caller, rev *atomic.Int64) error {
	keys := r.Header.Values(IdempotencyHeader)
	if len(keys) == 0 {
		return rt.handle(w, r, c)
	}
	if len(keys) > 1 {
		return roster.FieldErrorf(IdempotencyHeader, roster.EINVALID, "Send one Idempotency-Key header, not %d", len(keys))
	}
	if err := service.CheckIdempotencyKey(keys[0]); err != nil {
		return err
	}
	body, err := io.ReadAll(r.Body)
	if e := edge.BodyError(err); e != nil {
		return e
	} else if err != nil {
		return roster.Errorf(roster.EINVALID, "The request body could not be read")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	ctx, held, replay, err := s.Svc.ClaimIdempotencyKey(r.Context(), idempotencyScope(rt, c), keys[0], requestPrint(r, body))
	if err != nil {
		return err
	}
	if held == nil {
		return writeReplay(w, replay)
	}
	rec := &recorder{header: http.Header{}}
	if err := rt.handle(rec, r.WithContext(ctx), c); err != nil {
		writeError(rec, s.Log, err)
	}
	if rev != nil && rev.Load() > 0 {
		rec.header.Set(RevisionHeader, strconv.FormatInt(rev.Load(), 10))
	}
	// The client may be gone (that is why it will retry): what is kept
	// does not depend on its connection.
	keep, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if rec.code() >= 500 || rec.code() == http.StatusTooManyRequests {
		if err := held.Release(keep); err != nil {
			s.Log.Warn("release an idempotency key", "err", err)
		}
	} else if err := held.Answer(keep, rec.stored()); err != nil {
		// The work is done and marked so: a retry learns that the answer
		// was lost, and never does it again.
		s.Log.Warn("keep an idempotent answer", "err", err)
	}
	rec.sendTo(w)
	return nil
}

// requestPrint is what an Idempotency-Key's request is recognised by: the
// method, the path with its query, and the body.
func requestPrint(r *http.Request, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(r.URL.RequestURI())
	b.WriteByte('\n')
	b.Write(body)
	return b.Bytes()
}

// storedAnswer is an answer as kept for replays (sealed by the service).
type storedAnswer struct {
	Status int         `json:"status"`
	Header http.Header `json:"header"`
	Body   []byte      `json:"body"`
}

// writeReplay sends a stored answer again.
func writeReplay(w http.ResponseWriter, stored []byte) error {
	var a storedAnswer
	if err := json.Unmarshal(stored, &a); err != nil {
		return err
	}
	for k, vs := range a.Header {
		w.Header()[k] = vs
	}
	w.Header().Set(ReplayedHeader, "true")
	w.WriteHeader(a.Status)
	w.Write(a.Body)
	return nil
}

// recorder holds a handler's answer until it is kept.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (rec *recorder) Header() http.Header { return rec.header }

func (rec *recorder) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
	}
}

func (rec *recorder) Write(b []byte) (int, error) {
	rec.WriteHeader(http.StatusOK)
	return rec.body.Write(b)
}

// code is the answer's status (200 when the handler wrote none).
func (rec *recorder) code() int {
	if rec.status == 0 {
		return http.StatusOK
	}
	return rec.status
}

// stored is the answer as kept: its status, the headers a replay needs,
// its body.
func (rec *recorder) stored() []byte {
	a := storedAnswer{Status: rec.code(), Header: http.Header{}, Body: rec.body.Bytes()}
	for _, k := range keptHeaders {
		if vs := rec.header.Values(k); len(vs) > 0 {
			a.Header[k] = vs
		}
	}
	b, _ := json.Marshal(a) // a status, strings and bytes always encode
	return b
}

func (rec *recorder) sendTo(w http.ResponseWriter) {
	for k, vs := range rec.header {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.code())
	w.Write(rec.body.Bytes())
}
