// Package admin is Roster's operator-facing HTTP surface, served on its own
// listener (ROSTER_ADMIN_ADDR, 127.0.0.1:8079 by default), never on the
// public one: Prometheus metrics, liveness and readiness probes, and the Go
// profiler. It reads the service (and through it the database); it
// changes nothing.
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/service"
)

// Options is what the admin surface reads.
type Options struct {
	Service *service.Service // Stats, Revision, Ready, DBStats
	// LastCatchUp returns when the check index last caught up with the
	// database, for roster_replication_lag_seconds. Nil: the service's own
	// LastCatchUp method when it has one; else the gauge is not exported.
	LastCatchUp func() time.Time
	// Log gets a line when readiness changes. Nil: discarded.
	Log *slog.Logger
}

// Admin holds the metrics and serves the admin endpoints.
type Admin struct {
	opts Options
	reg  *prometheus.Registry

	requests      *prometheus.CounterVec   // route, method, status
	requestTime   *prometheus.HistogramVec // route
	series        atomic.Pointer[map[requestKey]requestSeries]
	seriesMu      sync.Mutex
	decisions     *prometheus.CounterVec // reason
	decisionKnown map[string]prometheus.Counter
	decisionOther prometheus.Counter
	checkTime     prometheus.Histogram
	propagation   prometheus.Histogram

	notReady atomic.Bool // the last /readyz answered 503 (for logging changes only)
}

// Decision reasons besides the matrix's: ReasonStale for a check refused
// because the index is stale (service.Fresh), reasonOther for anything
// else a caller passes, so the label's values stay a fixed set.
const (
	ReasonStale = service.ReasonStale
	reasonOther = "other"
)

// New builds the metrics on a registry of their own, with the Go runtime
// and process collectors.
func New(o Options) *Admin {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.LastCatchUp == nil && o.Service != nil {
		if lc, ok := any(o.Service).(interface{ LastCatchUp() time.Time }); ok {
			o.LastCatchUp = lc.LastCatchUp
		}
	}
	a := &Admin{opts: o, reg: prometheus.NewRegistry()}
	a.series.Store(&map[requestKey]requestSeries{})
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	a.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roster_http_requests_total",
		Help: "HTTP requests answered on the public listener, by route pattern, method and status.",
	}, []string{"route", "method", "status"})
	a.requestTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "roster_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request on the public listener, by route pattern.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route"})
	a.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roster_authz_decisions_total",
		Help: "Permission check decisions, by reason (allowed, not_member, suspended, missing_permission, mfa_required, sso_required, deactivated, stale, other).",
	}, []string{"reason"})
	a.decisionKnown = map[string]prometheus.Counter{}
	for _, r := range service.DecisionReasons() { // ReasonStale among them
		a.decisionKnown[r] = a.decisions.WithLabelValues(r)
	}
	a.decisionOther = a.decisions.WithLabelValues(reasonOther)
	a.checkTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "roster_authz_check_duration_seconds",
		Help: "Time to decide one permission check.",
		// The check is answered from memory: 1 µs to about 0.26 s.
		Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10),
	})
	a.propagation = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "roster_index_propagation_seconds",
		Help: "Time from a change's commit (as its writer's clock tells) to its application to this replica's check index: how long a revoked access may still be allowed here.",
		// 0.5 ms to about 8 s.
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 15),
	})
	a.reg.MustRegister(a.requests, a.requestTime, a.decisions, a.checkTime, a.propagation)
	b := ReadBuild()
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "roster_build_info",
		Help: "Always 1: the running binary's version (the module's), revision (the commit, -modified when the checkout had changes) and Go version.",
	}, []string{"version", "revision", "go_version"})
	buildInfo.WithLabelValues(b.Version, b.RevisionLabel(), b.GoVersion).Set(1)
	a.reg.MustRegister(buildInfo)

	if svc := o.Service; svc != nil {
		counter := func(name, help string, v *atomic.Int64) prometheus.Collector {
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
				func() float64 { return float64(v.Load()) })
		}
		a.reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "roster_index_revision",
				Help: "The change-log revision this replica's check index has applied.",
			}, func() float64 { return float64(svc.Revision()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "roster_index_catch_ups_total",
				Help: "Reads of the change log by this replica's follower (woken by commits, at most one a 5 ms gap, or on its timer).",
			}, func() float64 { return float64(svc.CatchUps()) }),
			counter("roster_password_hashes_total", "argon2id computations started.", &svc.Stats.Hashes),
			counter("roster_login_failures_total", "Logins refused for a wrong address, password or second factor.", &svc.Stats.LoginFailures),
			counter("roster_login_throttled_total", "Login attempts refused with 429 by the throttle, before any hashing.", &svc.Stats.LoginThrottled),
			counter("roster_hash_busy_total", "Attempts refused with 503 because every hashing slot was busy.", &svc.Stats.HashBusy),
			counter("roster_mails_suppressed_total", "Identity mails not sent because of the per-address limits.", &svc.Stats.MailSuppressed),
			counter("roster_signups_throttled_total", "Sign-ups refused with 429 by the per-client limit.", &svc.Stats.SignupThrottled),
			counter("roster_sso_starts_throttled_total", "Single sign-on starts refused with 429 by the per-client limit.", &svc.Stats.SSOThrottled),
			counter("roster_password_resets_throttled_total", "Password-reset requests refused with 429 by the per-client or per-address limit.", &svc.Stats.ResetThrottled),
			counter("roster_password_resets_queued_total", "Password-reset requests answered and queued for a worker.", &svc.Stats.ResetsQueued),
			counter("roster_password_resets_done_total", "Queued password-reset requests a worker finished.", &svc.Stats.ResetsDone),
			counter("roster_password_reset_queue_full_total", "Password-reset requests refused with 503: the queue was full.", &svc.Stats.ResetQueueFull),
			counter("roster_mail_sent_total", "Mails this replica's outbox worker handed to the SMTP server (or the log).", &svc.Stats.MailSent),
			counter("roster_mail_failed_total", "Attempts of this replica's outbox worker the SMTP server refused or that failed (each retried with back-off).", &svc.Stats.MailFailed),
			counter("roster_mail_given_up_total", "Mails this replica's outbox worker gave up on: refused for good (a 5xx reply) or still not sent a day after they were written.", &svc.Stats.MailGivenUp),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "roster_mail_queued",
				Help: "Mails in the outbox waiting to be sent, on every replica (NaN when the database does not answer).",
			}, func() float64 {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				n, err := svc.MailQueued(ctx)
				if err != nil {
					return math.NaN()
				}
				return float64(n)
			}),
		)
	}
	if lc := o.LastCatchUp; lc != nil {
		a.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "roster_replication_lag_seconds",
			Help: "Time since the check index last caught up with the database successfully.",
		}, func() float64 {
			t := lc()
			if t.IsZero() {
				return math.NaN()
			}
			return time.Since(t).Seconds()
		}))
	}
	if svc := o.Service; svc != nil {
		pool := svc // DBStats
		gauge := func(name, help string, f func() float64) prometheus.Collector {
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
		}
		a.reg.MustRegister(
			gauge("roster_db_open_connections", "Connections open to the database, in use or idle.",
				func() float64 { return float64(pool.DBStats().OpenConnections) }),
			gauge("roster_db_in_use", "Database connections in use.",
				func() float64 { return float64(pool.DBStats().InUse) }),
			gauge("roster_db_idle", "Idle database connections.",
				func() float64 { return float64(pool.DBStats().Idle) }),
			// Cumulative: a counter, so rate() applies.
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "roster_db_wait_count_total",
				Help: "Times a query waited for a database connection because the pool was at its limit.",
			}, func() float64 { return float64(pool.DBStats().WaitCount) }),
		)
	}
	return a
}

// Registry is the registry /metrics serves, for more collectors.
func (a *Admin) Registry() *prometheus.Registry { return a.reg }

// ObserveRequest counts one answered request: the observe function of
// edge.RequestLog. route is the ServeMux pattern ("unmatched" when none),
// never a raw path, so the label's values stay a fixed set.
//
// The series of each (route, method, status) are looked up once and kept
// (requestSeries), so that a request costs two atomic additions rather
// than hashing its labels on every answer (the permission check's hot
// path).
func (a *Admin) ObserveRequest(route, method string, status int, d time.Duration) {
	k := requestKey{route: route, method: edge.Method(method), status: status}
	m, ok := (*a.series.Load())[k]
	if !ok {
		m = a.addSeries(k)
	}
	m.count.Inc()
	m.time.Observe(d.Seconds())
}

type requestKey struct {
	route, method string
	status        int
}

type requestSeries struct {
	count prometheus.Counter
	time  prometheus.Observer
}

// addSeries adds k's series to the map ObserveRequest reads, copied on
// write: as many entries as the request metrics have series.
func (a *Admin) addSeries(k requestKey) requestSeries {
	a.seriesMu.Lock()
	defer a.seriesMu.Unlock()
	old := *a.series.Load()
	if m, ok := old[k]; ok {
		return m
	}
	m := requestSeries{count: a.requests.WithLabelValues(k.route, k.method, strconv.Itoa(k.status)), time: a.requestTime.WithLabelValues(k.route)}
	next := make(map[requestKey]requestSeries, len(old)+1)
	for key, v := range old {
		next[key] = v
	}
	next[k] = m
	a.series.Store(&next)
	return m
}

// ObservePropagation records how long after its commit a change reached
// this replica's check index (service.SetPropagationHook).
func (a *Admin) ObservePropagation(d time.Duration) { a.propagation.Observe(d.Seconds()) }

// ObserveDecision counts one permission check decision by its reason
// (authz.Reason's String, or ReasonStale; anything else counts as "other").
func (a *Admin) ObserveDecision(reason string) {
	if c, ok := a.decisionKnown[reason]; ok {
		c.Inc()
		return
	}
	a.decisionOther.Inc()
}

// ObserveCheck records how long one permission check took.
func (a *Admin) ObserveCheck(d time.Duration) { a.checkTime.Observe(d.Seconds()) }

// ObserveAuthz is ObserveDecision and ObserveCheck at once: the shape of a
// service hook that reports each decision with its duration.
func (a *Admin) ObserveAuthz(reason string, d time.Duration) {
	a.ObserveDecision(reason)
	a.ObserveCheck(d)
}

// Handler serves /metrics, /livez, /readyz and /debug/pprof/ on a mux of
// its own. (Importing net/http/pprof also registers the profiler on
// http.DefaultServeMux; Roster never serves that mux.) Serve it only on
// the admin listener: it is not authenticated.
func (a *Admin) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		ErrorLog:            slog.NewLogLogger(a.opts.Log.Handler(), slog.LevelWarn),
		MaxRequestsInFlight: 4,
	}))
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.HandleFunc("/debug/pprof/", pprof.Index) // and every named profile: heap, goroutine, allocs, block, mutex, threadcreate
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// Drain marks the process as shutting down (service.Drain): from now on
// the one readiness fails, so /readyz answers 503 (and /healthz and gRPC
// health say so too) and load balancers stop sending it traffic while its
// listeners still serve what they do send. There is no way back.
func (a *Admin) Drain() {
	if a.opts.Service != nil {
		a.opts.Service.Drain()
	}
}

// Draining reports whether Drain was called.
func (a *Admin) Draining() bool { return a.opts.Service != nil && a.opts.Service.Draining() }

// ready is the service's one readiness; nil without a service.
func (a *Admin) ready(r *http.Request) error {
	if a.opts.Service == nil {
		return nil
	}
	return a.opts.Service.Ready(r.Context())
}

func (a *Admin) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := a.ready(r); err != nil {
		// Logged when readiness changes, not on every probe; the detail
		// (a driver's error may name hosts and users) goes to the log only.
		if !a.notReady.Swap(true) {
			a.opts.Log.Warn("not ready", "reason", err.Error(), "err", errors.Unwrap(err))
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready:", err)
		return
	}
	if a.notReady.Swap(false) {
		a.opts.Log.Info("ready again")
	}
	fmt.Fprintln(w, "ok")
}
