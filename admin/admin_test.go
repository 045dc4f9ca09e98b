package admin_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/admin"
	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/server/servertest"
)

// get answers GET url: status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// metric returns the value of the sample whose name and labels are
// exactly series (e.g. `roster_login_failures_total` or
// `roster_authz_decisions_total{reason="allowed"}`), and whether it is there.
func metric(t *testing.T, text, series string) (float64, bool) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("%s: %v", series, err)
	}
	return v, true
}

func mustMetric(t *testing.T, text, series string) float64 {
	t.Helper()
	v, ok := metric(t, text, series)
	if !ok {
		t.Fatalf("/metrics has no %s", series)
	}
	return v
}

func TestAdmin(t *testing.T) {
	env := servertest.New(t)
	catchUp := time.Now().Add(-3 * time.Second)
	a := admin.New(admin.Options{Service: env.Server.Service,
		LastCatchUp: func() time.Time { return catchUp }})
	hs := httptest.NewServer(a.Handler())
	defer hs.Close()

	if st, body := get(t, hs.URL+"/livez"); st != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("/livez: %d %q", st, body)
	}
	if st, body := get(t, hs.URL+"/readyz"); st != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("/readyz: %d %q", st, body)
	}

	// The public handler behind RequestLog reporting to the admin, as
	// cmd/roster wires it.
	public := httptest.NewServer(edge.RequestLog(nil, a.ObserveRequest)(env.Server.Handler))
	defer public.Close()
	if st, _ := get(t, public.URL+"/v1/me"); st != 401 {
		t.Errorf("GET /v1/me without a session: %d", st)
	}
	if st, _ := get(t, public.URL+"/invite/SomeSecretInvitationToken0123"); st != 410 {
		t.Errorf("GET /invite/ with an unknown token: %d", st)
	}
	get(t, public.URL+"/no/such/page/tok3n")

	a.ObserveDecision("allowed")
	a.ObserveDecision("allowed")
	a.ObserveDecision("missing_permission")
	a.ObserveDecision("no such reason " + strconv.Itoa(7)) // counted as other
	a.ObserveCheck(3 * time.Microsecond)
	a.ObserveAuthz("not_member", 2*time.Microsecond)
	a.ObservePropagation(3 * time.Millisecond)

	_, before := get(t, hs.URL+"/metrics")
	for _, name := range []string{
		"roster_http_requests_total", "roster_http_request_duration_seconds",
		"roster_authz_decisions_total", "roster_authz_check_duration_seconds",
		"roster_index_revision", "roster_replication_lag_seconds", "roster_index_propagation_seconds",
		"roster_index_catch_ups_total", "roster_login_failures_total", "roster_login_throttled_total", "roster_hash_busy_total",
		"roster_mails_suppressed_total", "roster_password_hashes_total",
		"roster_signups_throttled_total", "roster_password_resets_throttled_total", "roster_password_resets_queued_total",
		"roster_password_resets_done_total", "roster_password_reset_queue_full_total",
		"roster_mail_sent_total", "roster_mail_failed_total", "roster_mail_given_up_total", "roster_mail_queued",
		"roster_db_open_connections", "roster_db_in_use", "roster_db_idle", "roster_db_wait_count_total",
		// the Go runtime and the process
		"go_goroutines", "go_memstats_heap_alloc_bytes", "go_gc_duration_seconds", "go_info",
		"process_resident_memory_bytes", "process_open_fds", "process_cpu_seconds_total",
	} {
		if !strings.Contains(before, "\n# TYPE "+name+" ") {
			t.Errorf("/metrics has no %s", name)
		}
	}
	for series, want := range map[string]float64{
		`roster_http_requests_total{method="GET",route="GET /v1/me",status="401"}`:          1,
		`roster_http_requests_total{method="GET",route="GET /invite/{token}",status="410"}`: 1, // an unknown invitation is gone
		`roster_http_requests_total{method="GET",route="unmatched",status="404"}`:           1,
		`roster_http_request_duration_seconds_count{route="GET /v1/me"}`:                    1,
		`roster_authz_decisions_total{reason="allowed"}`:                                    2,
		`roster_authz_decisions_total{reason="missing_permission"}`:                         1,
		`roster_authz_decisions_total{reason="not_member"}`:                                 1,
		`roster_authz_decisions_total{reason="suspended"}`:                                  0,
		`roster_authz_decisions_total{reason="mfa_required"}`:                               0,
		`roster_authz_decisions_total{reason="stale"}`:                                      0,
		`roster_authz_decisions_total{reason="other"}`:                                      1,
		`roster_authz_check_duration_seconds_count`:                                         2,
		`roster_authz_check_duration_seconds_bucket{le="4e-06"}`:                            2,
		`roster_index_revision`:                                                             float64(env.Server.Service.Revision()),
		`roster_index_propagation_seconds_count`:                                            1,
		`roster_index_propagation_seconds_bucket{le="0.002"}`:                               0,
		`roster_index_propagation_seconds_bucket{le="0.004"}`:                               1,
		`roster_db_wait_count_total`:                                                        float64(env.Server.DB.SQL().Stats().WaitCount),
		`roster_mails_suppressed_total`:                                                     0,
		`roster_hash_busy_total`:                                                            0,
		`roster_mail_failed_total`:                                                          0,
		`roster_mail_given_up_total`:                                                        0,
	} {
		if got := mustMetric(t, before, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if strings.Contains(before, "SomeSecretInvitationToken") || strings.Contains(before, "tok3n") {
		t.Errorf("a raw path became a label")
	}
	if lag := mustMetric(t, before, "roster_replication_lag_seconds"); lag < 3 || lag > 60 {
		t.Errorf("replication lag %v, want about 3 s", lag)
	}
	if n := mustMetric(t, before, "roster_db_open_connections"); n < 1 {
		t.Errorf("open connections %v", n)
	}

	// A failed login on the real server counts.
	failures := mustMetric(t, before, "roster_login_failures_total")
	env.Client(t).Refused(401, "unauthenticated", "POST", "/v1/login",
		map[string]string{"email": "nobody@acme-corp.com", "password": "not the password 123"})
	_, after := get(t, hs.URL+"/metrics")
	if got := mustMetric(t, after, "roster_login_failures_total"); got != failures+1 {
		t.Errorf("login failures %v -> %v, want one more", failures, got)
	}
	if got := mustMetric(t, after, "roster_password_hashes_total"); got < 1 {
		t.Errorf("password hashes %v", got)
	}

	// The profiler answers here, and only here.
	if st, body := get(t, hs.URL+"/debug/pprof/"); st != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/: %d", st)
	}
	if st, body := get(t, hs.URL+"/debug/pprof/goroutine?debug=1"); st != 200 || !strings.Contains(body, "goroutine profile") {
		t.Errorf("/debug/pprof/goroutine: %d", st)
	}
	if st, _ := get(t, hs.URL+"/debug/pprof/cmdline"); st != 200 {
		t.Errorf("/debug/pprof/cmdline: %d", st)
	}
	for _, p := range []string{"/debug/pprof/", "/metrics", "/livez", "/readyz"} {
		if st, _ := get(t, env.URL+p); st == 200 {
			t.Errorf("the public listener answers %s", p)
		}
	}

	// Without the LastCatchUp option the lag gauge comes from the
	// service's own LastCatchUp method, and is left out while it has none.
	_, hasMethod := any(env.Server.Service).(interface{ LastCatchUp() time.Time })
	mfs, err := admin.New(admin.Options{Service: env.Server.Service}).Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		found = found || mf.GetName() == "roster_replication_lag_seconds"
	}
	if found != hasMethod {
		t.Errorf("lag gauge exported %v, service has LastCatchUp %v", found, hasMethod)
	}
}

// TestAdminNotReady: with its database gone, a replica is alive but not
// ready, and says why.
func TestAdminNotReady(t *testing.T) {
	env := servertest.New(t)
	var logs lockedBuffer
	a := admin.New(admin.Options{Service: env.Server.Service,
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	hs := httptest.NewServer(a.Handler())
	defer hs.Close()
	if st, _ := get(t, hs.URL+"/readyz"); st != 200 {
		t.Fatalf("/readyz before: %d", st)
	}
	if err := env.Server.DB.SQL().Close(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		st, body := get(t, hs.URL+"/readyz")
		if st != 503 || !strings.Contains(body, "database did not answer a ping within 1s") {
			t.Errorf("/readyz with the database closed: %d %q", st, body)
		}
	}
	if st, _ := get(t, hs.URL+"/livez"); st != 200 {
		t.Errorf("/livez with the database closed: %d", st)
	}
	if n := strings.Count(logs.String(), "not ready"); n != 1 {
		t.Errorf("%d \"not ready\" log lines for 3 probes, want 1:\n%s", n, logs.String())
	}
	// /metrics still answers: the pool's numbers come from memory.
	if st, body := get(t, hs.URL+"/metrics"); st != 200 || !strings.Contains(body, "roster_db_open_connections") {
		t.Errorf("/metrics with the database closed: %d", st)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAdminDrain: once a shutdown starts (Server.Drain), /readyz on the
// admin listener and /healthz on the public one answer 503 at once, and
// nothing else changes: the public routes still answer, /livez too.
func TestAdminDrain(t *testing.T) {
	env := servertest.New(t)
	adm := httptest.NewServer(env.Server.Admin.Handler())
	defer adm.Close()
	if st, _ := get(t, adm.URL+"/readyz"); st != 200 {
		t.Fatalf("/readyz before: %d", st)
	}
	if st, _ := get(t, env.URL+"/healthz"); st != 200 {
		t.Fatalf("/healthz before: %d", st)
	}
	env.Server.Drain()
	if st, body := get(t, adm.URL+"/readyz"); st != 503 || !strings.Contains(body, "shutting down") {
		t.Errorf("/readyz while draining: %d %q, want 503 shutting down", st, body)
	}
	if st, body := get(t, env.URL+"/healthz"); st != 503 || !strings.Contains(body, "shutting down") {
		t.Errorf("/healthz while draining: %d %q, want 503 shutting down", st, body)
	}
	if st, _ := get(t, adm.URL+"/livez"); st != 200 {
		t.Errorf("/livez while draining: %d", st)
	}
	if st, _ := get(t, env.URL+"/v1/me"); st != 401 {
		t.Errorf("/v1/me while draining: %d, want 401 (still served)", st)
	}
	if !env.Server.Admin.Draining() {
		t.Error("Draining() is false after Drain")
	}
}

// roster_build_info is 1, labelled with the binary's version, revision
// and Go version.
func TestMetrics_BuildInfo(t *testing.T) {
	srv := httptest.NewServer(admin.New(admin.Options{}).Handler())
	defer srv.Close()
	_, body := get(t, srv.URL+"/metrics")
	b := admin.ReadBuild()
	if b.GoVersion != runtime.Version() || b.Version == "" {
		t.Errorf("build %+v", b)
	}
	series := `roster_build_info{go_version="` + runtime.Version() + `",revision="` + b.RevisionLabel() + `",version="` + b.Version + `"}`
	if v := mustMetric(t, body, series); v != 1 {
		t.Errorf("%s = %v, want 1", series, v)
	}
	if !strings.Contains(body, "# TYPE roster_build_info gauge") {
		t.Error("roster_build_info is not a gauge")
	}
}
