package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/server/servertest"
)

// TestServe_SecretsNeverOnTheAdminListener: a real `roster serve`
// configured through files (service token, operator token, database) takes
// each from its file, trailing line break dropped: the tokens work and the
// database is the file's. Nothing the admin listener serves as text (the
// profiler's cmdline above all, which shows the process's arguments, and
// its index, metrics and probes) contains a token, and a token given as a
// flag stops serve before it opens anything.
func TestServe_SecretsNeverOnTheAdminListener(t *testing.T) {
	const (
		serviceToken  = "svc-Zq8rT4wK2pLm9XvB3nHc"
		operatorToken = "op-Jd7sF1gY6uQe0WaR5tVk"
	)
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o400); err != nil {
			t.Fatal(err)
		}
		return path
	}
	dsn := servertest.Database(t)
	p := startServe(t,
		"ROSTER_SERVICE_TOKEN_FILE="+write("service-token", serviceToken+"\n"),
		"ROSTER_OPERATOR_TOKEN_FILE="+write("operator-token", operatorToken+"\r\n"),
		"ROSTER_DATABASE_FILE="+write("database", dsn+"\n"))

	do := func(method, url, token, body string) (int, string) {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// The tokens from the files are the server's: each is accepted where
	// a wrong one is refused.
	if st, body := do("POST", p.url+"/v1/authz/check", serviceToken, checkBody); st != 200 {
		t.Errorf("check with the service token from the file: %d %s", st, body)
	}
	if st, _ := do("POST", p.url+"/v1/authz/check", serviceToken+"x", checkBody); st != 401 {
		t.Errorf("check with a wrong service token: %d, want 401", st)
	}
	plan := `{"plan":"committed","monthly_commitment_usd":1000,"contract_months":12}`
	if st, body := do("PUT", p.url+"/v1/admin/accounts/MA000000000000000000/plan", operatorToken, plan); st != 404 {
		t.Errorf("operator call with the token from the file: %d %s, want 404 (no such account)", st, body)
	}
	if st, _ := do("PUT", p.url+"/v1/admin/accounts/MA000000000000000000/plan", operatorToken+"x", plan); st != 401 {
		t.Errorf("operator call with a wrong token: %d, want 401", st)
	}
	// The database is the one the file names.
	want := "database=sqlite"
	if strings.HasPrefix(dsn, "postgres") {
		want = "database=postgres"
	} else if _, err := os.Stat(dsn); err != nil {
		t.Errorf("the SQLite file from ROSTER_DATABASE_FILE was not made: %v", err)
	}
	if !strings.Contains(p.logs.String(), want) {
		t.Errorf("the log does not say %s:\n%s", want, p.logs)
	}

	st, cmdline := do("GET", p.adminURL+"/debug/pprof/cmdline", "", "")
	if st != 200 || !strings.Contains(cmdline, "serve") {
		t.Fatalf("/debug/pprof/cmdline: %d %q, want the command line", st, cmdline)
	}
	for _, path := range []string{"/debug/pprof/cmdline", "/debug/pprof/", "/debug/pprof/goroutine?debug=2", "/metrics", "/readyz", "/livez"} {
		st, body := do("GET", p.adminURL+path, "", "")
		if st != 200 {
			t.Errorf("admin %s: %d", path, st)
		}
		for _, secret := range []string{serviceToken, operatorToken} {
			if strings.Contains(body, secret) {
				t.Errorf("admin %s shows a token", path)
			}
		}
	}

	// A token as a flag: refused before anything is opened.
	db := filepath.Join(dir, "flag.db")
	// Should it start after all, it stops when ctx ends and the test fails.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var outBuf bytes.Buffer
	err := run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--database", db, "--service-token", serviceToken}, &outBuf, &outBuf)
	out := outBuf.String()
	var ue usageError
	if err == nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), "ROSTER_SERVICE_TOKEN_FILE") {
		t.Errorf("serve --service-token: %v, want a usage error naming ROSTER_SERVICE_TOKEN_FILE", err)
	}
	if err != nil && strings.Contains(err.Error()+out, serviceToken) {
		t.Errorf("the refusal repeats the token: %v", err)
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("serve opened the database before refusing --service-token")
	}
}
