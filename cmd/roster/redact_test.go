package main

import (
	"strings"
	"testing"
)

// A database URL's password never reaches a message or a log line, also
// when the URL is malformed or the password holds an @.
func TestRedactURL_HidesThePasswordOfAnyShape(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://roster:PASS@db:5432/roster":              "postgres://***@db:5432/roster",
		"postgresql:/roster:PASS@db/roster":                  "postgresql:***@db/roster",
		"roster:PASS@db/roster":                              "roster:***@db/roster",
		"PASS@db":                                            "***@db",
		"postgres://roster:P@SS@db/roster":                   "postgres://***@db/roster",
		"postgres://db/roster?user=roster&password=PASS&x=1": "postgres://db/roster?user=roster&password=***&x=1",
		"roster.db": "roster.db",
	} {
		got := redactURL(in)
		if got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(got, "PASS") || strings.Contains(got, "SS@") {
			t.Errorf("redactURL(%q) = %q shows the password", in, got)
		}
	}
}
