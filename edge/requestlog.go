package edge

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// RequestIDHeader carries a request's ID in and out.
const RequestIDHeader = "X-Request-Id"

type requestIDKey struct{}

// RequestID returns the ID RequestLog gave the request, "" outside it.
func RequestID(ctx context.Context) string {
	if st, _ := ctx.Value(requestIDKey{}).(*requestState); st != nil {
		return st.id[0]
	}
	return ""
}

// requestState is what RequestLog keeps of one request, in one
// allocation: the writer that remembers the status and the request ID
// (the answer's header value and the context's, a pointer: no boxing).
type requestState struct {
	statusWriter
	id [1]string
}

// RequestLog logs one line per request and reports it to observe (which
// may be nil). The line holds the method, the route (the ServeMux pattern
// that matched, "unmatched" when none: never the path itself, which may
// carry a token, as in /invite/{token}), the status, the duration, the
// request ID and, when the request has one, its trace ID (trace_id: the
// W3C traceparent's, or the one the tracer gave it); never the query,
// headers, cookies or body.
//
// The request ID is the client's X-Request-Id when it is a sane token
// (1-64 of [A-Za-z0-9._-]), else 128 random bits in hex; it is set on the
// answer's X-Request-Id and in the request's context (RequestID).
//
// The pattern is read from the request after the handler returns:
// http.ServeMux sets it on the request it is given, so the mux must get
// the very request RequestLog passes on (middleware between the two must
// not replace it with r.WithContext or r.Clone). A RequestLog inside
// another passes the request through untouched: only the outer one logs.
//
// Successful answers of the quiet routes (the platform's permission
// checks: tens of thousands a second) are logged at debug level only; they
// are still counted by observe, and their refusals are logged as usual.
func RequestLog(log *slog.Logger, observe func(route, method string, status int, d time.Duration), quiet ...string) func(http.Handler) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	quietSet := map[string]bool{}
	for _, q := range quiet {
		quietSet[q] = true
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if RequestID(r.Context()) != "" {
				// Inside another RequestLog: that one logs, and must see
				// the pattern the mux sets on this very request.
				next.ServeHTTP(w, r)
				return
			}
			start := time.Now()
			id := r.Header.Get(RequestIDHeader)
			if !saneRequestID(id) {
				id = newRequestID()
			}
			st := &requestState{statusWriter: statusWriter{ResponseWriter: w}}
			st.id[0] = id
			w.Header()[RequestIDHeader] = st.id[:1:1] // its canonical key; full, so Add copies
			r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, st))
			sw := &st.statusWriter
			done := false
			defer func() {
				if done {
					return
				}
				// The handler panicked (or called runtime.Goexit): net/http
				// closes the connection; log a 500 unless a status was
				// sent, then let the panic go on.
				p := recover()
				status := sw.status
				if status == 0 {
					status = http.StatusInternalServerError
				}
				finish(log, observe, quietSet, r, status, time.Since(start), id)
				if p != nil {
					panic(p)
				}
			}()
			next.ServeHTTP(sw, r)
			done = true
			status := sw.status
			if status == 0 {
				status = http.StatusOK // nothing written: net/http sends 200
			}
			finish(log, observe, quietSet, r, status, time.Since(start), id)
		})
	}
}

func finish(log *slog.Logger, observe func(route, method string, status int, d time.Duration), quiet map[string]bool, r *http.Request, status int, d time.Duration, id string) {
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	method := Method(r.Method)
	level := slog.LevelInfo
	if status < 400 && quiet[route] {
		level = slog.LevelDebug
	}
	ctx := r.Context()
	// The span of the request (otelhttp's, outside this middleware) is
	// named by its route, which only the mux knew.
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		name, path := method+" "+route, route
		if m, p, ok := strings.Cut(route, " "); ok { // "POST /v1/...": a pattern with its method
			name, path = Method(m)+" "+p, p
		}
		span.SetName(name)
		span.SetAttributes(attribute.String("http.route", path))
	}
	attrs := [6]slog.Attr{
		slog.String("method", method),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		slog.String("request_id", id),
	}
	n := 5
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() && log.Enabled(ctx, level) {
		attrs[n] = slog.String("trace_id", sc.TraceID().String())
		n++
	}
	log.LogAttrs(ctx, level, "request", attrs[:n]...)
	if observe != nil {
		observe(route, method, status, d)
	}
}

// Method returns the request method when it is a standard one, else
// "other": what logs and metric labels use, so a client cannot make up
// values without end.
func Method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// saneRequestID reports whether a client's request ID is 1-64 characters
// of [A-Za-z0-9._-], so it can be logged and echoed as it is.
func saneRequestID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// newRequestID returns 128 random bits in hex, from math/rand/v2's
// generator (ChaCha8 per thread): an ID names a request in logs and is no
// secret, and crypto/rand's system call on every request showed in the
// check's profile.
func newRequestID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

// statusWriter remembers the status of the answer. Unwrap lets
// http.ResponseController reach the connection's own writer (deadlines,
// hijacking); Flush is kept for handlers that stream.
type statusWriter struct {
	http.ResponseWriter
	status int // 0 until the header is written
}

func (w *statusWriter) WriteHeader(code int) {
	// 1xx answers (103 Early Hints) precede the real one; 101 is final.
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
