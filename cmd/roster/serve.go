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
	"strings"
	"time"

	"github.com/rosterhq/roster/grpcapi"
	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/store"
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
	log := newLogger(c.LogFormat, stderr)
	sc, err := c.server()
	if err != nil {
		return err
	}
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
	if sc.GRPCAddr != "" {
		gln, err := net.Listen("tcp", sc.GRPCAddr)
		if err != nil {
			return fmt.Errorf("grpc listener %s: %w", sc.GRPCAddr, err)
		}
		gs := grpcapi.New(a.Service, sc.ServiceToken)
		go func() { errc <- gs.Serve(gln) }()
		log.Info("roster grpc serving", "grpc_addr", gln.Addr().String())
		defer func() {
			// Health Watch streams never end by themselves: stop gracefully,
			// then for good.
			done := make(chan struct{})
			go func() { gs.GracefulStop(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				gs.Stop()
			}
		}()
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
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if adminSrv != nil {
		// After the public listener: probes and metrics answer while it drains.
		if err := adminSrv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	log.Info("roster stopped")
	return nil
}

func redactURL(u string) string {
	if i := strings.Index(u, "@"); i > 0 {
		if j := strings.Index(u, "://"); j > 0 && j < i {
			return u[:j+3] + "***@" + u[i+1:]
		}
	}
	return u
}
