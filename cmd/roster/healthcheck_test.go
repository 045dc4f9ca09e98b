package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// readyzServer serves /readyz with status on 127.0.0.1 (or addr) and
// counts the requests; it returns the listener's port.
func readyzServer(t *testing.T, network, addr string, status int, hits *int) string {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "GET" || r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		*hits++
		w.WriteHeader(status)
		if status == 200 {
			w.Write([]byte("ok\n"))
		} else {
			w.Write([]byte("not ready: draining\n"))
		}
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// healthcheck runs `roster healthcheck args` in process with
// ROSTER_ADMIN_ADDR=env (unset when env is "-").
func healthcheck(t *testing.T, env string, args ...string) (stdout string, err error) {
	t.Helper()
	if env != "-" {
		t.Setenv("ROSTER_ADMIN_ADDR", env)
	}
	var out, errb bytes.Buffer
	err = run(context.Background(), append([]string{"healthcheck"}, args...), &out, &errb)
	// Never a usage error: main would exit 2, which Docker reserves.
	var ue usageError
	if errors.As(err, &ue) {
		t.Errorf("healthcheck %v: a usage error (exit status 2): %v", args, err)
	}
	return out.String(), err
}

func TestHealthcheck_ReadyIsZeroNotReadyIsOne(t *testing.T) {
	var hits int
	port := readyzServer(t, "tcp4", "127.0.0.1:0", 200, &hits)
	out, err := healthcheck(t, "127.0.0.1:"+port)
	if err != nil || !strings.Contains(out, "ready: http://127.0.0.1:"+port+"/readyz") || hits != 1 {
		t.Fatalf("ready: err %v, out %q, hits %d", err, out, hits)
	}

	var drained int
	port = readyzServer(t, "tcp4", "127.0.0.1:0", 503, &drained)
	_, err = healthcheck(t, "127.0.0.1:"+port)
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "not ready: draining") || drained != 1 {
		t.Fatalf("not ready: err %v, hits %d", err, drained)
	}
}

// The container binds the admin listener to every address
// (ROSTER_ADMIN_ADDR=0.0.0.0:8079); the health check, in the same
// container with the same environment, asks it on the loopback address.
func TestHealthcheck_WildcardAddressAskedOnLoopback(t *testing.T) {
	var hits int
	port := readyzServer(t, "tcp4", "127.0.0.1:0", 200, &hits)
	for _, addr := range []string{"0.0.0.0:" + port, ":" + port} {
		if _, err := healthcheck(t, addr); err != nil {
			t.Errorf("%s: %v", addr, err)
		}
	}
	var hits6 int
	port6 := readyzServer(t, "tcp6", "[::1]:0", 200, &hits6)
	if _, err := healthcheck(t, "[::]:"+port6); err != nil || hits6 != 1 {
		t.Errorf("[::]:%s: %v (hits %d)", port6, err, hits6)
	}
	if hits != 2 {
		t.Errorf("hits %d, want 2", hits)
	}
}

// The flag wins over the variable, as for serve.
func TestHealthcheck_FlagWinsOverVariable(t *testing.T) {
	var hits int
	port := readyzServer(t, "tcp4", "127.0.0.1:0", 200, &hits)
	if _, err := healthcheck(t, "127.0.0.1:1", "--admin-addr", "127.0.0.1:"+port); err != nil || hits != 1 {
		t.Fatalf("err %v hits %d", err, hits)
	}
}

// Every failure is exit status 1 with a reason: nothing listening, no
// admin listener configured, a port chosen at random, a bad value, a
// listener that does not answer in time.
func TestHealthcheck_FailuresExitOne(t *testing.T) {
	// A port nothing listens on: listen, note it, close.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	// A listener that accepts and never answers.
	hang, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()

	for _, tc := range []struct {
		name, env string
		args      []string
		want      string
	}{
		{"nothing listening", closed, nil, "connection refused"},
		{"no admin listener", "", nil, "is empty"},
		{"port 0", "127.0.0.1:0", nil, "port 0"},
		{"bad value", "nonsense", nil, "not HOST:PORT"},
		{"bad flag", "127.0.0.1:1", []string{"--no-such-flag"}, "no-such-flag"},
		{"bad timeout", "127.0.0.1:1", []string{"--timeout", "0s"}, "--timeout must be positive"},
		{"slow", hang.Addr().String(), []string{"--timeout", "300ms"}, "deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := healthcheck(t, tc.env, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one saying %q", err, tc.want)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}
