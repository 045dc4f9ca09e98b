package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServe_MaxStaleness: ROSTER_MAX_STALENESS (--max-staleness) is 1s
// unless set, reaches the server's configuration, and a value that is not
// a duration from 100ms to 10m stops serve with a usage error naming it.
func TestServe_MaxStaleness(t *testing.T) {
	var d config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	d.serveFlags(fs)
	if err := parse(fs, nil); err != nil {
		t.Fatal(err)
	}
	if sc, err := d.server(); err != nil || sc.MaxStaleness != time.Second {
		t.Errorf("default: %v %v, want 1s", sc.MaxStaleness, err)
	}

	for _, tc := range []struct {
		env, flag string
		want      time.Duration
	}{
		{env: "250ms", want: 250 * time.Millisecond},
		{env: "100ms", want: 100 * time.Millisecond},
		{env: "10m", want: 10 * time.Minute},
		{env: "5s", flag: "2s", want: 2 * time.Second}, // the flag wins
	} {
		t.Run(tc.env+" "+tc.flag, func(t *testing.T) {
			t.Setenv("ROSTER_MAX_STALENESS", tc.env)
			var c config
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			c.serveFlags(fs)
			var args []string
			if tc.flag != "" {
				args = []string{"--max-staleness=" + tc.flag}
			}
			if err := parse(fs, args); err != nil {
				t.Fatal(err)
			}
			if sc, err := c.server(); err != nil || sc.MaxStaleness != tc.want {
				t.Errorf("got %v %v, want %v", sc.MaxStaleness, err, tc.want)
			}
		})
	}

	for _, tc := range []struct {
		env, flag string
		want      []string
	}{
		{env: "0", want: []string{"ROSTER_MAX_STALENESS", "out of range", "100ms", "10m0s"}},
		{env: "-1s", want: []string{"ROSTER_MAX_STALENESS", "out of range"}},
		{env: "50ms", want: []string{"ROSTER_MAX_STALENESS", `"50ms"`, "out of range"}},
		{env: "11m", want: []string{"ROSTER_MAX_STALENESS", "out of range"}},
		{env: "1", want: []string{"ROSTER_MAX_STALENESS", "not a duration"}},
		{env: "", want: []string{"ROSTER_MAX_STALENESS", "not a duration"}},
		{flag: "soon", want: []string{"--max-staleness", `"soon"`, "not a duration"}},
	} {
		t.Run(tc.env+" "+tc.flag, func(t *testing.T) {
			t.Setenv("ROSTER_MAX_STALENESS", tc.env)
			args := []string{"serve", "--database", filepath.Join(t.TempDir(), "s.db"), "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}
			if tc.flag != "" {
				args = append(args, "--max-staleness="+tc.flag)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := run(ctx, args, io.Discard, io.Discard)
			var ue usageError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v (%T), want a usage error", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}
