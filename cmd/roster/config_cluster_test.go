package main

import (
	"flag"
	"strings"
	"testing"
)

// TestServe_DatabaseRead: ROSTER_DATABASE_READ takes one standby or
// several, is carried to the server, and is refused with a usage error
// for anything but a postgres:// URL, on a SQLite primary, and as a flag
// with a password (which never shows).
func TestServe_DatabaseRead(t *testing.T) {
	parseServe := func(args ...string) (config, error) {
		var c config
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		c.serveFlags(fs)
		return c, parse(fs, args)
	}
	c, err := parseServe("--database=postgres://roster@p1:5432,p2:5432/roster?target_session_attrs=read-write",
		"--database-read=postgres://roster@s1:5432,s2:5432/roster")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := c.server()
	if err != nil {
		t.Fatal(err)
	}
	if sc.DatabaseRead != "postgres://roster@s1:5432,s2:5432/roster" || sc.Database != "postgres://roster@p1:5432,p2:5432/roster?target_session_attrs=read-write" {
		t.Errorf("server config: %q %q", sc.Database, sc.DatabaseRead)
	}
	if c, err := parseServe(); err != nil || c.DatabaseRead != "" {
		t.Errorf("default: %q %v, want none", c.DatabaseRead, err)
	}

	for _, tc := range []struct {
		args  []string
		want  []string
		never string
	}{
		{[]string{"--database-read=standby.db"}, []string{"--database-read", "postgres://"}, ""},
		{[]string{"--database-read=postgres://s1:port/roster"}, []string{"--database-read", "PostgreSQL"}, ""},
		{[]string{"--database-read=postgres://u:hunter2@s1/roster"}, []string{"--database-read", "password"}, "hunter2"},
	} {
		_, err := parseServe(tc.args...)
		if err == nil {
			t.Errorf("%v: accepted", tc.args)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %q does not say %q", tc.args, err, w)
			}
		}
		if tc.never != "" && strings.Contains(err.Error(), tc.never) {
			t.Errorf("%v: %q shows the password", tc.args, err)
		}
	}
	c, err = parseServe("--database=roster.db", "--database-read=postgres://s1/roster")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.server(); err == nil || !strings.Contains(err.Error(), "ROSTER_DATABASE_READ") {
		t.Errorf("a SQLite primary with standbys: %v", err)
	}
}
