package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/net/idna"

	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/server"
)

// config is everything read from flags and the environment, once, here.
type config struct {
	Addr             string
	Database         string
	BaseURL          string
	SMTPURL          string
	MailFrom         string
	ServiceToken     string
	OperatorToken    string
	InviteTTL        time.Duration
	SessionTTL       time.Duration
	SessionIdle      time.Duration
	PersonalExtra    string
	TrustProxy       string
	LogFormat        string
	LogLevel         slog.Level
	AdminAddr        string
	GRPCAddr         string
	OutboxRetention  time.Duration
	ChangesRetention time.Duration
	WebhookPrivate   bool
	SSOPrivate       bool
	ShutdownDrain    time.Duration
	UpgradeURL       string
	SupportEmail     string
	DNSServer        string
	// DatabaseRead: ROSTER_DATABASE_READ, standbys to read from (issue 26).
	DatabaseRead string
	MaxStaleness time.Duration
	DBTimeout    time.Duration
}

// server returns the server's configuration. It refuses what no single
// setting shows wrong: two listeners on one address.
func (c *config) server() (server.Config, error) {
	proxies, err := edge.ParseProxies(c.TrustProxy)
	if err != nil {
		return server.Config{}, usageError{"ROSTER_TRUST_PROXY / --trust-proxy: " + err.Error()}
	}
	listeners := []struct{ name, addr string }{
		{"ROSTER_ADDR (--addr)", c.Addr}, {"ROSTER_ADMIN_ADDR (--admin-addr)", c.AdminAddr}, {"ROSTER_GRPC_ADDR (--grpc-addr)", c.GRPCAddr},
	}
	for i, a := range listeners {
		for _, b := range listeners[i+1:] {
			if a.addr != "" && a.addr == b.addr && !strings.HasSuffix(a.addr, ":0") {
				return server.Config{}, usageError{fmt.Sprintf("%s and %s are both %s: give each listener its own address", a.name, b.name, a.addr)}
			}
		}
	}
	if c.DatabaseRead != "" && !isPostgresURL(c.Database) {
		return server.Config{}, usageError{"ROSTER_DATABASE_READ (--database-read) names PostgreSQL standbys: ROSTER_DATABASE must be the PostgreSQL primary (postgres://...), not a SQLite file"}
	}
	var extra []string
	for _, d := range strings.Split(c.PersonalExtra, ",") {
		if d = strings.TrimSpace(d); d != "" {
			extra = append(extra, d)
		}
	}
	return server.Config{Addr: c.Addr, Database: c.Database, BaseURL: c.BaseURL, SMTPURL: c.SMTPURL, MailFrom: c.MailFrom,
		ServiceToken: c.ServiceToken, OperatorToken: c.OperatorToken, InviteTTL: c.InviteTTL,
		SessionTTL: c.SessionTTL, SessionIdle: c.SessionIdle, PersonalExtra: extra, Proxies: proxies,
		AdminAddr: c.AdminAddr, GRPCAddr: c.GRPCAddr, OutboxRetention: c.OutboxRetention, ChangesRetention: c.ChangesRetention,
		WebhookAllowPrivate: c.WebhookPrivate, SSOAllowPrivate: c.SSOPrivate, UpgradeURL: c.UpgradeURL, SupportEmail: c.SupportEmail, DNSServer: c.DNSServer,
		DatabaseRead: c.DatabaseRead, MaxStaleness: c.MaxStaleness, DBTimeout: c.DBTimeout}, nil
}

// flags binds the settings every command has to fs.
func (c *config) flags(fs *flag.FlagSet) {
	setUsage(fs)
	add(fs, &setting{flag: "database", env: "ROSTER_DATABASE", fileEnv: "ROSTER_DATABASE_FILE", def: "roster.db", arg: "PATH|URL",
		redact: true, flagNoPassword: true,
		help: "SQLite file path, or postgres://user:pass@host:5432/db (with a password: from the environment or the file only)", apply: checkDatabase(&c.Database)})
}

// mailFlags binds the mail settings to fs: roster serve's, and those of
// an operator command that mails a user (user reset-mfa).
func (c *config) mailFlags(fs *flag.FlagSet) {
	add(fs, &setting{flag: "smtp-url", env: "ROSTER_SMTP_URL", fileEnv: "ROSTER_SMTP_URL_FILE", arg: "URL", redact: true, flagNoPassword: true,
		defNote: "unset: mail is kept in the outbox table and logged",
		help:    "smtp://user:pass@host:587 (STARTTLS when offered) or smtps://user:pass@host:465 (with a password: from the environment or the file only)",
		apply:   checkSMTPURL(&c.SMTPURL)})
	add(fs, &setting{flag: "mail-from", env: "ROSTER_MAIL_FROM", def: "Roster <no-reply@roster.localhost>", arg: "ADDRESS",
		help: "sender of every mail", apply: checkMailFrom(&c.MailFrom)})
}

// serveFlags binds every setting of `roster serve` to fs.
func (c *config) serveFlags(fs *flag.FlagSet) {
	add(fs, &setting{flag: "addr", env: "ROSTER_ADDR", def: "127.0.0.1:8080", arg: "HOST:PORT",
		help: "where the API and console listen", apply: checkHostPort(&c.Addr, false)})
	c.flags(fs)
	add(fs, &setting{flag: "base-url", env: "ROSTER_BASE_URL", arg: "URL", defNote: "default http://ADDR",
		help: "public URL of the console, for links in mails (https://... behind TLS)", apply: checkBaseURL(&c.BaseURL)})
	c.mailFlags(fs)
	add(fs, &setting{flag: "database-read", env: "ROSTER_DATABASE_READ", fileEnv: "ROSTER_DATABASE_READ_FILE", arg: "URL",
		redact: true, flagNoPassword: true, defNote: "unset: every read goes to ROSTER_DATABASE",
		help:  "postgres://user:pass@standby1:5432,standby2:5432/db: standbys the check index, its follower and the read-only pages read from (with a password: from the environment or the file only)",
		apply: checkDatabaseRead(&c.DatabaseRead)})
	add(fs, &setting{flag: "service-token", env: "ROSTER_SERVICE_TOKEN", fileEnv: "ROSTER_SERVICE_TOKEN_FILE", arg: "TOKEN", secret: true,
		defNote: "unset: disabled", help: "bearer token for POST /v1/authz/check, the gRPC check and log ingest", apply: checkToken(&c.ServiceToken)})
	add(fs, &setting{flag: "operator-token", env: "ROSTER_OPERATOR_TOKEN", fileEnv: "ROSTER_OPERATOR_TOKEN_FILE", arg: "TOKEN", secret: true,
		defNote: "unset: disabled", help: "bearer token for /v1/admin/...", apply: checkToken(&c.OperatorToken)})
	add(fs, &setting{flag: "invite-ttl", env: "ROSTER_INVITE_TTL", def: "168h", arg: "DURATION",
		help: "how long an invitation link works", apply: checkDuration(&c.InviteTTL, time.Minute)})
	add(fs, &setting{flag: "session-ttl", env: "ROSTER_SESSION_TTL", def: "336h", arg: "DURATION",
		help: "a session ends this long after login", apply: checkDuration(&c.SessionTTL, time.Minute)})
	add(fs, &setting{flag: "session-idle", env: "ROSTER_SESSION_IDLE", def: "12h", arg: "DURATION",
		help: "a session unused this long ends", apply: checkDuration(&c.SessionIdle, time.Minute)})
	add(fs, &setting{flag: "personal-domains-extra", env: "ROSTER_PERSONAL_DOMAINS_EXTRA", arg: "DOMAINS",
		help: "comma-separated domains refused at sign-up besides the shipped list", apply: checkDomains(&c.PersonalExtra)})
	add(fs, &setting{flag: "trust-proxy", env: "ROSTER_TRUST_PROXY", arg: "PROXIES", defNote: "unset: none",
		help:  "reverse proxies trusted for X-Forwarded-For/-Proto: true (the immediate peer, one hop) or comma-separated addresses and CIDRs",
		apply: checkProxies(&c.TrustProxy)})
	add(fs, &setting{flag: "log-format", env: "ROSTER_LOG_FORMAT", def: "text", arg: "text|json",
		help: "log lines as text or JSON", apply: checkOneOf(&c.LogFormat, "text", "json")})
	add(fs, &setting{flag: "log-level", env: "ROSTER_LOG_LEVEL", def: "info", arg: "debug|info|warn|error",
		help:  "the least important log lines written: debug adds a line for every permission check answered (HTTP and gRPC) and every gRPC health check",
		apply: checkLogLevel(&c.LogLevel)})
	add(fs, &setting{flag: "admin-addr", env: "ROSTER_ADMIN_ADDR", def: "127.0.0.1:8079", arg: "HOST:PORT",
		help: "the admin listener (/metrics, /livez, /readyz); empty: none. Keep it off the public network", apply: checkHostPort(&c.AdminAddr, true)})
	add(fs, &setting{flag: "grpc-addr", env: "ROSTER_GRPC_ADDR", arg: "HOST:PORT", defNote: "unset: off",
		help: "the gRPC permission-check listener", apply: checkHostPort(&c.GRPCAddr, true)})
	add(fs, &setting{flag: "outbox-retention", env: "ROSTER_OUTBOX_RETENTION", def: "168h", arg: "DURATION",
		help: "mail kept in the outbox table is deleted after this long", apply: checkDuration(&c.OutboxRetention, time.Minute)})
	add(fs, &setting{flag: "changes-retention", env: "ROSTER_CHANGES_RETENTION", def: "24h", arg: "DURATION",
		help: "the change log replicas follow keeps this long (a replica behind it reloads its index)", apply: checkDuration(&c.ChangesRetention, time.Minute)})
	add(fs, &setting{flag: "webhook-allow-private", env: "ROSTER_WEBHOOK_ALLOW_PRIVATE", def: "false", arg: "true|false",
		help: "let webhooks use plain http:// and addresses that are not globally reachable: private, loopback, link-local and other special-purpose ones (tests and private networks only: it opens the server to SSRF)", apply: checkBool(&c.WebhookPrivate)})
	add(fs, &setting{flag: "sso-allow-private", env: "ROSTER_SSO_ALLOW_PRIVATE", def: "false", arg: "true|false",
		help: "let identity providers' issuer and metadata URLs use plain http:// and addresses that are not globally reachable (tests and providers inside a private network only: it opens the server to SSRF)", apply: checkBool(&c.SSOPrivate)})
	add(fs, &setting{flag: "shutdown-drain", env: "ROSTER_SHUTDOWN_DRAIN", def: "5s", arg: "DURATION",
		help:  "on SIGTERM or SIGINT, /readyz and /healthz answer 503 at once and every listener keeps serving this long (0: no wait), then in-flight requests get up to 10s to finish",
		apply: checkDuration(&c.ShutdownDrain, 0)})
	add(fs, &setting{flag: "upgrade-url", env: "ROSTER_UPGRADE_URL", arg: "URL", defNote: "unset: the console names ROSTER_SUPPORT_EMAIL instead",
		help:  "where the console's \"Upgrade\" button on the standard plan's notices leads: an https:// (or http://) page or a mailto: address",
		apply: checkUpgradeURL(&c.UpgradeURL)})
	add(fs, &setting{flag: "support-email", env: "ROSTER_SUPPORT_EMAIL", arg: "ADDRESS", defNote: "unset: none shown",
		help:  "the operator's contact address the console names where a person needs the operator (the plan, without ROSTER_UPGRADE_URL)",
		apply: checkSupportEmail(&c.SupportEmail)})
	add(fs, &setting{flag: "max-staleness", env: "ROSTER_MAX_STALENESS", def: "1s", arg: "DURATION",
		help:  "the staleness bound: a replica whose check index was not confirmed current with the database within it answers checks and member requests 503 with Retry-After instead of allowing (100ms to 10m)",
		apply: checkDurationRange(&c.MaxStaleness, MinMaxStaleness, MaxMaxStaleness)})
	add(fs, &setting{flag: "dns-server", env: "ROSTER_DNS_SERVER", arg: "HOST:PORT", defNote: "unset: the system's resolver",
		help:  "the DNS server that domain verification asks for TXT records (UDP, then TCP for long answers), e.g. 1.1.1.1:53",
		apply: checkDNSServer(&c.DNSServer)})
	add(fs, &setting{flag: "db-timeout", env: "ROSTER_DB_TIMEOUT", def: "5s", arg: "DURATION",
		help:  "each database statement, and each attempt of a transaction, may take this long; past it the request answers 503 with Retry-After (at least 100ms)",
		apply: checkDuration(&c.DBTimeout, 100*time.Millisecond)})
}

// setting is one configuration value: a flag, its environment variable
// and its default. A flag given on the command line wins over the
// variable, which wins over the default. The value is checked after
// parsing (resolve), whichever of the three it came from, and a bad one
// stops the command with a usage error naming where it came from.
//
// A secret is never taken from the command line: the process's arguments
// show in ps, in /proc and on the admin listener's /debug/pprof/cmdline.
// A secret setting (a token) refuses its flag altogether; a URL setting
// refuses its flag when the URL carries a password. Each secret may also
// come from a file named by its _FILE variable (fileEnv), for secrets
// mounted by an orchestrator; setting both the variable and the file is
// refused, since neither is more specific than the other.
type setting struct {
	flag    string
	env     string
	fileEnv string // the variable naming a file that holds the value ("": none)
	def     string // the default value ("" allowed)
	defNote string // how the help shows an empty default ("" : no default shown)
	arg     string // the value's placeholder in the help
	help    string
	secret  bool // never shown, never a flag
	redact  bool // shown without its user and password
	// flagNoPassword refuses the flag when its value carries a password.
	flagNoPassword bool
	apply          func(v string) error

	order int // registration order, for the help
	raw   string
	set   bool // given on the command line
}

var settingOrder atomic.Int64

func add(fs *flag.FlagSet, s *setting) {
	s.order = int(settingOrder.Add(1))
	fs.Var(s, s.flag, s.help+" ("+s.env+")")
}

// String and Set make a setting a flag.Value. Set keeps the text: resolve
// checks it.
func (s *setting) String() string {
	if s == nil {
		return ""
	}
	return s.raw
}

func (s *setting) Set(v string) error {
	s.raw, s.set = v, true
	return nil
}

// resolve picks the value (flag, variable or file, default), checks it and
// stores it in the config.
func (s *setting) resolve() error {
	v, from := s.def, "the default of --"+s.flag
	env, envSet := os.LookupEnv(s.env)
	file, fileSet := "", false
	if s.fileEnv != "" {
		file, fileSet = os.LookupEnv(s.fileEnv)
	}
	switch {
	case s.set && s.secret:
		return fmt.Errorf("--%s: a secret is never taken from the command line, where ps and the admin listener's /debug/pprof/cmdline show it: set %s, or %s to a file holding it",
			s.flag, s.env, s.fileEnv)
	case s.set && s.flagNoPassword && hasPassword(s.raw):
		return fmt.Errorf("--%s=%s carries a password, and the command line shows in ps and on the admin listener's /debug/pprof/cmdline: set %s, or %s to a file holding the URL",
			s.flag, strconv.Quote(redactURL(s.raw)), s.env, s.fileEnv)
	case s.set:
		v, from = s.raw, "--"+s.flag
	case envSet && fileSet:
		return fmt.Errorf("%s and %s are both set: set one of them", s.env, s.fileEnv)
	case fileSet:
		content, err := readSecretFile(file)
		if err != nil {
			return fmt.Errorf("%s=%s: %v", s.fileEnv, strconv.Quote(file), err)
		}
		v, from = content, s.fileEnv+"="+strconv.Quote(file)+", which holds"
	case envSet:
		v, from = env, s.env
	}
	if err := s.apply(v); err != nil {
		shown := strconv.Quote(v)
		switch {
		case s.secret:
			shown = "(hidden)"
		case s.redact:
			shown = strconv.Quote(redactURL(v))
		}
		if fileSet && !s.set {
			return fmt.Errorf("%s %s: %v", from, shown, err)
		}
		other := s.env
		if from == s.env {
			other = "--" + s.flag
			if s.secret {
				other = s.fileEnv
			}
		}
		return fmt.Errorf("%s=%s (or %s): %v", from, shown, other, err)
	}
	return nil
}

// maxSecretFile bounds a _FILE read: a secret is a line, and a mistaken
// path (a log, /dev/zero) must not be read whole.
const maxSecretFile = 64 << 10

// readSecretFile returns the content of a _FILE setting's file without the
// line breaks at its end (editors and echo add one; no secret ends with
// one). An empty file is refused: it is a mistake, not a way to unset.
func readSecretFile(path string) (string, error) {
	if path == "" {
		return "", errors.New("names no file")
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read it: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("cannot read it: %w", err)
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("the file is larger than %d KiB: it is not a secret", maxSecretFile>>10)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", errors.New("the file is empty")
	}
	return v, nil
}

// hasPassword reports whether a URL carries a password: in its user
// information, or as a password= parameter (which pgx reads too).
func hasPassword(v string) bool {
	u, err := url.Parse(v)
	if err != nil {
		// Unparsable: it may still hold one; treat it as a secret.
		return strings.Contains(v, "@") || strings.Contains(strings.ToLower(v), "password")
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			return true
		}
	}
	return u.Query().Has("password")
}

// parse parses the command line, refuses arguments left over, and checks
// every setting.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("%s: unexpected argument %q (flags are --name=value)", fs.Name(), fs.Arg(0))}
	}
	return resolveSettings(fs)
}

// parseWithArgs is parse for commands with positional arguments: they may
// come before, between or after the flags. It returns them.
func parseWithArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return pos, resolveSettings(fs)
}

func resolveSettings(fs *flag.FlagSet) error {
	var problems []string
	for _, s := range settingsOf(fs) {
		if err := s.resolve(); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return usageError{strings.Join(problems, "\n")}
	}
	return nil
}

func settingsOf(fs *flag.FlagSet) []*setting {
	var out []*setting
	fs.VisitAll(func(f *flag.Flag) {
		if s, ok := f.Value.(*setting); ok {
			out = append(out, s)
		}
	})
	slices.SortFunc(out, func(a, b *setting) int { return a.order - b.order })
	return out
}

// synopsis is the first line of each command's help.
var synopsis = map[string]string{
	"serve":          "roster serve [flags]\n\nRuns the API and the console.",
	"migrate":        "roster migrate [flags]\n\nApplies the database migrations and exits.",
	"migrate status": "roster migrate status [--json] [flags]\n\nLists the migrations this roster embeds, applied or pending. Applies nothing.",
	"migrate down":   "roster migrate down --to VERSION [--yes] [flags]\n\nRolls the schema back to VERSION, newest migration first. Without --yes, says what it would do.",
	"healthcheck":    "roster healthcheck [--timeout D] [flags]\n\nAsks serve's admin listener (GET /readyz at ROSTER_ADMIN_ADDR) and exits 0 if ready, 1 otherwise:\nthe container health check of an image without a shell.",
	"account plan":   "roster account plan ACCOUNT_ID (--committed --monthly-usd N --months M | --standard) [flags]",
	"account list":   "roster account list [--limit N] [--after ACCOUNT_ID] [--json] [flags]",
	"account show":   "roster account show ACCOUNT_ID [--members N] [--json] [flags]",
	"user show":      "roster user show EMAIL [--json] [flags]",
	"audit export":   "roster audit export ACCOUNT_ID [--since RFC3339] [flags]\n\nWrites the account's audit events, oldest first, one JSON object a line.",
	"pricing import": "roster pricing import FILE.csv [flags]",
}

// setUsage makes fs's help list the command's own flags, then every
// setting with its variable and default (never a secret's value, nor a
// value from the environment).
func setUsage(fs *flag.FlagSet) {
	fs.Usage = func() {
		w := fs.Output()
		syn := synopsis[fs.Name()]
		if syn == "" {
			syn = "roster " + fs.Name() + " [flags]"
		}
		fmt.Fprintf(w, "usage: %s\n", syn)
		var own []*flag.Flag
		fs.VisitAll(func(f *flag.Flag) {
			if _, ok := f.Value.(*setting); !ok {
				own = append(own, f)
			}
		})
		if len(own) > 0 {
			fmt.Fprintln(w, "\nFlags:")
			for _, f := range own {
				name, usage := flag.UnquoteUsage(f)
				fmt.Fprintf(w, "  %s\n      %s\n", strings.TrimSpace("--"+f.Name+" "+name), usage)
			}
		}
		fmt.Fprintln(w, "\nSettings: each is a flag and an environment variable; the flag wins, then the variable, then the default.")
		fmt.Fprintln(w, "Secrets never come from the command line, which ps and the admin listener's /debug/pprof/cmdline show:")
		fmt.Fprintln(w, "tokens are environment-only, and a URL with a password is refused as a flag. Each secret can also be read")
		fmt.Fprintln(w, "from a file named by its _FILE variable (line breaks at its end are dropped); setting both is refused.")
		for _, s := range settingsOf(fs) {
			def := s.defNote
			if s.def != "" {
				def = "default " + s.def
			}
			if def != "" {
				def = ", " + def
			}
			env := s.env
			if s.fileEnv != "" {
				env += " or " + s.fileEnv
			}
			if s.secret {
				fmt.Fprintf(w, "  %s=%s  (environment only, never a flag%s)\n      %s\n", s.env, s.arg, def, s.help)
				fmt.Fprintf(w, "  %s=PATH  (a file holding it)\n", s.fileEnv)
				continue
			}
			fmt.Fprintf(w, "  --%s %s  (%s%s)\n      %s\n", s.flag, s.arg, env, def, s.help)
		}
	}
}

// The checks: each stores a good value and explains a bad one.

func checkDuration(p *time.Duration, least time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("not a duration: write it like 90s, 30m, 12h or 168h (units: s, m, h)")
		}
		if d < least {
			return fmt.Errorf("%v is too short: at least %v", d, least)
		}
		*p = d
		return nil
	}
}

// The range of ROSTER_MAX_STALENESS: under 100ms the follower's 50ms
// interval and a catch-up's own time leave no room, and a busy machine
// answers 503; over 10 minutes a replica cut off from its database would
// go on allowing revoked access for longer than anyone should accept.
const (
	MinMaxStaleness = 100 * time.Millisecond
	MaxMaxStaleness = 10 * time.Minute
)

// checkDurationRange takes a duration from least to most.
func checkDurationRange(p *time.Duration, least, most time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("not a duration: write it like 500ms, 1s, 5s or 1m (units: ms, s, m)")
		}
		if d < least || d > most {
			return fmt.Errorf("%v is out of range: from %v to %v", d, least, most)
		}
		*p = d
		return nil
	}
}

func checkHostPort(p *string, optional bool) func(string) error {
	return func(v string) error {
		if v == "" && optional {
			*p = ""
			return nil
		}
		host, port, err := net.SplitHostPort(v)
		if err != nil {
			return fmt.Errorf("not HOST:PORT (e.g. 127.0.0.1:8080, :8080 or [::1]:8080)")
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("the port %q is not a number from 0 to 65535", port)
		}
		if host != "" && net.ParseIP(host) == nil && !validHostname(host) {
			return fmt.Errorf("the host %q is neither an IP address nor a host name", host)
		}
		*p = v
		return nil
	}
}

// checkDNSServer takes HOST:PORT with both parts ("" for none).
func checkDNSServer(p *string) func(string) error {
	return func(v string) error {
		if err := checkHostPort(p, true)(v); err != nil || v == "" {
			return err
		}
		host, port, _ := net.SplitHostPort(v)
		if host == "" || port == "0" {
			*p = ""
			return fmt.Errorf("name the server's host and port, e.g. 1.1.1.1:53 or [2606:4700:4700::1111]:53")
		}
		return nil
	}
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func checkBaseURL(p *string) func(string) error {
	return func(v string) error {
		if v == "" {
			*p = ""
			return nil
		}
		u, err := url.Parse(v)
		if err != nil {
			return fmt.Errorf("not a URL: %v", errors.Unwrap(err))
		}
		switch {
		case u.Scheme != "http" && u.Scheme != "https":
			return fmt.Errorf("must start with https:// (or http://)")
		case u.Host == "" || u.Hostname() == "":
			return fmt.Errorf("has no host")
		case u.User != nil:
			return fmt.Errorf("must not carry a user or password")
		case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(v, "?") || strings.HasSuffix(v, "#"):
			// The "..." ends a path pattern, not a sentence, and the text is
			// what operators see today.
			//lint:ignore ST1005 the message is kept as operators see it
			return fmt.Errorf("must not have a ?query or #fragment: links are made by appending /verify/..., /invite/...")
		}
		*p = v
		return nil
	}
}

func checkSMTPURL(p *string) func(string) error {
	return func(v string) error {
		if v == "" {
			*p = ""
			return nil
		}
		u, err := url.Parse(v)
		if err != nil {
			return fmt.Errorf("not a URL")
		}
		switch {
		case u.Scheme != "smtp" && u.Scheme != "smtps":
			return fmt.Errorf("must start with smtp:// (STARTTLS when offered) or smtps:// (TLS)")
		case u.Hostname() == "":
			return fmt.Errorf("has no host")
		}
		if port := u.Port(); port != "" {
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				return fmt.Errorf("the port %q is not a number from 1 to 65535", port)
			}
		}
		*p = v
		return nil
	}
}

func checkDatabase(p *string) func(string) error {
	return func(v string) error {
		lower := strings.ToLower(v)
		switch {
		case strings.TrimSpace(v) == "":
			return fmt.Errorf("empty: give a SQLite file path or a postgres:// URL")
		case strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://"):
			if !strings.HasPrefix(v, "postgres://") && !strings.HasPrefix(v, "postgresql://") {
				return fmt.Errorf("write the scheme in lower case: postgres://")
			}
			if _, err := pgconn.ParseConfig(v); err != nil {
				msg := err.Error()
				if i := strings.LastIndex(msg, "`: "); i >= 0 {
					msg = msg[i+3:] // the value itself is shown already, redacted
				}
				return fmt.Errorf("not a PostgreSQL URL: %s", msg)
			}
		case strings.HasPrefix(lower, "postgres:") || strings.HasPrefix(lower, "postgresql:"):
			return fmt.Errorf("a PostgreSQL URL starts with postgres://")
		case strings.Contains(v, "://"):
			return fmt.Errorf("only postgres:// URLs are supported; anything else is a SQLite file path")
		}
		*p = v
		return nil
	}
}

// isPostgresURL reports whether a ROSTER_DATABASE value names PostgreSQL.
func isPostgresURL(v string) bool {
	return strings.HasPrefix(v, "postgres://") || strings.HasPrefix(v, "postgresql://")
}

// checkDatabaseRead accepts a PostgreSQL URL only (one host or several):
// standbys are PostgreSQL's.
func checkDatabaseRead(p *string) func(string) error {
	return func(v string) error {
		if v == "" {
			*p = ""
			return nil
		}
		if !isPostgresURL(strings.ToLower(v)) {
			return fmt.Errorf("must be a postgres:// URL naming one standby or several (postgres://h1:5432,h2:5432/roster)")
		}
		var got string
		if err := checkDatabase(&got)(v); err != nil {
			return err
		}
		*p = got
		return nil
	}
}

func checkMailFrom(p *string) func(string) error {
	return func(v string) error {
		if _, err := netmail.ParseAddress(v); err != nil {
			return fmt.Errorf("not a mail address (e.g. Roster <no-reply@example.com>)")
		}
		*p = v
		return nil
	}
}

// checkUpgradeURL takes an http(s) URL with a host, or a mailto: with one
// address: the only links a button for a person may lead to (no
// javascript:, no relative path).
func checkUpgradeURL(p *string) func(string) error {
	return func(v string) error {
		if v == "" {
			*p = ""
			return nil
		}
		u, err := url.Parse(v)
		if err != nil {
			return fmt.Errorf("not a URL: %v", errors.Unwrap(err))
		}
		switch u.Scheme {
		case "http", "https":
			if u.Host == "" || u.Hostname() == "" {
				return fmt.Errorf("has no host")
			}
			if u.User != nil {
				return fmt.Errorf("must not carry a user or password")
			}
		case "mailto":
			if _, err := netmail.ParseAddress(u.Opaque); err != nil || u.Opaque == "" || strings.Contains(u.Opaque, ",") {
				return fmt.Errorf("a mailto: needs one mail address (mailto:sales@example.com)")
			}
		default:
			return fmt.Errorf("must be an https:// (or http://) URL or a mailto: address")
		}
		*p = v
		return nil
	}
}

// checkSupportEmail takes a bare mail address (sales@example.com): it is
// shown to people and written into a mailto: link.
func checkSupportEmail(p *string) func(string) error {
	return func(v string) error {
		if v == "" {
			*p = ""
			return nil
		}
		a, err := netmail.ParseAddress(v)
		if err != nil || a.Address != strings.TrimSpace(v) {
			return fmt.Errorf("not a bare mail address (e.g. support@example.com)")
		}
		*p = a.Address
		return nil
	}
}

func checkToken(p *string) func(string) error {
	return func(v string) error {
		if strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return fmt.Errorf("contains a space or control character: a bearer token with one can never match")
		}
		*p = v
		return nil
	}
}

func checkDomains(p *string) func(string) error {
	return func(v string) error {
		for _, d := range strings.Split(v, ",") {
			if d = strings.ToLower(strings.TrimSpace(d)); d == "" {
				continue
			}
			if _, err := idna.Lookup.ToASCII(d); err != nil || strings.ContainsAny(d, "@/ ") {
				return fmt.Errorf("%q is not a domain (write example.com, not an address or URL)", d)
			}
		}
		*p = v
		return nil
	}
}

func checkProxies(p *string) func(string) error {
	return func(v string) error {
		if _, err := edge.ParseProxies(v); err != nil {
			return err
		}
		*p = v
		return nil
	}
}

func checkBool(p *bool) func(string) error {
	return func(v string) error {
		switch v {
		case "true":
			*p = true
		case "false":
			*p = false
		default:
			return fmt.Errorf("must be true or false")
		}
		return nil
	}
}

// checkLogLevel takes one of the four level names, in lower case as
// documented.
func checkLogLevel(p *slog.Level) func(string) error {
	return func(v string) error {
		levels := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}
		l, ok := levels[v]
		if !ok {
			return fmt.Errorf("must be one of debug, info, warn, error")
		}
		*p = l
		return nil
	}
}

func checkOneOf(p *string, allowed ...string) func(string) error {
	return func(v string) error {
		if !slices.Contains(allowed, v) {
			return fmt.Errorf("must be one of %s", strings.Join(allowed, ", "))
		}
		*p = v
		return nil
	}
}
