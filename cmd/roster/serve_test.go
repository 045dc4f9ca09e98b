package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// `roster serve` with every listener: the public one, the admin one
// (metrics, probes, profiler: never on the public one) and gRPC.
func TestServe_AdminAndGRPCListeners(t *testing.T) {
	bin := rosterBinary(t)
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "ROSTER_DATABASE="+filepath.Join(t.TempDir(), "r.db"),
		"ROSTER_ADMIN_ADDR=127.0.0.1:0", "ROSTER_GRPC_ADDR=127.0.0.1:0", "ROSTER_SERVICE_TOKEN=svc")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	addrs := map[string]string{}
	found := make(chan map[string]string, 1)
	re := regexp.MustCompile(`\b(url|admin_url|grpc_addr)=(\S+)`)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			for _, m := range re.FindAllStringSubmatch(sc.Text(), -1) {
				addrs[m[1]] = m[2]
			}
			if len(addrs) == 3 {
				found <- addrs
				break
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case addrs = <-found:
	case <-time.After(30 * time.Second):
		t.Fatal("roster serve did not log its three listeners in 30 s")
	}
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, _ := get(addrs["url"] + "/v1/me"); st != 401 {
		t.Errorf("public /v1/me: %d", st)
	}
	for _, path := range []string{"/metrics", "/livez", "/readyz", "/debug/pprof/"} {
		if st, _ := get(addrs["url"] + path); st != 404 {
			t.Errorf("public %s: %d, want 404 (admin endpoints never on the public listener)", path, st)
		}
		if st, _ := get(addrs["admin_url"] + path); st != 200 {
			t.Errorf("admin %s: %d", path, st)
		}
	}
	if _, body := get(addrs["admin_url"] + "/metrics"); !strings.Contains(body, `roster_http_requests_total{method="GET",route="GET /v1/me",status="401"}`) {
		t.Errorf("metrics do not count the public request:\n%.2000s", body)
	}
	conn, err := grpc.NewClient(addrs["grpc_addr"], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "roster.authz.v1.AuthzService"})
	if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("gRPC health: %v %v", h, err)
	}
}
