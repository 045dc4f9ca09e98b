// Package typescript_test runs the TypeScript client's tests (Node's test
// runner) against a live Roster server: `npm test` in this folder
// compiles the client and its tests with tsc and runs them with
// `node --test`. Node.js 20 or later and `npm ci --prefix
// clients/typescript` are needed; without them the test skips with a
// message (on the terminal too, as go test hides a passing package's
// output), except under CI=true, where it fails.
package typescript_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/server/servertest"
)

// TestTypeScriptClient_AgainstALiveServer: the walkthrough of the README
// through the generated client (sign up, verify, log in, committed plan,
// invite, sign up from the invitation, a personal API key, the check with
// the service token, refusals with code, message and field), the generated
// types current with httpapi/openapi.json, and every error schema keeping
// message and field in them.
func TestTypeScriptClient_AgainstALiveServer(t *testing.T) {
	npm := nodeTools(t)
	e := servertest.New(t)
	mailbox := httptest.NewServer(mailboxHandler(e))
	t.Cleanup(mailbox.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "test")
	cmd.Env = append(os.Environ(),
		"ROSTER_URL="+e.URL,
		"ROSTER_MAILBOX="+mailbox.URL,
		"ROSTER_OPERATOR_TOKEN="+servertest.OperatorToken,
		"ROSTER_SERVICE_TOKEN="+servertest.ServiceToken,
		"NO_COLOR=1",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("npm test: %v\n%s\nserver log:\n%s", err, out, e.Logs.String())
	}
	// The runner's summary: everything ran, nothing skipped (a missing
	// ROSTER_URL would skip the walkthrough).
	summary := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^# (tests|pass|fail|skipped|cancelled) (\d+)$`).FindAllStringSubmatch(string(out), -1) {
		summary[m[1]], _ = strconv.Atoi(m[2])
	}
	if summary["tests"] < 3 || summary["pass"] != summary["tests"] || summary["skipped"] != 0 {
		t.Fatalf("node --test: %v, want every test passed and none skipped:\n%s", summary, out)
	}
	t.Logf("node --test: %d tests passed", summary["pass"])
}

// nodeTools returns npm's path when Node.js (20 or later), npm and the
// client's packages are there; else it skips (fails under CI=true).
func nodeTools(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable(t, "Node.js is not installed")
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		unavailable(t, "npm is not installed")
	}
	v, err := exec.Command(node, "--version").Output()
	major, _ := strconv.Atoi(strings.TrimPrefix(strings.SplitN(strings.TrimSpace(string(v)), ".", 2)[0], "v"))
	if err != nil || major < 20 {
		unavailable(t, fmt.Sprintf("Node.js %q is older than 20", strings.TrimSpace(string(v))))
	}
	if _, err := os.Stat("node_modules/.package-lock.json"); err != nil {
		unavailable(t, "its packages are not installed (run `npm ci --prefix clients/typescript`)")
	}
	return npm
}

// unavailable skips the test with why, and says so on the terminal when
// there is one: go test shows a skip's message only under -v. Under
// CI=true it fails instead.
func unavailable(t *testing.T, why string) {
	t.Helper()
	msg := "the TypeScript client's test against a live server did not run: " + why +
		"; it needs Node.js 20+ and `npm ci --prefix clients/typescript` (.ci/run does both)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		fmt.Fprintf(tty, "--- SKIP: %s: %s\n", t.Name(), msg)
		tty.Close()
	}
	t.Skip(msg)
}

// mailboxHandler answers GET /link?to=ADDRESS&prefix=/verify/ with the
// newest link under the server's address and prefix mailed to ADDRESS
// (waiting up to 10 s for one): the test's way to follow a mailed link, as
// the README has a newcomer read it from the log.
func mailboxHandler(e *servertest.Env) http.Handler {
	urls := regexp.MustCompile(`https?://[^\s<>"]+`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		to, prefix := r.URL.Query().Get("to"), e.BaseURL+r.URL.Query().Get("prefix")
		if r.URL.Path != "/link" || to == "" {
			http.Error(w, "GET /link?to=ADDRESS&prefix=/verify/", http.StatusBadRequest)
			return
		}
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			msgs := e.Mail.Messages()
			for i := len(msgs) - 1; i >= 0; i-- {
				if !addressedTo(msgs[i].To, to) {
					continue
				}
				for _, u := range urls.FindAllString(msgs[i].Text, -1) {
					if strings.HasPrefix(u, prefix) {
						fmt.Fprint(w, u)
						return
					}
				}
			}
		}
		http.Error(w, "no such mail in 10 s", http.StatusNotFound)
	})
}

func addressedTo(list []string, addr string) bool {
	for _, a := range list {
		if strings.EqualFold(a, addr) {
			return true
		}
	}
	return false
}
