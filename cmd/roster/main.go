// Command roster runs the Roster service and its operator tasks.
//
//	roster serve                      run the API (and console) on ROSTER_ADDR
//	roster migrate                    apply database migrations and exit
//	roster account plan ID --committed --monthly-usd N --months M
//	roster account plan ID --standard set an account's plan
//	roster pricing import FILE.csv    replace the rate table
//
// Every flag has an environment variable (ROSTER_ADDR, ROSTER_DATABASE, ...);
// a flag given on the command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(os.Stderr, "roster:", err)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "roster:", err)
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `usage:
  roster serve [flags]                 run the service
  roster migrate [flags]               apply database migrations
  roster account plan ACCOUNT_ID --committed --monthly-usd N --months M
  roster account plan ACCOUNT_ID --standard
  roster pricing import FILE.csv       replace the rate table (see testdata/pricing-sample.csv)
Run "roster serve -h" for the flags and their environment variables.`

// run is main without the process: tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{usage}
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, args[1:], stdout, stderr)
	case "account":
		if len(args) >= 2 && args[1] == "plan" {
			return cmdAccountPlan(ctx, args[2:], stdout, stderr)
		}
	case "pricing":
		if len(args) >= 2 && args[1] == "import" {
			return cmdPricingImport(ctx, args[2:], stdout, stderr)
		}
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q\n%s", strings.Join(args, " "), usage)}
}

// config is everything read from flags and the environment, once, here.
type config struct {
	Addr          string
	Database      string
	BaseURL       string
	SMTPURL       string
	MailFrom      string
	ServiceToken  string
	OperatorToken string
	InviteTTL     time.Duration
	SessionTTL    time.Duration
	SessionIdle   time.Duration
	PersonalExtra string
	TrustProxy    string
	LogFormat     string
}

func (c *config) server() (server.Config, error) {
	proxies, err := edge.ParseProxies(c.TrustProxy)
	if err != nil {
		return server.Config{}, usageError{"ROSTER_TRUST_PROXY / --trust-proxy: " + err.Error()}
	}
	var extra []string
	for _, d := range strings.Split(c.PersonalExtra, ",") {
		if d = strings.TrimSpace(d); d != "" {
			extra = append(extra, d)
		}
	}
	return server.Config{Addr: c.Addr, Database: c.Database, BaseURL: c.BaseURL, SMTPURL: c.SMTPURL, MailFrom: c.MailFrom,
		ServiceToken: c.ServiceToken, OperatorToken: c.OperatorToken, InviteTTL: c.InviteTTL,
		SessionTTL: c.SessionTTL, SessionIdle: c.SessionIdle, PersonalExtra: extra, Proxies: proxies}, nil
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv(name); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

// flags binds the common configuration to fs.
func (c *config) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Database, "database", envOr("ROSTER_DATABASE", "roster.db"), "SQLite file path, or postgres://... (ROSTER_DATABASE)")
}

func (c *config) serveFlags(fs *flag.FlagSet) {
	c.flags(fs)
	fs.StringVar(&c.Addr, "addr", envOr("ROSTER_ADDR", "127.0.0.1:8080"), "listen address (ROSTER_ADDR)")
	fs.StringVar(&c.BaseURL, "base-url", envOr("ROSTER_BASE_URL", ""), "public URL for links in mails; default http://ADDR (ROSTER_BASE_URL)")
	fs.StringVar(&c.SMTPURL, "smtp-url", envOr("ROSTER_SMTP_URL", ""), "smtp://user:pass@host:port; unset: mail is kept in the outbox table and logged (ROSTER_SMTP_URL)")
	fs.StringVar(&c.MailFrom, "mail-from", envOr("ROSTER_MAIL_FROM", "Roster <no-reply@roster.localhost>"), "sender address (ROSTER_MAIL_FROM)")
	fs.StringVar(&c.ServiceToken, "service-token", envOr("ROSTER_SERVICE_TOKEN", ""), "token for /v1/authz/check and log ingest; unset disables them (ROSTER_SERVICE_TOKEN)")
	fs.StringVar(&c.OperatorToken, "operator-token", envOr("ROSTER_OPERATOR_TOKEN", ""), "token for /v1/admin; unset disables it (ROSTER_OPERATOR_TOKEN)")
	fs.DurationVar(&c.InviteTTL, "invite-ttl", envDuration("ROSTER_INVITE_TTL", 168*time.Hour), "how long an invitation link works (ROSTER_INVITE_TTL)")
	fs.DurationVar(&c.SessionTTL, "session-ttl", envDuration("ROSTER_SESSION_TTL", 336*time.Hour), "a session ends this long after login (ROSTER_SESSION_TTL)")
	fs.DurationVar(&c.SessionIdle, "session-idle", envDuration("ROSTER_SESSION_IDLE", 12*time.Hour), "a session unused this long ends (ROSTER_SESSION_IDLE)")
	fs.StringVar(&c.PersonalExtra, "personal-domains-extra", envOr("ROSTER_PERSONAL_DOMAINS_EXTRA", ""), "comma-separated domains to refuse besides the shipped list (ROSTER_PERSONAL_DOMAINS_EXTRA)")
	fs.StringVar(&c.TrustProxy, "trust-proxy", envOr("ROSTER_TRUST_PROXY", ""), "reverse proxies trusted for X-Forwarded-For/-Proto: true (the immediate peer, one hop) or comma-separated addresses and CIDRs; unset trusts none (ROSTER_TRUST_PROXY)")
	fs.StringVar(&c.LogFormat, "log-format", envOr("ROSTER_LOG_FORMAT", "text"), "text or json (ROSTER_LOG_FORMAT)")
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}
