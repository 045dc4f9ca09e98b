package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/store"
	"github.com/rosterhq/roster/telemetry"
)

func openDB(ctx context.Context, dsn string) (*store.DB, error) {
	db, err := store.Open(dsn)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.flags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	db, err := openDB(ctx, c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintf(stdout, "migrated %s database\n", db.Dialect())
	return nil
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.serveFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	log := newLogger(c.LogFormat, c.LogLevel, stderr)
	sc, err := c.server()
	if err != nil {
		return err
	}
	// Tracing: on when the standard OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT
	// is set; the SDK reads the other OTEL_* variables itself.
	tc, err := telemetry.FromEnv(os.Getenv)
	if err != nil {
		return usageError{err.Error()}
	}
	tc.Log, tc.Version = log, moduleVersion()
	stopTracing, err := telemetry.Start(ctx, tc)
	if err != nil {
		return err
	}
	defer func() {
		// Last, after the server closed: the spans of the requests that
		// finished while draining go out too.
		fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stopTracing(fctx); err != nil {
			log.Warn("tracing: spans lost at shutdown", "err", err)
		}
	}()
	sc.Tracing = tc.Export
	a, err := server.Open(ctx, sc, log)
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	// The admin endpoints (metrics, probes, profiler) get a listener of
	// their own, never the public one; "" turns them off.
	var aln net.Listener
	if sc.AdminAddr != "" {
		if aln, err = net.Listen("tcp", sc.AdminAddr); err != nil {
			ln.Close()
			return fmt.Errorf("admin listener %s: %w", sc.AdminAddr, err)
		}
	}
	// Timeouts bound what a slow or idle client can hold (server.HTTPServer:
	// the tests' servers have the same).
	srv := a.HTTPServer(log)
	mailNote := "mail is kept in the outbox table and logged: follow the links from this log"
	if c.SMTPURL != "" {
		mailNote = "mail goes to " + redactURL(c.SMTPURL)
	}
	log.Info("roster serving", "url", "http://"+ln.Addr().String(), "database", a.DB.Dialect(), "mail", mailNote,
		"members_indexed", a.Service.IndexedMembers())
	errc := make(chan error, 3)
	go func() { errc <- srv.Serve(ln) }()
	var gs *grpc.Server
	if sc.GRPCAddr != "" {
		gln, err := net.Listen("tcp", sc.GRPCAddr)
		if err != nil {
			srv.Close()
			return fmt.Errorf("grpc listener %s: %w", sc.GRPCAddr, err)
		}
		gs = a.GRPCServer()
		go func() { errc <- gs.Serve(gln) }()
		log.Info("roster grpc serving", "grpc_addr", gln.Addr().String())
	}
	var adminSrv *http.Server
	if aln != nil {
		// No WriteTimeout: /debug/pprof/profile and /trace stream for
		// as many seconds as asked.
		adminSrv = &http.Server{Handler: a.Admin.Handler(), ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		log.Info("roster admin serving", "admin_url", "http://"+aln.Addr().String(), "paths", "/metrics /livez /readyz /debug/pprof/")
		go func() { errc <- adminSrv.Serve(aln) }()
	}
	select {
	case err := <-errc:
		srv.Close()
		if gs != nil {
			gs.Stop()
		}
		if adminSrv != nil {
			adminSrv.Close()
		}
		return err
	case <-ctx.Done():
	}
	return drain(log, c.ShutdownDrain, a, srv, gs, adminSrv, errc)
}

// shutdownGrace bounds how long the requests in flight at the end of the
// drain get to finish; then their connections are closed. With the 5 s
// drain it stays well inside the 30 s an orchestrator usually waits
// between SIGTERM and SIGKILL.
const shutdownGrace = 10 * time.Second

// drain shuts serve down gracefully. The probes (/readyz, /healthz) say 503
// at once, so load balancers take the replica out, while every listener
// keeps serving what they still send for the drain period: a request sent
// before the balancer noticed is answered, not refused. Then the public
// and gRPC listeners stop accepting and their requests in flight finish
// (within shutdownGrace); the admin listener goes last, so probes and
// metrics answer throughout.
func drain(log *slog.Logger, period time.Duration, a *server.Server, srv *http.Server, gs *grpc.Server, adminSrv *http.Server, errc <-chan error) error {
	a.Drain()
	log.Info("roster draining: probes answer 503, listeners keep serving", "drain", period)
	if period > 0 {
		t := time.NewTimer(period)
		select {
		case <-t.C:
		case err := <-errc:
			t.Stop()
			log.Error("a listener failed while draining", "err", err)
		}
	}
	log.Info("roster stopping: no new connections, finishing requests in flight", "grace", shutdownGrace)
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var wg sync.WaitGroup
	var httpErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			httpErr = err
			srv.Close()
		}
	}()
	if gs != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Health Watch streams never end by themselves: stop
			// gracefully, then for good when the grace is over.
			done := make(chan struct{})
			go func() { gs.GracefulStop(); close(done) }()
			select {
			case <-done:
			case <-ctx.Done():
				gs.Stop()
			}
		}()
	}
	wg.Wait()
	if adminSrv != nil {
		if err := adminSrv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			adminSrv.Close()
		}
	}
	if httpErr != nil {
		return fmt.Errorf("shutdown: requests still in flight after %s were cut: %w", shutdownGrace, httpErr)
	}
	log.Info("roster stopped")
	return nil
}

// redactURL hides what a URL may carry of a secret: its user information
// (user and password) and the value of a password= parameter (pgx reads
// one).
func redactURL(u string) string {
	if i := strings.LastIndex(u, "@"); i > 0 {
		// Whatever comes before the last @ may hold a password, whether
		// or not the scheme is well formed ("postgresql:/roster:PASS@h").
		if j := strings.Index(u, "://"); j > 0 && j < i {
			u = u[:j+3] + "***@" + u[i+1:]
		} else if j := strings.Index(u, ":"); j > 0 && j < i {
			u = u[:j+1] + "***@" + u[i+1:]
		} else {
			u = "***@" + u[i+1:]
		}
	}
	if q := strings.IndexByte(u, '?'); q >= 0 {
		params := strings.Split(u[q+1:], "&")
		for i, p := range params {
			if k, _, ok := strings.Cut(p, "="); ok && strings.EqualFold(k, "password") {
				params[i] = k + "=***"
			}
		}
		u = u[:q+1] + strings.Join(params, "&")
	}
	return u
}

// moduleVersion is the main module's version from the build information
// ("" for a development build): the traces' service.version.
func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return ""
}
