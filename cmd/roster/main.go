// Command roster runs the Roster service and its operator tasks.
//
//	roster serve                      run the API (and console) on ROSTER_ADDR
//	roster migrate                    apply database migrations and exit
//	roster migrate status             migrations applied and pending
//	roster migrate down --to VERSION --yes  roll the schema back
//	roster healthcheck                exit 0 if serve's admin /readyz answers 200, else 1
//	roster account plan ID --committed --monthly-usd N --months M
//	roster account plan ID --standard set an account's plan
//	roster account list               accounts: ID, name, plan, members
//	roster account show ID            one account, its members and invitations
//	roster user show EMAIL            one user, their accounts and roles
//	roster user reset-mfa EMAIL       clear a locked-out user's two-factor sign-in
//	roster audit export ID            an account's audit events as JSON lines
//	roster pricing import FILE.csv    replace the rate table
//	roster version                    version, commit and Go version
//
// Every setting is a flag and an environment variable (ROSTER_ADDR,
// ROSTER_DATABASE, ...); a flag given on the command line wins. Secrets
// never come from the command line (ps and /debug/pprof/cmdline show it):
// the tokens only from the environment or a file (ROSTER_SERVICE_TOKEN_FILE,
// ROSTER_OPERATOR_TOKEN_FILE), and a database or SMTP URL with a password
// from ROSTER_DATABASE(_FILE) or ROSTER_SMTP_URL(_FILE). A bad value stops
// the command with exit status 2, naming the setting.
//
// On SIGTERM or SIGINT, serve drains: its probes answer 503 and its
// listeners keep serving for ROSTER_SHUTDOWN_DRAIN, then it stops
// accepting and finishes what is in flight. A second signal stops it at
// once.
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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal starts a graceful shutdown (serve drains); a
	// second one gets the default behaviour and ends the process at once.
	go func() { <-ctx.Done(); stop() }()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0) // the help was printed
		}
		fmt.Fprintln(os.Stderr, "roster:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `usage:
  roster serve [flags]                 run the service
  roster migrate [flags]               apply database migrations
  roster migrate status [--json]       migrations applied and pending
  roster migrate down --to VERSION [--yes]
                                       roll the schema back (docs/operations.md)
  roster healthcheck [flags]           exit 0 if serve's admin listener says ready
                                       (GET /readyz at ROSTER_ADMIN_ADDR), else 1
  roster account plan ACCOUNT_ID --committed --monthly-usd N --months M
  roster account plan ACCOUNT_ID --standard
  roster account list [--limit N] [--after ACCOUNT_ID] [--json]
  roster account show ACCOUNT_ID [--json]
  roster user show EMAIL [--json]      a user's accounts and roles
  roster user reset-mfa EMAIL          turn off a locked-out user's two-factor sign-in
                                       (audited, mailed to the user, signs them out)
  roster audit export ACCOUNT_ID [--since RFC3339]
                                       audit events as JSON lines, oldest first
  roster pricing import FILE.csv       replace the rate table (see testdata/pricing-sample.csv)
  roster version                       the version, commit and Go version it was built from
Run "roster serve -h" for the settings and their environment variables,
"roster COMMAND -h" for a command's flags. Secrets are never flags: set the
tokens in ROSTER_SERVICE_TOKEN / ROSTER_OPERATOR_TOKEN or in files named by
ROSTER_SERVICE_TOKEN_FILE / ROSTER_OPERATOR_TOKEN_FILE, and a database or
SMTP URL with a password in ROSTER_DATABASE(_FILE) / ROSTER_SMTP_URL(_FILE).`

// run is main without the process: tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{usage}
	}
	sub := ""
	if len(args) >= 2 {
		sub = args[1]
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], stdout, stderr)
	case "migrate":
		switch sub {
		case "status":
			return cmdMigrateStatus(ctx, args[2:], stdout, stderr)
		case "down":
			return cmdMigrateDown(ctx, args[2:], stdout, stderr)
		}
		return cmdMigrate(ctx, args[1:], stdout, stderr)
	case "healthcheck":
		return cmdHealthcheck(ctx, args[1:], stdout, stderr)
	case "account":
		switch sub {
		case "plan":
			return cmdAccountPlan(ctx, args[2:], stdout, stderr)
		case "list":
			return cmdAccountList(ctx, args[2:], stdout, stderr)
		case "show":
			return cmdAccountShow(ctx, args[2:], stdout, stderr)
		}
	case "user":
		switch sub {
		case "show":
			return cmdUserShow(ctx, args[2:], stdout, stderr)
		case "reset-mfa":
			return cmdUserResetMFA(ctx, args[2:], stdout, stderr)
		}
	case "audit":
		if sub == "export" {
			return cmdAuditExport(ctx, args[2:], stdout, stderr)
		}
	case "pricing":
		if sub == "import" {
			return cmdPricingImport(ctx, args[2:], stdout, stderr)
		}
	case "version", "--version":
		return cmdVersion(args[1:], stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q\n%s", strings.Join(args, " "), usage)}
}

// newLogger writes lines of level and above to w, as text or JSON.
func newLogger(format string, level slog.Level, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
