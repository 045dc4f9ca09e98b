package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServe_RefusesBadSettings: a bad duration, URL, address or choice,
// from a flag or from the environment, stops `roster serve` before it
// opens anything, with a usage error (exit status 2) that names the
// setting and what is wrong, and never shows a secret.
func TestServe_RefusesBadSettings(t *testing.T) {
	for _, tc := range []struct {
		env   []string // NAME=value
		args  []string
		want  []string // all in the message
		never []string // none in the message
	}{
		{env: []string{"ROSTER_SESSION_TTL=2w"}, want: []string{"ROSTER_SESSION_TTL", `"2w"`, "not a duration"}},
		{args: []string{"--invite-ttl=soon"}, want: []string{"--invite-ttl", `"soon"`, "not a duration"}},
		{env: []string{"ROSTER_SESSION_IDLE=10s"}, want: []string{"ROSTER_SESSION_IDLE", "too short"}},
		{env: []string{"ROSTER_SESSION_IDLE="}, want: []string{"ROSTER_SESSION_IDLE", "not a duration"}},
		{env: []string{"ROSTER_OUTBOX_RETENTION=-1h"}, want: []string{"ROSTER_OUTBOX_RETENTION", "too short"}},
		{args: []string{"--changes-retention", "1d"}, want: []string{"--changes-retention", `"1d"`}},
		{env: []string{"ROSTER_BASE_URL=roster.example.com"}, want: []string{"ROSTER_BASE_URL", "https://"}},
		{args: []string{"--base-url=https://roster.example.com/?x=1"}, want: []string{"--base-url", "?query"}},
		{env: []string{"ROSTER_SMTP_URL=mail.example.com:587"}, want: []string{"ROSTER_SMTP_URL", "smtp://"}},
		{env: []string{"ROSTER_SMTP_URL=smtp://user:hunter2@:587"}, want: []string{"ROSTER_SMTP_URL", "no host"}, never: []string{"hunter2"}},
		{env: []string{"ROSTER_DATABASE=postgres://u:hunter2@db.example:port/roster"}, want: []string{"ROSTER_DATABASE", "PostgreSQL"}, never: []string{"hunter2"}},
		{args: []string{"--database=postgres:/db.example/roster"}, want: []string{"--database", "postgres://"}},
		{env: []string{"ROSTER_DATABASE=mysql://db.example/roster"}, want: []string{"ROSTER_DATABASE", "only postgres://"}},
		{env: []string{"ROSTER_ADDR=8080"}, want: []string{"ROSTER_ADDR", "HOST:PORT"}},
		{env: []string{"ROSTER_ADMIN_ADDR=localhost:99999"}, want: []string{"ROSTER_ADMIN_ADDR", "99999"}},
		{args: []string{"--grpc-addr=:grpc"}, want: []string{"--grpc-addr", `"grpc"`}},
		{args: []string{"--grpc-addr=bad_host:9000"}, want: []string{"--grpc-addr", "host name"}},
		{env: []string{"ROSTER_LOG_FORMAT=yaml"}, want: []string{"ROSTER_LOG_FORMAT", "text, json"}},
		{env: []string{"ROSTER_LOG_LEVEL=verbose"}, want: []string{"ROSTER_LOG_LEVEL", `"verbose"`, "debug, info, warn, error"}},
		{args: []string{"--log-level=DEBUG"}, want: []string{"--log-level", `"DEBUG"`, "debug, info, warn, error"}},
		{env: []string{"ROSTER_LOG_LEVEL="}, want: []string{"ROSTER_LOG_LEVEL", "debug, info, warn, error"}},
		{env: []string{"ROSTER_MAIL_FROM=nobody"}, want: []string{"ROSTER_MAIL_FROM", "mail address"}},
		{env: []string{"ROSTER_OPERATOR_TOKEN=two words"}, want: []string{"ROSTER_OPERATOR_TOKEN", "(hidden)"}, never: []string{"two words"}},
		{env: []string{"ROSTER_PERSONAL_DOMAINS_EXTRA=mail.example, someone@example.com"}, want: []string{"ROSTER_PERSONAL_DOMAINS_EXTRA", "someone@example.com"}},
		{args: []string{"--trust-proxy", "10.0.0.0/99"}, want: []string{"--trust-proxy", "10.0.0.0/99"}},
		{args: []string{"--admin-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:7000", "--addr", "127.0.0.1:7000"}, want: []string{"ROSTER_ADDR", "ROSTER_GRPC_ADDR", "its own address"}},
		{args: []string{"extra"}, want: []string{"unexpected argument", "extra"}},
		{env: []string{"ROSTER_SHUTDOWN_DRAIN=-1s"}, want: []string{"ROSTER_SHUTDOWN_DRAIN", "too short"}},
		{env: []string{"ROSTER_UPGRADE_URL=javascript:alert(1)"}, want: []string{"ROSTER_UPGRADE_URL", "https://", "mailto:"}},
		{env: []string{"ROSTER_UPGRADE_URL=/upgrade"}, want: []string{"ROSTER_UPGRADE_URL", "https://"}},
		{args: []string{"--upgrade-url=https:///upgrade"}, want: []string{"--upgrade-url", "no host"}},
		{env: []string{"ROSTER_UPGRADE_URL=mailto:sales"}, want: []string{"ROSTER_UPGRADE_URL", "one mail address"}},
		{env: []string{"ROSTER_UPGRADE_URL=mailto:a@example.com,b@example.com"}, want: []string{"ROSTER_UPGRADE_URL", "one mail address"}},
		{env: []string{"ROSTER_SUPPORT_EMAIL=support"}, want: []string{"ROSTER_SUPPORT_EMAIL", "bare mail address"}},
		{args: []string{"--support-email=Support <support@example.com>"}, want: []string{"--support-email", "bare mail address"}},
		{args: []string{"--shutdown-drain=5"}, want: []string{"--shutdown-drain", "not a duration"}},
		{env: []string{"ROSTER_DB_TIMEOUT=50ms"}, want: []string{"ROSTER_DB_TIMEOUT", "too short"}},
		{env: []string{"ROSTER_DB_TIMEOUT=0"}, want: []string{"ROSTER_DB_TIMEOUT", "too short"}},
		{args: []string{"--db-timeout=5"}, want: []string{"--db-timeout", "not a duration"}},
		// Secrets never come from the command line (ps, /debug/pprof/cmdline).
		{args: []string{"--service-token=flag-secret-1"}, want: []string{"--service-token", "ROSTER_SERVICE_TOKEN_FILE", "/debug/pprof/cmdline"}, never: []string{"flag-secret-1"}},
		{args: []string{"--operator-token", "flag-secret-2"}, want: []string{"--operator-token", "ROSTER_OPERATOR_TOKEN", "ROSTER_OPERATOR_TOKEN_FILE"}, never: []string{"flag-secret-2"}},
		{args: []string{"--database=postgres://u:hunter2@db.example/roster"}, want: []string{"--database", "password", "ROSTER_DATABASE_FILE"}, never: []string{"hunter2"}},
		{args: []string{"--database=postgres://u@db.example/roster?sslmode=require&password=hunter2"}, want: []string{"--database", "password", "ROSTER_DATABASE"}, never: []string{"hunter2"}},
		{args: []string{"--smtp-url=smtp://u:hunter2@mail.example:587"}, want: []string{"--smtp-url", "password", "ROSTER_SMTP_URL_FILE"}, never: []string{"hunter2"}},
		// A secret in the variable and in a file: neither wins.
		{env: []string{"ROSTER_SERVICE_TOKEN=env-secret-3", "ROSTER_SERVICE_TOKEN_FILE=/etc/hostname"}, want: []string{"ROSTER_SERVICE_TOKEN and ROSTER_SERVICE_TOKEN_FILE are both set"}, never: []string{"env-secret-3"}},
		{env: []string{"ROSTER_DATABASE=roster.db", "ROSTER_DATABASE_FILE=/etc/hostname"}, want: []string{"ROSTER_DATABASE and ROSTER_DATABASE_FILE are both set"}},
		// A file that cannot be read, or holds nothing.
		{env: []string{"ROSTER_SERVICE_TOKEN_FILE=/nonexistent/roster-token"}, want: []string{"ROSTER_SERVICE_TOKEN_FILE", "/nonexistent/roster-token", "no such file"}},
		{env: []string{"ROSTER_OPERATOR_TOKEN_FILE=/"}, want: []string{"ROSTER_OPERATOR_TOKEN_FILE", "cannot read it", "directory"}},
		{env: []string{"ROSTER_SMTP_URL_FILE=/dev/null"}, want: []string{"ROSTER_SMTP_URL_FILE", "/dev/null", "empty"}},
		{env: []string{"ROSTER_DATABASE_FILE="}, want: []string{"ROSTER_DATABASE_FILE", "names no file"}},
		// The flag wins over a bad variable: only the other problem is told.
		{env: []string{"ROSTER_SESSION_TTL=2w", "ROSTER_LOG_FORMAT=yaml"}, args: []string{"--session-ttl=1h"},
			want: []string{"ROSTER_LOG_FORMAT"}, never: []string{"SESSION_TTL", "session-ttl"}},
		// Every problem at once.
		{env: []string{"ROSTER_INVITE_TTL=1 week", "ROSTER_BASE_URL=example.com"}, args: []string{"--addr=localhost"},
			want: []string{"ROSTER_INVITE_TTL", "ROSTER_BASE_URL", "--addr"}},
	} {
		name := strings.Join(append(append([]string{}, tc.env...), tc.args...), " ")
		t.Run(name, func(t *testing.T) {
			for _, kv := range tc.env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			path := filepath.Join(t.TempDir(), "s.db")
			args := []string{"serve"}
			if !strings.Contains(name, "database") && !strings.Contains(name, "DATABASE") {
				args = append(args, "--database", path)
			}
			if !strings.Contains(name, "--addr") && !strings.Contains(name, "ROSTER_ADDR=") {
				args = append(args, "--addr", "127.0.0.1:0")
			}
			if !strings.Contains(name, "--admin-addr") && !strings.Contains(name, "ADMIN_ADDR") {
				args = append(args, "--admin-addr", "127.0.0.1:0")
			}
			// Should it start after all, it stops when ctx ends and the
			// test fails instead of hanging.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var outBuf bytes.Buffer
			err := run(ctx, append(args, tc.args...), &outBuf, &outBuf)
			out := outBuf.String()
			var ue usageError
			if !errors.As(err, &ue) {
				t.Fatalf("serve %v: err = %v (%T), want a usage error; output %q", tc.args, err, err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			for _, n := range tc.never {
				if strings.Contains(err.Error()+out, n) {
					t.Errorf("error %q shows %q", err, n)
				}
			}
			if _, err := os.Stat(path); err == nil {
				t.Error("serve opened the database before refusing its configuration")
			}
		})
	}
}

// TestServe_GoodSettingsPass: values that are right are taken as they are.
func TestServe_GoodSettingsPass(t *testing.T) {
	// The defaults.
	var d config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	d.serveFlags(fs)
	if err := parse(fs, nil); err != nil {
		t.Fatal(err)
	}
	if d.Addr != "127.0.0.1:8080" || d.AdminAddr != "127.0.0.1:8079" || d.GRPCAddr != "" || d.OutboxRetention.Hours() != 168 ||
		d.ChangesRetention.Hours() != 24 || d.LogFormat != "text" || d.SessionIdle.Hours() != 12 || d.InviteTTL.Hours() != 168 ||
		d.ShutdownDrain != 5*time.Second || d.DBTimeout != 5*time.Second {
		t.Errorf("defaults: %+v", d)
	}
	if d.LogLevel != slog.LevelInfo {
		t.Errorf("default log level %v, want info", d.LogLevel)
	}

	t.Setenv("ROSTER_SESSION_TTL", "720h")
	t.Setenv("ROSTER_SMTP_URL", "smtps://user:pw@mail.example.com:465")
	t.Setenv("ROSTER_GRPC_ADDR", "[::1]:7443")
	t.Setenv("ROSTER_UPGRADE_URL", "mailto:sales@example.com")
	t.Setenv("ROSTER_SUPPORT_EMAIL", "ops@example.com")
	var c config
	fs = flag.NewFlagSet("serve", flag.ContinueOnError)
	c.serveFlags(fs)
	err := parse(fs, []string{"--database=postgres://roster@db.example:5432/roster?sslmode=require", "--base-url=https://roster.example.com/console",
		"--admin-addr=", "--outbox-retention=48h", "--changes-retention=2h", "--personal-domains-extra=mail.example, bücher.example", "--trust-proxy=10.0.0.0/8",
		"--shutdown-drain=0"})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := c.server()
	if err != nil {
		t.Fatal(err)
	}
	if sc.SessionTTL.Hours() != 720 || sc.SMTPURL != "smtps://user:pw@mail.example.com:465" || sc.GRPCAddr != "[::1]:7443" ||
		sc.AdminAddr != "" || sc.OutboxRetention.Hours() != 48 || sc.ChangesRetention.Hours() != 2 ||
		sc.Database != "postgres://roster@db.example:5432/roster?sslmode=require" || sc.BaseURL != "https://roster.example.com/console" ||
		len(sc.PersonalExtra) != 2 || sc.Addr != "127.0.0.1:8080" {
		t.Errorf("server config: %+v", sc)
	}
	if sc.UpgradeURL != "mailto:sales@example.com" || sc.SupportEmail != "ops@example.com" {
		t.Errorf("upgrade and support: %q %q", sc.UpgradeURL, sc.SupportEmail)
	}
	if err := checkUpgradeURL(&sc.UpgradeURL)("https://billing.example.com/upgrade?plan=committed"); err != nil || sc.UpgradeURL != "https://billing.example.com/upgrade?plan=committed" {
		t.Errorf("an https upgrade URL: %v %q", err, sc.UpgradeURL)
	}
	if c.ShutdownDrain != 0 {
		t.Errorf("--shutdown-drain=0: %v, want no drain", c.ShutdownDrain)
	}
}

// TestServe_SecretsFromFiles: each secret can be read from the file its
// _FILE variable names, without the trailing line break an editor or
// echo leaves; a flag still wins over the file (when it carries no
// password), as over any variable.
func TestServe_SecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	t.Setenv("ROSTER_SERVICE_TOKEN_FILE", write("service", "svc-from-a-file\n"))
	t.Setenv("ROSTER_OPERATOR_TOKEN_FILE", write("operator", "op-from-a-file\r\n"))
	t.Setenv("ROSTER_DATABASE_FILE", write("database", "postgres://roster:pw@db.example:5432/roster?sslmode=require\n"))
	t.Setenv("ROSTER_SMTP_URL_FILE", write("smtp", "smtps://user:pw@mail.example.com:465")) // no line break at all
	var c config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c.serveFlags(fs)
	if err := parse(fs, nil); err != nil {
		t.Fatal(err)
	}
	sc, err := c.server()
	if err != nil {
		t.Fatal(err)
	}
	if sc.ServiceToken != "svc-from-a-file" || sc.OperatorToken != "op-from-a-file" ||
		sc.Database != "postgres://roster:pw@db.example:5432/roster?sslmode=require" || sc.SMTPURL != "smtps://user:pw@mail.example.com:465" {
		t.Errorf("from files: service %q, operator %q, database %q, smtp %q", sc.ServiceToken, sc.OperatorToken, sc.Database, sc.SMTPURL)
	}

	// A bad value in a file is named by the variable and the path, and a
	// token's value is never shown.
	t.Setenv("ROSTER_SERVICE_TOKEN_FILE", write("bad", "two words\n"))
	fs = flag.NewFlagSet("serve", flag.ContinueOnError)
	c.serveFlags(fs)
	err = parse(fs, nil)
	if err == nil || !strings.Contains(err.Error(), "ROSTER_SERVICE_TOKEN_FILE") || !strings.Contains(err.Error(), filepath.Join(dir, "bad")) ||
		!strings.Contains(err.Error(), "(hidden)") || strings.Contains(err.Error(), "two words") {
		t.Errorf("a bad token in a file: %v", err)
	}

	// The flag wins over the file.
	t.Setenv("ROSTER_SERVICE_TOKEN_FILE", filepath.Join(dir, "service"))
	var d config
	fs = flag.NewFlagSet("migrate", flag.ContinueOnError)
	d.flags(fs)
	if err := parse(fs, []string{"--database", filepath.Join(dir, "r.db")}); err != nil || d.Database != filepath.Join(dir, "r.db") {
		t.Errorf("--database with ROSTER_DATABASE_FILE set: %v, %q", err, d.Database)
	}
}

// TestServe_HelpListsEverySetting: `roster serve --help` shows every
// setting with its flag, its variable and its default, never a value from
// the environment; docs/operations.md documents each of them too.
func TestServe_HelpListsEverySetting(t *testing.T) {
	t.Setenv("ROSTER_SERVICE_TOKEN", "token-from-the-environment")
	t.Setenv("ROSTER_ADDR", "10.9.8.7:1234")
	out, err := runCLI(t, "serve", "--help")
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("serve --help: %v", err)
	}
	var c config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c.serveFlags(fs)
	var own []string
	fs.VisitAll(func(f *flag.Flag) {
		if _, ok := f.Value.(*setting); !ok {
			own = append(own, f.Name)
		}
	})
	if len(own) > 0 {
		t.Errorf("serve flags without an environment variable: %v", own)
	}
	docs, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	settings := settingsOf(fs)
	for _, s := range settings {
		if s.secret {
			// A token is environment-only: the help shows its variables,
			// never a flag.
			for _, v := range []string{s.env, s.fileEnv} {
				if !regexp.MustCompile(`(?m)^  ` + v + `=`).MatchString(out) {
					t.Errorf("serve --help has no line for %s:\n%s", v, out)
				}
				if !strings.Contains(string(docs), "`"+v+"`") {
					t.Errorf("docs/operations.md does not document %s", v)
				}
			}
			if regexp.MustCompile(`(?m)^  --` + regexp.QuoteMeta(s.flag) + ` `).MatchString(out) {
				t.Errorf("serve --help offers --%s, a secret on the command line", s.flag)
			}
			continue
		}
		line := regexp.MustCompile(`(?m)^  --` + regexp.QuoteMeta(s.flag) + ` .*\(` + s.env + `[ ,)].*$`).FindString(out)
		if line == "" {
			t.Errorf("serve --help has no line for --%s with %s:\n%s", s.flag, s.env, out)
		} else if s.def != "" && !strings.Contains(line, "default "+s.def) {
			t.Errorf("serve --help line for --%s does not show its default %q: %s", s.flag, s.def, line)
		} else if s.fileEnv != "" && !strings.Contains(line, s.fileEnv) {
			t.Errorf("serve --help line for --%s does not name %s: %s", s.flag, s.fileEnv, line)
		}
		if !strings.Contains(string(docs), "`"+s.env+"`") || !strings.Contains(string(docs), "`--"+s.flag+"`") {
			t.Errorf("docs/operations.md does not document %s / --%s", s.env, s.flag)
		}
		if s.fileEnv != "" && !strings.Contains(string(docs), "`"+s.fileEnv+"`") {
			t.Errorf("docs/operations.md does not document %s", s.fileEnv)
		}
	}
	// The help says why secrets are not flags, and where they go instead.
	for _, want := range []string{"/debug/pprof/cmdline", "_FILE"} {
		if !strings.Contains(out, want) {
			t.Errorf("serve --help does not mention %s:\n%s", want, out)
		}
	}
	for _, env := range []string{"ROSTER_ADDR", "ROSTER_DATABASE", "ROSTER_BASE_URL", "ROSTER_SMTP_URL", "ROSTER_MAIL_FROM",
		"ROSTER_SERVICE_TOKEN", "ROSTER_OPERATOR_TOKEN", "ROSTER_INVITE_TTL", "ROSTER_SESSION_TTL", "ROSTER_SESSION_IDLE",
		"ROSTER_PERSONAL_DOMAINS_EXTRA", "ROSTER_TRUST_PROXY", "ROSTER_LOG_FORMAT", "ROSTER_ADMIN_ADDR", "ROSTER_GRPC_ADDR",
		"ROSTER_OUTBOX_RETENTION", "ROSTER_CHANGES_RETENTION", "ROSTER_SHUTDOWN_DRAIN", "ROSTER_SERVICE_TOKEN_FILE", "ROSTER_DB_TIMEOUT",
		"ROSTER_OPERATOR_TOKEN_FILE", "ROSTER_DATABASE_FILE", "ROSTER_SMTP_URL_FILE"} {
		if !strings.Contains(out, env) {
			t.Errorf("serve --help does not list %s", env)
		}
	}
	for _, secret := range []string{"token-from-the-environment", "10.9.8.7"} {
		if strings.Contains(out, secret) {
			t.Errorf("serve --help shows a value from the environment (%s):\n%s", secret, out)
		}
	}
}

// TestMain_ExitStatus: the process exits 2 for a bad setting (and names
// it on stderr), 0 for --help.
func TestMain_ExitStatus(t *testing.T) {
	if args := os.Getenv("ROSTER_TEST_MAIN_ARGS"); args != "" {
		os.Args = append([]string{"roster"}, strings.Split(args, "\x1f")...)
		main()
		os.Exit(0)
	}
	for _, tc := range []struct {
		args   []string
		env    string
		status int
		stderr string
	}{
		{[]string{"serve", "--addr", "127.0.0.1:0"}, "ROSTER_SESSION_IDLE=half a day", 2, "ROSTER_SESSION_IDLE"},
		{[]string{"serve", "--help"}, "", 0, "ROSTER_CHANGES_RETENTION"},
		{[]string{"serve", "--addr", "127.0.0.1:0"}, "ROSTER_SERVICE_TOKEN_FILE=/nonexistent/roster-token", 2, "ROSTER_SERVICE_TOKEN_FILE=\"/nonexistent/roster-token\": cannot read it"},
		{[]string{"account", "show", "MA000000000000000000", "--database", filepath.Join(t.TempDir(), "none.db")}, "", 1, "no SQLite database"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMain_ExitStatus$")
		cmd.Env = append(os.Environ(), "ROSTER_TEST_MAIN_ARGS="+strings.Join(tc.args, "\x1f"))
		if tc.env != "" {
			cmd.Env = append(cmd.Env, tc.env)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		status := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			status = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if status != tc.status || !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("roster %v: exit %d, stderr %q; want %d and %q", tc.args, status, stderr.String(), tc.status, tc.stderr)
		}
	}
}
