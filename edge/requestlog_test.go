package edge_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/edge"
)

// logBuf collects log lines from the server's goroutines.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the JSON log lines.
func (b *logBuf) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

type observed struct {
	route, method string
	status        int
	d             time.Duration
}

type recorder struct {
	mu  sync.Mutex
	obs []observed
}

func (o *recorder) observe(route, method string, status int, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.obs = append(o.obs, observed{route, method, status, d})
}

func (o *recorder) all() []observed {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]observed(nil), o.obs...)
}

// setup returns a real ServeMux behind RequestLog (and Headers, as the
// server stacks them), the log and the observations.
func setup(t *testing.T) (http.Handler, *http.ServeMux, *logBuf, *recorder) {
	t.Helper()
	mux := http.NewServeMux()
	lb := &logBuf{}
	rec := &recorder{}
	log := slog.New(slog.NewJSONHandler(lb, nil))
	return edge.RequestLog(log, rec.observe)(edge.Headers(mux)), mux, lb, rec
}

var hexID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestRequestLogRoutePatternNotPath(t *testing.T) {
	h, mux, lb, rec := setup(t)
	mux.HandleFunc("POST /invite/{token}", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "welcome")
	})
	const (
		token    = "tok3nS3cretValue0123456789"
		cookie   = "c00kieS3cretValue"
		password = "hunter2-correct-horse"
	)
	req := httptest.NewRequest("POST", "/invite/"+token+"?password="+password+"&next=/x",
		strings.NewReader(`{"password":"`+password+`"}`))
	req.Header.Set("Cookie", edge.CookieName+"="+cookie)
	req.Header.Set("Authorization", "Bearer "+password)
	req.Header.Set("User-Agent", "agent-"+password)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusCreated {
		t.Fatalf("status %d", w.Code)
	}

	raw := lb.String()
	for _, secret := range []string{token, cookie, password, "/invite/t", "next=", "Bearer"} {
		if strings.Contains(raw, secret) {
			t.Errorf("log holds %q: %s", secret, raw)
		}
	}
	lines := lb.lines(t)
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1: %s", len(lines), raw)
	}
	l := lines[0]
	if l["msg"] != "request" || l["route"] != "POST /invite/{token}" || l["method"] != "POST" || l["status"] != float64(201) {
		t.Errorf("log line %v", l)
	}
	if _, ok := l["duration_ms"].(float64); !ok {
		t.Errorf("duration_ms missing: %v", l)
	}
	id, _ := l["request_id"].(string)
	if !hexID.MatchString(id) || w.Header().Get("X-Request-Id") != id {
		t.Errorf("request_id %q, header %q", id, w.Header().Get("X-Request-Id"))
	}
	// Exactly these keys: nothing else about the request is logged.
	for k := range l {
		switch k {
		case "time", "level", "msg", "method", "route", "status", "duration_ms", "request_id":
		default:
			t.Errorf("unexpected log key %q", k)
		}
	}
	obs := rec.all()
	if len(obs) != 1 || obs[0].route != "POST /invite/{token}" || obs[0].method != "POST" || obs[0].status != 201 || obs[0].d <= 0 {
		t.Errorf("observed %+v", obs)
	}
	// Headers still ran: the token page gets no-referrer.
	if w.Header().Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("Referrer-Policy %q", w.Header().Get("Referrer-Policy"))
	}
}

func TestRequestLogRequestID(t *testing.T) {
	h, mux, lb, _ := setup(t)
	var seen []string
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, edge.RequestID(r.Context()))
	})
	get := func(id string, set bool) string {
		req := httptest.NewRequest("GET", "/ping", nil)
		if set {
			req.Header.Set("X-Request-Id", id)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Header().Get("X-Request-Id")
	}

	for _, good := range []string{"a", "abc.DEF_123-x", strings.Repeat("Z", 64), "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"} {
		if got := get(good, true); got != good {
			t.Errorf("request ID %q answered as %q", good, got)
		}
	}
	made := map[string]bool{}
	for _, bad := range []string{"", strings.Repeat("Z", 65), "has space", `quote"d`, "new\nline", "semi;colon", "slash/y", "ünïcode", "a=b"} {
		got := get(bad, bad != "")
		if !hexID.MatchString(got) || made[got] {
			t.Errorf("request ID %q answered as %q: want a new 128-bit hex ID", bad, got)
		}
		made[got] = true
	}
	if got := get("", false); !hexID.MatchString(got) || made[got] {
		t.Errorf("no request ID answered as %q", got)
	}

	lines := lb.lines(t)
	if len(lines) != len(seen) || len(seen) != 4+9+1 {
		t.Fatalf("%d log lines, %d requests", len(lines), len(seen))
	}
	for i, l := range lines {
		if l["request_id"] != seen[i] {
			t.Errorf("line %d: request_id %v, handler saw %q", i, l["request_id"], seen[i])
		}
	}
	if strings.Contains(lb.String(), "has space") || strings.Contains(lb.String(), "ünïcode") {
		t.Errorf("a refused request ID reached the log: %s", lb.String())
	}
}

func TestRequestLogStatus(t *testing.T) {
	h, mux, lb, rec := setup(t)
	mux.HandleFunc("GET /teapot", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		w.WriteHeader(http.StatusOK) // superfluous: the first one counts
	})
	mux.HandleFunc("GET /implicit", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") })
	mux.HandleFunc("GET /empty", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /hints", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("GET /error", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broken", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("GET /accounts/{id}/team", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/dir/", func(w http.ResponseWriter, r *http.Request) {})

	cases := []struct {
		method, path string
		route        string
		method2      string
		status       int
	}{
		{"GET", "/teapot", "GET /teapot", "GET", 418},
		{"GET", "/implicit", "GET /implicit", "GET", 200},
		{"GET", "/empty", "GET /empty", "GET", 200},
		{"GET", "/hints", "GET /hints", "GET", 202},
		{"GET", "/error", "GET /error", "GET", 503},
		{"HEAD", "/implicit", "GET /implicit", "HEAD", 200},
		{"GET", "/accounts/MA0123456789/team", "GET /accounts/{id}/team", "GET", 200},
		{"GET", "/nowhere/secret-token", "unmatched", "GET", 404},
		{"POST", "/teapot", "unmatched", "POST", 405},
		{"BREW", "/dir/x", "/dir/", "other", 200},
		{"GET", "/dir", "/dir/", "GET", 307}, // the mux's redirect to /dir/
	}
	for _, c := range cases {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(c.method, c.path, nil))
		if w.Code != c.status && c.path != "/hints" { // the recorder keeps the 103
			t.Errorf("%s %s: recorder status %d, want %d", c.method, c.path, w.Code, c.status)
		}
	}
	lines := lb.lines(t)
	obs := rec.all()
	if len(lines) != len(cases) || len(obs) != len(cases) {
		t.Fatalf("%d lines, %d observations, %d requests", len(lines), len(obs), len(cases))
	}
	for i, c := range cases {
		l := lines[i]
		if l["route"] != c.route || l["method"] != c.method2 || l["status"] != float64(c.status) {
			t.Errorf("%s %s: logged %v, want route %q method %q status %d", c.method, c.path, l, c.route, c.method2, c.status)
		}
		if o := obs[i]; o.route != c.route || o.method != c.method2 || o.status != c.status {
			t.Errorf("%s %s: observed %+v", c.method, c.path, o)
		}
	}
	if strings.Contains(lb.String(), "secret-token") || strings.Contains(lb.String(), "MA0123456789") {
		t.Errorf("a path reached the log: %s", lb.String())
	}
}

// TestRequestLogRealServer runs over a real connection: streaming through
// http.Flusher, deadlines through http.ResponseController (Unwrap), and a
// panicking handler still logged.
func TestRequestLogRealServer(t *testing.T) {
	h, mux, lb, rec := setup(t)
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Errorf("SetWriteDeadline through the wrapper: %v", err)
		}
		f, ok := w.(http.Flusher)
		if !ok {
			t.Errorf("the wrapper hides http.Flusher")
			return
		}
		for i := 0; i < 3; i++ {
			io.WriteString(w, "tick\n")
			f.Flush()
		}
	})
	mux.HandleFunc("POST /panic", func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	})
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
		t.Errorf("transfer encoding %v: the flushes did not stream", resp.TransferEncoding)
	}
	n := 0
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); n++ {
	}
	resp.Body.Close()
	if n != 3 || resp.StatusCode != 200 {
		t.Errorf("status %d, %d lines", resp.StatusCode, n)
	}

	// POST: a client retries an idempotent request on a dropped connection.
	if _, err := http.Post(srv.URL+"/panic", "text/plain", nil); err == nil {
		t.Errorf("the panicking handler answered")
	} else if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "EOF") {
		t.Logf("panic: %v", err)
	}

	// The server logs after the handler returns: wait for both lines.
	deadline := time.Now().Add(5 * time.Second)
	for len(rec.all()) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	obs := rec.all()
	if len(obs) != 2 {
		t.Fatalf("observed %+v", obs)
	}
	byRoute := map[string]int{}
	for _, o := range obs {
		byRoute[o.route] = o.status
	}
	if byRoute["GET /stream"] != 200 || byRoute["POST /panic"] != 500 {
		t.Errorf("observed %+v", obs)
	}
	if got := len(lb.lines(t)); got != 2 {
		t.Errorf("%d log lines: %s", got, lb.String())
	}
}

func TestRequestLogNilObserveAndLogger(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) {})
	w := httptest.NewRecorder()
	edge.RequestLog(nil, nil)(mux).ServeHTTP(w, httptest.NewRequest("GET", "/x", nil))
	if w.Code != 200 || !hexID.MatchString(w.Header().Get("X-Request-Id")) {
		t.Errorf("status %d, request ID %q", w.Code, w.Header().Get("X-Request-Id"))
	}
}

// TestRequestLogNested: a RequestLog inside another leaves the logging
// (and the pattern) to the outer one.
func TestRequestLogNested(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /accounts/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	outerLog, innerLog := &logBuf{}, &logBuf{}
	outer, inner := &recorder{}, &recorder{}
	h := edge.RequestLog(slog.New(slog.NewJSONHandler(outerLog, nil)), outer.observe)(
		edge.RequestLog(slog.New(slog.NewJSONHandler(innerLog, nil)), inner.observe)(mux))
	w := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/accounts/MA42", nil)
	req.Header.Set("X-Request-Id", "outer-1")
	h.ServeHTTP(w, req)
	if o := outer.all(); len(o) != 1 || o[0].route != "GET /accounts/{id}" || o[0].status != 204 {
		t.Errorf("outer observed %+v", o)
	}
	if len(inner.all()) != 0 || innerLog.String() != "" {
		t.Errorf("inner logged %q", innerLog.String())
	}
	if w.Header().Get("X-Request-Id") != "outer-1" {
		t.Errorf("request ID %q", w.Header().Get("X-Request-Id"))
	}
}
