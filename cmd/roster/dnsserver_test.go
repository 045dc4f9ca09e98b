package main

import (
	"flag"
	"strings"
	"testing"
)

// ROSTER_DNS_SERVER (issue 22): a host and a port, or unset (the system's
// resolver); anything else stops serve with a usage error naming it.
func TestServe_DNSServer(t *testing.T) {
	for _, tc := range []struct {
		env, want, refused string
	}{
		{"", "", ""},
		{"1.1.1.1:53", "1.1.1.1:53", ""},
		{"[2606:4700:4700::1111]:53", "[2606:4700:4700::1111]:53", ""},
		{"dns.internal.example:5353", "dns.internal.example:5353", ""},
		{"1.1.1.1", "", "HOST:PORT"},
		{":53", "", "host and port"},
		{"1.1.1.1:0", "", "host and port"},
		{"1.1.1.1:99999", "", "port"},
		{"bad_host:53", "", "host name"},
	} {
		t.Setenv("ROSTER_DNS_SERVER", tc.env)
		var c config
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		c.serveFlags(fs)
		err := parse(fs, nil)
		if tc.refused != "" {
			if err == nil || !strings.Contains(err.Error(), "ROSTER_DNS_SERVER") || !strings.Contains(err.Error(), tc.refused) {
				t.Errorf("ROSTER_DNS_SERVER=%q: %v, want a refusal saying %q", tc.env, err, tc.refused)
			}
			continue
		}
		if err != nil {
			t.Errorf("ROSTER_DNS_SERVER=%q: %v", tc.env, err)
			continue
		}
		sc, err := c.server()
		if err != nil || sc.DNSServer != tc.want {
			t.Errorf("ROSTER_DNS_SERVER=%q: server config %q, %v", tc.env, sc.DNSServer, err)
		}
	}
}
