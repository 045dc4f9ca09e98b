package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
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
		{env: []string{"ROSTER_MAIL_FROM=nobody"}, want: []string{"ROSTER_MAIL_FROM", "mail address"}},
		{env: []string{"ROSTER_OPERATOR_TOKEN=two words"}, want: []string{"ROSTER_OPERATOR_TOKEN", "(hidden)"}, never: []string{"two words"}},
		{env: []string{"ROSTER_PERSONAL_DOMAINS_EXTRA=mail.example, someone@example.com"}, want: []string{"ROSTER_PERSONAL_DOMAINS_EXTRA", "someone@example.com"}},
		{args: []string{"--trust-proxy", "10.0.0.0/99"}, want: []string{"--trust-proxy", "10.0.0.0/99"}},
		{args: []string{"--admin-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:7000", "--addr", "127.0.0.1:7000"}, want: []string{"ROSTER_ADDR", "ROSTER_GRPC_ADDR", "its own address"}},
		{args: []string{"extra"}, want: []string{"unexpected argument", "extra"}},
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
	if d.Addr != "127.0.0.1:8080" || d.AdminAddr != "127.0.0.1:9090" || d.GRPCAddr != "" || d.OutboxRetention.Hours() != 168 ||
		d.ChangesRetention.Hours() != 24 || d.LogFormat != "text" || d.SessionIdle.Hours() != 12 || d.InviteTTL.Hours() != 168 {
		t.Errorf("defaults: %+v", d)
	}

	t.Setenv("ROSTER_SESSION_TTL", "720h")
	t.Setenv("ROSTER_SMTP_URL", "smtps://user:pw@mail.example.com:465")
	t.Setenv("ROSTER_GRPC_ADDR", "[::1]:7443")
	var c config
	fs = flag.NewFlagSet("serve", flag.ContinueOnError)
	c.serveFlags(fs)
	err := parse(fs, []string{"--database=postgres://roster@db.example:5432/roster?sslmode=require", "--base-url=https://roster.example.com/console",
		"--admin-addr=", "--outbox-retention=48h", "--changes-retention=2h", "--personal-domains-extra=mail.example, bücher.example", "--trust-proxy=10.0.0.0/8"})
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
		line := regexp.MustCompile(`(?m)^  --` + regexp.QuoteMeta(s.flag) + ` .*\(` + s.env + `[,)].*$`).FindString(out)
		if line == "" {
			t.Errorf("serve --help has no line for --%s with %s:\n%s", s.flag, s.env, out)
		} else if s.def != "" && !strings.Contains(line, "default "+s.def) {
			t.Errorf("serve --help line for --%s does not show its default %q: %s", s.flag, s.def, line)
		}
		if !strings.Contains(string(docs), "`"+s.env+"`") || !strings.Contains(string(docs), "`--"+s.flag+"`") {
			t.Errorf("docs/operations.md does not document %s / --%s", s.env, s.flag)
		}
	}
	for _, env := range []string{"ROSTER_ADDR", "ROSTER_DATABASE", "ROSTER_BASE_URL", "ROSTER_SMTP_URL", "ROSTER_MAIL_FROM",
		"ROSTER_SERVICE_TOKEN", "ROSTER_OPERATOR_TOKEN", "ROSTER_INVITE_TTL", "ROSTER_SESSION_TTL", "ROSTER_SESSION_IDLE",
		"ROSTER_PERSONAL_DOMAINS_EXTRA", "ROSTER_TRUST_PROXY", "ROSTER_LOG_FORMAT", "ROSTER_ADMIN_ADDR", "ROSTER_GRPC_ADDR",
		"ROSTER_OUTBOX_RETENTION", "ROSTER_CHANGES_RETENTION"} {
		if !strings.Contains(out, "("+env) {
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
