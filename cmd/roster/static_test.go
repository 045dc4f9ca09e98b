//go:build linux

package main

import (
	"bufio"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// staticBuildFlags are deploy/Dockerfile's: the binary tested here is the
// one the image ships.
var staticBuildFlags = []string{"build", "-trimpath", "-ldflags=-s -w"}

// nobody is the unprivileged user and group the binary runs as when the
// test runs as root (65534, "nobody" on Debian, Alpine and in Kubernetes
// examples; the image itself uses 65532, distroless's "nonroot").
const nobody = 65534

// TestStatic_RunsFromAnEmptyDirectoryAsAnUnprivilegedUser builds roster
// with CGO_ENABLED=0, checks that the result is statically linked (no
// program interpreter, no shared library needed), copies it alone into an
// empty directory and runs `roster serve` there with nothing but its
// settings in the environment (no HOME, no PATH) and its SQLite file in
// that directory, as the FROM scratch image does.
//
// Run as root (as in CI's container), the process is also confined to that
// directory (chroot: no /etc, no /usr/share/zoneinfo, no CA certificates,
// no /tmp, no /dev) and runs as user and group 65534; otherwise it runs as
// the test's own user in the directory. Either way it must serve: /healthz,
// the OpenAPI document, a whole sign-up through the mailed link (logged,
// there is no SMTP server), an account setting with an IANA time zone
// (the built-in database), gRPC health; `roster healthcheck` from the same
// directory and environment says ready (exit 0), then, after SIGTERM, not
// ready (exit 1) while serve drains, and serve exits 0.
func TestStatic_RunsFromAnEmptyDirectoryAsAnUnprivilegedUser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds roster with CGO_ENABLED=0 (half a minute on a cold cache) and runs it: not under -short")
	}
	bin := filepath.Join(t.TempDir(), "roster")
	build := exec.Command("go", append(staticBuildFlags, "-o", bin, ".")...)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	assertStatic(t, bin)

	// The empty directory: the binary, then what serve writes there.
	dir, err := os.MkdirTemp("", "roster-static-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	copyFile(t, bin, filepath.Join(dir, "roster"), 0o755)
	asRoot := os.Geteuid() == 0
	exe := filepath.Join(dir, "roster")
	attr := &syscall.SysProcAttr{Setpgid: true}
	wd := dir
	if asRoot {
		// The binary stays root's (as COPY leaves it in the image); the
		// directory is the user's, for the database and its WAL files.
		if err := os.Chown(dir, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		attr.Chroot = dir
		attr.Credential = &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}} // no supplementary groups of root
		exe, wd = "/roster", "/"
		t.Logf("running as uid/gid %d in a chroot of %s", nobody, dir)
	} else {
		t.Logf("not root: running as uid %d in %s, without a chroot", os.Geteuid(), dir)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("the directory holds %d entries, want only the binary", len(entries))
	}

	addr, admin, grpcAddr := freePort(t), freePort(t), freePort(t)
	env := []string{ // and nothing else: no HOME, no PATH, no TMPDIR
		"ROSTER_ADDR=" + addr, "ROSTER_ADMIN_ADDR=" + admin, "ROSTER_GRPC_ADDR=" + grpcAddr,
		"ROSTER_SHUTDOWN_DRAIN=3s", "ROSTER_SERVICE_TOKEN=svc-static-test-token",
	}
	command := func(args ...string) *exec.Cmd {
		cmd := exec.Command(exe, args...)
		cmd.Env, cmd.Dir, cmd.SysProcAttr = env, wd, attr
		return cmd
	}

	serve := command("serve")
	stderr, err := serve.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	if err := serve.Start(); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			logs.WriteLine(sc.Text())
		}
		exited <- serve.Wait()
	}()
	var exitErr error
	done := false
	t.Cleanup(func() {
		if !done {
			serve.Process.Kill()
			<-exited
		}
	})

	// Ready: the admin listener's /readyz answers 200.
	base, adminURL := "http://"+addr, "http://"+admin
	deadline := time.Now().Add(60 * time.Second)
	for {
		if st, _ := get(adminURL + "/readyz"); st == 200 {
			break
		}
		select {
		case exitErr = <-exited:
			done = true
			t.Fatalf("roster serve exited before it was ready: %v\n%s", exitErr, logs)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz not 200 within 60s:\n%s", logs)
		}
	}
	if st, body := get(base + "/healthz"); st != 200 {
		t.Errorf("/healthz: %d %s", st, body)
	}
	st, body := get(base + "/v1/openapi.json")
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &doc); st != 200 || err != nil || doc.OpenAPI == "" || len(doc.Paths) == 0 {
		t.Errorf("/v1/openapi.json: %d %v %.200s", st, err, body)
	}

	// A sign-up, the link from the logged mail, a login, and a setting
	// with a time zone: the database in the directory is written, and the
	// time zone is found without a zoneinfo on disk (in the chroot).
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	send := func(method, path, body string, want int) string {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d\n%s", method, path, resp.StatusCode, b, want, logs)
		}
		return string(b)
	}
	send("POST", "/v1/signup", `{"email":"owner@acme-corp.com","password":"a long password","name":"Owner"}`, 201)
	token := waitLog(t, logs, regexp.MustCompile(`/verify/([A-Za-z0-9_-]+)`))
	send("POST", "/v1/verify-email", fmt.Sprintf(`{"token":%q}`, token), 200)
	send("POST", "/v1/login", `{"email":"owner@acme-corp.com","password":"a long password"}`, 200)
	var me struct {
		Account string `json:"default_account_id"`
	}
	if err := json.Unmarshal([]byte(send("GET", "/v1/me", "", 200)), &me); err != nil || me.Account == "" {
		t.Fatalf("/v1/me: %v %+v", err, me)
	}
	if got := send("PATCH", "/v1/accounts/"+me.Account+"/settings", `{"timezone":"Europe/Paris"}`, 200); !strings.Contains(got, "Europe/Paris") {
		t.Errorf("settings: %s", got)
	}

	// gRPC on its own free port.
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("gRPC health: %v %v", h, err)
	}

	// The database is the directory's, and (as root) the user's.
	fi, err := os.Stat(filepath.Join(dir, "roster.db"))
	if err != nil {
		t.Fatalf("no roster.db in the directory: %v", err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); asRoot && (!ok || st.Uid != nobody) {
		t.Errorf("roster.db belongs to uid %d, want %d", st.Uid, nobody)
	}

	// The container health check, with the same environment.
	if out, err := command("healthcheck").CombinedOutput(); err != nil || !strings.Contains(string(out), "ready") {
		t.Fatalf("roster healthcheck while serving: %v %s", err, out)
	}

	// SIGTERM: draining, the health check fails with exit status 1; then
	// serve exits 0.
	signalled := time.Now()
	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for {
		out, err := command("healthcheck").CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ee.ExitCode() != 1 || !strings.Contains(string(out), "503") {
				t.Errorf("roster healthcheck while draining: exit %d, %s", ee.ExitCode(), out)
			}
			break
		}
		if err != nil || time.Since(signalled) > 2*time.Second {
			t.Fatalf("roster healthcheck after SIGTERM: %v %s", err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case exitErr = <-exited:
		done = true
	case <-time.After(30 * time.Second):
		t.Fatalf("roster serve did not exit within 30s of SIGTERM:\n%s", logs)
	}
	if exitErr != nil {
		t.Fatalf("roster serve after SIGTERM: %v (want exit status 0)\n%s", exitErr, logs)
	}
	if !strings.Contains(logs.String(), "roster stopped") {
		t.Errorf("no \"roster stopped\" in the logs:\n%s", logs)
	}
}

// assertStatic fails unless the ELF file at path is statically linked: no
// PT_INTERP (a dynamic loader to run it) and no DT_NEEDED (shared
// libraries), so it runs where there is no libc (FROM scratch).
func assertStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			b, _ := io.ReadAll(p.Open())
			t.Errorf("%s has a program interpreter (%s): dynamically linked", path, strings.TrimRight(string(b), "\x00"))
		case elf.PT_DYNAMIC:
			t.Errorf("%s has a dynamic section", path)
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil || len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v (%v)", path, libs, err)
	}
}

// freePort returns 127.0.0.1:PORT with a port free a moment ago. The
// settings must name fixed ports: the health check reads the same ones.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}

func get(url string) (int, string) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitLog waits for re in the logs and returns its first group.
func waitLog(t *testing.T, logs *syncBuffer, re *regexp.Regexp) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m := re.FindStringSubmatch(logs.String()); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no %s in the logs:\n%s", re, logs)
	return ""
}
