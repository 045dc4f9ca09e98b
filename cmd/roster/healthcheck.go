package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// cmdHealthcheck asks the admin listener of a `roster serve` on this host
// whether it is ready: GET /readyz at ROSTER_ADMIN_ADDR (or --admin-addr),
// the same setting serve reads, so the container's environment is all it
// needs. It is the health check of an image with no shell and no curl
// (FROM scratch): HEALTHCHECK CMD ["/roster","healthcheck"].
//
// It exits 0 when /readyz answers 200 and 1 otherwise, a bad setting
// included: Docker reserves exit status 2 of a health check.
func cmdHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this long")
	// The admin address is serve's own setting (same flag, variable and
	// default), taken from serve's flag set so the two never differ; no
	// other setting is read (nor any secret file).
	serve := flag.NewFlagSet("serve", flag.ContinueOnError)
	c.serveFlags(serve)
	admin := serve.Lookup("admin-addr")
	fs.Var(admin.Value, admin.Name, admin.Usage)
	setUsage(fs)
	if err := parse(fs, args); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			return errors.New(ue.msg) // exit 1, not 2
		}
		return err
	}
	if *timeout <= 0 {
		return errors.New("--timeout must be positive")
	}
	url, err := readyzURL(c.AdminAddr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	// No proxy from the environment: the listener is on this host.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d: %s", url, resp.StatusCode, trimLine(body))
	}
	fmt.Fprintf(stdout, "ready: %s\n", url)
	return nil
}

// readyzURL is the URL of /readyz on the admin listener at addr, as seen
// from this host: a wildcard host (empty, 0.0.0.0, ::) is reached on the
// loopback address of its family.
func readyzURL(addr string) (string, error) {
	if addr == "" {
		return "", errors.New("healthcheck: ROSTER_ADMIN_ADDR (--admin-addr) is empty, so serve has no admin listener to ask: set it to the address serve uses")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("healthcheck: admin address %q: %w", addr, err)
	}
	if port == "0" {
		return "", fmt.Errorf("healthcheck: the admin address %s has port 0, chosen anew by each serve: give serve and healthcheck a fixed port", addr)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}

func trimLine(b []byte) string {
	s := string(b)
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}
