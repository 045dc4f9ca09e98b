// Package server wires Roster's parts into one running service: database,
// mail, the check index and its follower, the JSON API and the console.
// cmd/roster reads the configuration; tests build servers through here too,
// so they run exactly what an operator runs.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/rosterhq/roster/admin"
	"github.com/rosterhq/roster/console"
	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/emailaddr"
	"github.com/rosterhq/roster/grpcapi"
	"github.com/rosterhq/roster/httpapi"
	"github.com/rosterhq/roster/scimapi"
	"github.com/rosterhq/roster/service"
	"github.com/rosterhq/roster/store"
	"github.com/rosterhq/roster/telemetry"
)

// Config is the whole configuration of a server.
type Config struct {
	Addr     string // listen address, used for the default BaseURL
	Database string // SQLite path or postgres://... (several hosts: a cluster's primary is found)
	// DatabaseRead names standbys (postgres://..., one host or several)
	// the check index's load, the change-log follower and the read-only
	// pages read from; "" for none: all reads go to Database.
	DatabaseRead   string
	BaseURL        string        // public URL for links in mails
	SMTPURL        string        // smtp://user:pass@host:port; empty: the log (mail still goes through the outbox table)
	MailFrom       string        // sender address
	ServiceToken   string        // /v1/authz/check and log ingest
	OperatorToken  string        // /v1/admin
	InviteTTL      time.Duration // invitation lifetime
	SessionTTL     time.Duration // a session ends this long after login (0: 336h)
	SessionIdle    time.Duration // a session unused this long ends (0: 12h)
	PersonalExtra  []string      // personal email domains besides the shipped list
	Proxies        edge.Proxies  // reverse proxies trusted for the client's address and scheme
	FollowInterval time.Duration // how often to catch up with other writers (0: 50ms); keep it well under MaxStaleness
	// MaxStaleness is the staleness bound (0: 1s): a replica whose check
	// index was not confirmed current within it answers checks and member
	// requests 503 + Retry-After (ROSTER_MAX_STALENESS).
	MaxStaleness time.Duration
	// HashConcurrency bounds argon2id computations at once (0: half the
	// cores, at least 1); an attempt waits HashWait (0: 1s) for a slot,
	// then gets 503.
	HashConcurrency int
	HashWait        time.Duration

	AdminAddr        string        // the admin listener (metrics, health, pprof); "" for none
	GRPCAddr         string        // the gRPC check listener; "" for none
	OutboxRetention  time.Duration // delivered outbox mail is kept this long (0: 168h)
	ChangesRetention time.Duration // the change log is kept this long (0: 24h)

	// SignupsPerIP is how many sign-ups without an invitation one client
	// (IPv4 address, IPv6 /64) may make in 10 minutes (0: 5). Tests that
	// sign many people up from one address raise it.
	SignupsPerIP int
	// ResetQueue is how many password-reset requests may wait for one of
	// ResetWorkers workers (0: 1000 and 4); past it a request answers 503.
	ResetQueue, ResetWorkers int

	// WebhookAllowPrivate lets webhooks use plain http and addresses
	// that are not globally reachable (private, loopback, link-local and
	// the other special-purpose ranges): for tests and private networks.
	WebhookAllowPrivate bool
	// SSOAllowPrivate lets identity providers' issuer and metadata URLs
	// use plain http and addresses that are not globally reachable
	// (ROSTER_SSO_ALLOW_PRIVATE): tests, providers inside a private network.
	SSOAllowPrivate bool
	// WebhookRetryBase is the first retry of a failed delivery, doubling
	// per attempt up to an hour (0: 10s). Tests shorten it.
	WebhookRetryBase time.Duration
	// MailRetryBase is the first retry of a mail the SMTP server did not
	// take, doubling per attempt up to an hour, jittered (0: 30s). Tests
	// shorten it.
	MailRetryBase time.Duration

	// ReadTimeout bounds the time a client may take to send a whole
	// request, headers and body (0: 30s); a body that stalls past it
	// answers 408 request_timeout. Tests shorten it.
	ReadTimeout time.Duration
	// WebhookTimeout is how long one delivery attempt may take (0: 5s).
	// Tests shorten it.
	WebhookTimeout time.Duration
	// WebhookResolver resolves webhook hosts (nil: the system's). Tests
	// point it at their own DNS server.
	WebhookResolver *net.Resolver
	// DNSServer is the DNS server (host:port) domain verification asks for
	// TXT records ("": the system's resolver). Tests name their own.
	DNSServer string
	// DBTimeout bounds each database statement and each attempt of a
	// transaction (store.DB.Timeout; 0: store.DefaultTimeout, 5s): past
	// it a request answers 503 with Retry-After.
	DBTimeout time.Duration

	// UpgradeURL is where the console's upgrade button on the standard
	// plan's notices leads (an http(s) URL or a mailto:, checked by
	// cmd/roster); "" for none: SupportEmail is named instead.
	UpgradeURL string
	// SupportEmail is the operator's contact address the console names
	// ("" for none).
	SupportEmail string

	// Tracing installs the HTTP and gRPC tracing instrumentation
	// (telemetry.HTTPHandler, GRPCOptions): set it when telemetry.Start
	// exports spans. Unset, a request's traceparent is still taken (the
	// request log shows its trace ID; outgoing calls pass it on) and
	// nothing else is done. The database is traced whenever the
	// process's tracer provider is not a no-op.
	Tracing bool
}

// Server is a wired Roster.
type Server struct {
	DB      *store.DB
	Service *service.Service
	API     *httpapi.Server
	Handler http.Handler
	// Admin serves metrics, probes and the profiler: on its own listener
	// (Config.AdminAddr), never on Handler's.
	Admin       *admin.Admin
	grpcMetrics *grpcapi.Metrics
	tracing     bool
	readTimeout time.Duration
	cancel      context.CancelFunc
	done        chan struct{}
}

// Open opens and migrates the database, loads the check index and starts
// following changes and sending webhook deliveries and mail. Close stops
// them.
func Open(ctx context.Context, c Config, log *slog.Logger) (*Server, error) {
	db, err := store.Open(c.Database)
	if err != nil {
		return nil, err
	}
	if c.DBTimeout > 0 {
		db.Timeout = c.DBTimeout
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if c.DatabaseRead != "" {
		if err := db.OpenRead(c.DatabaseRead); err != nil {
			db.Close()
			return nil, err
		}
	}
	// The first load reads the standby only once it has replayed what the
	// primary holds now (the migration just applied, above all); a standby
	// still behind after 10 s is left to catch up, and the load reads the
	// primary.
	loadCtx := ctx
	if ok, err := db.AwaitReadReplay(ctx, 10*time.Second); err != nil {
		db.Close()
		return nil, err
	} else if !ok {
		log.Warn("the read database has not replayed the primary's latest writes; loading the check index from the primary")
		loadCtx = store.WithPrimary(ctx)
	}
	// Every mail goes through the outbox table (service.RunMail).
	sender, mailDone, err := Mailer(c.SMTPURL, c.MailFrom, log)
	if err != nil {
		db.Close()
		return nil, err
	}
	cfg := service.DefaultConfig()
	cfg.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://" + c.Addr
	}
	if c.InviteTTL > 0 {
		cfg.InviteTTL = c.InviteTTL
	}
	if c.SessionTTL > 0 {
		cfg.SessionTTL = c.SessionTTL
	}
	if c.SessionIdle > 0 {
		cfg.SessionIdle = c.SessionIdle
	}
	if c.HashConcurrency > 0 {
		cfg.HashConcurrency = c.HashConcurrency
	}
	if c.HashWait > 0 {
		cfg.HashWait = c.HashWait
	}
	if c.SignupsPerIP > 0 {
		cfg.SignupsPerIP = c.SignupsPerIP
	}
	if c.ResetQueue > 0 {
		cfg.ResetQueue = c.ResetQueue
	}
	if c.ResetWorkers > 0 {
		cfg.ResetWorkers = c.ResetWorkers
	}
	if c.WebhookRetryBase > 0 {
		cfg.WebhookRetryBase = c.WebhookRetryBase
	}
	if c.MaxStaleness > 0 {
		cfg.MaxStaleness = c.MaxStaleness
	}
	if c.MailRetryBase > 0 {
		cfg.MailRetryBase = c.MailRetryBase
	}
	cfg.WebhookAllowPrivate = c.WebhookAllowPrivate
	cfg.WebhookTimeout = c.WebhookTimeout
	cfg.WebhookResolver = c.WebhookResolver
	cfg.SSOAllowPrivate = c.SSOAllowPrivate
	if c.DNSServer != "" {
		cfg.DNSResolver = DNSResolver(c.DNSServer)
	}
	svc := service.New(db, sender, emailaddr.NewChecker(c.PersonalExtra), cfg, log)
	if err := svc.LoadIndex(loadCtx); err != nil {
		db.Close()
		return nil, err
	}
	adm := admin.New(admin.Options{Service: svc, Log: log})
	svc.SetDecisionHook(adm.ObserveAuthz)
	svc.SetPropagationHook(adm.ObservePropagation)
	// The gRPC listener's metrics (GRPCServer), per method and status code:
	// grpc_server_started_total, grpc_server_handled_total,
	// grpc_server_msg_received_total, grpc_server_msg_sent_total and
	// grpc_server_handling_seconds, on the admin listener's /metrics.
	grpcMetrics := grpcapi.NewMetrics()
	adm.Registry().MustRegister(grpcMetrics)
	// The edges log through the service's logger (svc.Log), one value,
	// rather than each being handed log again.
	api := &httpapi.Server{Svc: svc, ServiceToken: c.ServiceToken, OperatorToken: c.OperatorToken, Proxies: c.Proxies}
	mux := http.NewServeMux()
	api.Register(mux)
	cons := console.New(svc, c.Proxies, console.Options{UpgradeURL: c.UpgradeURL, SupportEmail: c.SupportEmail})
	cons.Register(mux)
	scimSrv, err := scimapi.New(svc, c.BaseURL, c.Proxies)
	if err != nil {
		db.Close()
		return nil, err
	}
	mux.Handle(scimapi.Prefix+"/", scimSrv)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		// The public listener's readiness, for load balancers that reach
		// no other: the one readiness (service.Ready) in fewer words than
		// the admin /readyz, so it says 503 from the start of a shutdown too.
		if err := svc.Ready(r.Context()); err != nil {
			msg := "check index stale"
			switch {
			case errors.Is(err, service.ErrDraining):
				msg = "shutting down"
			case errors.Is(err, service.ErrDatabaseUnreachable):
				msg = "database unreachable"
			}
			http.Error(w, msg, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	interval := c.FollowInterval
	if interval <= 0 {
		interval = 50 * time.Millisecond
	}
	fctx, cancel := context.WithCancel(context.Background())
	s := &Server{DB: db, Service: svc, API: api, Handler: telemetry.HTTPHandler(edge.RequestLog(log, adm.ObserveRequest, "POST /v1/authz/check", "POST /v1/authz/check-batch")(edge.Headers(httpapi.Protect(routeErrors(mux, httpapi.RouteError, cons.RouteError)))), c.Tracing), Admin: adm, grpcMetrics: grpcMetrics, tracing: c.Tracing, readTimeout: c.ReadTimeout, cancel: cancel, done: make(chan struct{})}
	if s.readTimeout <= 0 {
		s.readTimeout = 30 * time.Second
	}
	wake := make(chan struct{}, 1)
	go db.Listen(fctx, wake, log)
	retention := store.Retention{OutboxRetention: c.OutboxRetention, ChangesRetention: c.ChangesRetention}
	go func() {
		defer close(s.done)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc.RunRetention(fctx, 10*time.Minute, retention)
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc.RunWebhooks(fctx) // sends the webhook outbox
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc.RunMail(fctx, mailDone) // sends the mail outbox
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc.RunPasswordResets(fctx) // the work of reset requests, after their answer
		}()
		svc.Follow(fctx, interval, wake)
		wg.Wait()
	}()
	return s, nil
}

// Drain starts a graceful shutdown: /readyz on the admin listener and
// /healthz on the public one answer 503 from now on, so load balancers
// take the replica out, while everything else is served as before. The
// caller keeps its listeners open for the drain period, then shuts them
// down (http.Server.Shutdown, grpc.Server.GracefulStop) and calls Close.
func (s *Server) Drain() { s.Admin.Drain() }

// HTTPServer returns the public listener's server for Handler, with the
// timeouts that bound what a slow or idle client can hold: headers in 10
// s, the whole request in Config.ReadTimeout (30 s), the answer in 60 s,
// an idle connection 2 min, headers of at most 64 KiB. Errors of
// net/http itself go to log at warning level.
func (s *Server) HTTPServer(log *slog.Logger) *http.Server {
	return &http.Server{Handler: s.Handler, ReadHeaderTimeout: min(10*time.Second, s.readTimeout), ReadTimeout: s.readTimeout,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
}

// GRPCServer returns the gRPC listener's server (grpcapi.New: the check
// service, health, reflection, the keepalive and message-size limits) for
// the service token, with its calls counted per method and status code on
// the admin listener's /metrics (grpcapi.Metrics, refused calls too) and
// traced when Config.Tracing (otelgrpc's stats handler; nothing at all
// when off); opts (TLS) are passed on to grpcapi.New.
func (s *Server) GRPCServer(opts ...grpc.ServerOption) *grpc.Server {
	return grpcapi.New(s.Service, s.API.ServiceToken, s.grpcMetrics, append(telemetry.GRPCServerOptions(s.tracing), opts...)...)
}

// Close stops following changes and closes the database.
func (s *Server) Close() error {
	s.cancel()
	<-s.done
	return s.DB.Close()
}

// DNSResolver is a resolver that asks the DNS server at addr (host:port)
// alone, over UDP and, for an answer too long for it, TCP: Go's own
// resolver, so the system's configuration plays no part.
func DNSResolver(addr string) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}
