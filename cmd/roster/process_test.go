package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests that start `roster serve` processes share one build of it.
var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// rosterBinary builds the command once per test run and returns its path.
func rosterBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "roster-bin-"); buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "roster")
		if out, err := exec.Command("go", "build", "-o", buildBin, ".").CombinedOutput(); err != nil {
			buildErr = &buildError{err: err, out: string(out)}
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v", buildErr)
	}
	return buildBin
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// childEnv is this process's environment without any ROSTER_ setting (a
// developer's ROSTER_SERVICE_TOKEN must not leak into a test), plus env.
func childEnv(env ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ROSTER_") {
			out = append(out, kv)
		}
	}
	return append(out, env...)
}

// served is a running `roster serve` process.
type served struct {
	cmd      *exec.Cmd
	url      string // the public listener, http://...
	adminURL string // the admin listener, http://...
	logs     *syncBuffer
	serving  chan struct{} // closed when url and adminURL are known
	exited   chan struct{} // closed when the process has exited
	exitErr  error         // cmd.Wait's answer, once exited is closed
	exitedAt time.Time
}

var listenerRE = regexp.MustCompile(`\b(url|admin_url)=(http://\S+)`)

// startServe starts `roster serve` on 127.0.0.1:0 with an admin listener
// on a free port too, and waits until it logged both. It is killed and
// waited for when t ends.
func startServe(t *testing.T, env ...string) *served {
	t.Helper()
	s := launchServe(t, env...)
	if err := s.waitServing(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	return s
}

// launchServe starts `roster serve` like startServe without waiting for it
// to serve (waitServing does).
func launchServe(t *testing.T, env ...string) *served {
	t.Helper()
	cmd := exec.Command(rosterBinary(t), "serve", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0")
	cmd.Env = childEnv(env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &served{cmd: cmd, logs: &syncBuffer{}, exited: make(chan struct{}), serving: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		addrs := map[string]string{}
		for sc.Scan() {
			s.logs.WriteLine(sc.Text())
			for _, m := range listenerRE.FindAllStringSubmatch(sc.Text(), -1) {
				addrs[m[1]] = m[2]
			}
			if len(addrs) == 2 && s.adminURL == "" {
				s.url, s.adminURL = addrs["url"], addrs["admin_url"]
				close(s.serving)
			}
		}
		s.exitErr = cmd.Wait()
		s.exitedAt = time.Now()
		close(s.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.exited
	})
	return s
}

// waitServing waits until the process logged its listeners.
func (s *served) waitServing(timeout time.Duration) error {
	select {
	case <-s.serving:
		return nil
	case <-s.exited:
		return fmt.Errorf("roster serve exited before serving: %v\n%s", s.exitErr, s.logs)
	case <-time.After(timeout):
		return fmt.Errorf("roster serve did not log its listeners in %v:\n%s", timeout, s.logs)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) WriteLine(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.WriteString(s)
	b.b.WriteByte('\n')
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
