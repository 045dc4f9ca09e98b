package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/rosterhq/roster/server/servertest"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestCLI_AccountPlan(t *testing.T) {
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	db := "--database=" + e.DSN

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"account", "plan"}, "give the ACCOUNT_ID"},
		{[]string{"account", "plan", acct, db}, "exactly one of --committed or --standard"},
		{[]string{"account", "plan", acct, db, "--committed", "--standard"}, "exactly one"},
		{[]string{"account", "plan", acct, db, "--committed", "--monthly-usd", "749", "--months", "12"}, "at least 750"},
		{[]string{"account", "plan", acct, db, "--committed", "--monthly-usd", "750", "--months", "11"}, "at least 12"},
		{[]string{"account", "plan", "MA000000000000000000", db, "--standard"}, "No such account"},
		{[]string{"account", "plan", acct, db, "--committed", "--monthly-usd", "lots"}, "invalid value"},
		{[]string{"frobnicate"}, "unknown command"},
	} {
		out, err := runCLI(t, tc.args...)
		if err == nil || !strings.Contains(err.Error()+out, tc.want) {
			t.Errorf("roster %s: err=%v out=%q, want %q", strings.Join(tc.args, " "), err, out, tc.want)
		}
	}
	if got := owner.Must(200, "GET", "/v1/accounts/"+acct, nil).Str("plan"); got != "standard" {
		t.Fatalf("refused CLI calls changed the plan to %s", got)
	}

	out, err := runCLI(t, "account", "plan", acct, db, "--committed", "--monthly-usd", "1000", "--months", "12")
	if err != nil || !strings.Contains(out, "committed plan: 1000 USD a month for 12 months") {
		t.Fatalf("roster account plan: %v %q", err, out)
	}
	// The running server follows the change the CLI made in its database.
	owner.Must(201, "POST", "/v1/accounts/"+acct+"/invitations", map[string]string{"email": "dev@acme-corp.com", "role": "developer"})
	out, err = runCLI(t, "account", "plan", acct, db, "--standard")
	if err != nil || !strings.Contains(out, "standard plan") {
		t.Fatalf("back to standard: %v %q", err, out)
	}
	deadline := time.Now().Add(5 * time.Second)
	for owner.Do("POST", "/v1/accounts/"+acct+"/invitations", map[string]string{"email": "sup@acme-corp.com", "role": "support"}).Code() != "plan_required" {
		if time.Now().After(deadline) {
			t.Fatal("the server did not see the downgrade")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCLI_Migrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	out, err := runCLI(t, "migrate", "--database", path)
	if err != nil || !strings.Contains(out, "migrated sqlite") {
		t.Fatalf("migrate: %v %q", err, out)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

// process is a `roster serve` child process.
type process struct {
	url string
	cmd *exec.Cmd
}

var servingRE = regexp.MustCompile(`url=(http://\S+)`)

func startProcess(t *testing.T, bin string, env ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case u := <-found:
		return &process{url: u, cmd: cmd}
	case <-time.After(30 * time.Second):
		t.Fatal("roster serve did not start in 30 s")
	}
	return nil
}

// TestTwoProcesses: two `roster serve` processes on one PostgreSQL. A
// member removed through one is refused through the other: session and
// authz check.
func TestTwoProcesses_RemovalHonouredByTheOther(t *testing.T) {
	base := os.Getenv("ROSTER_TEST_DATABASE")
	if !strings.HasPrefix(base, "postgres") {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	if db, err := sql.Open("pgx", base); err != nil || db.Ping() != nil {
		if os.Getenv("ROSTER_REQUIRE_POSTGRES") == "1" {
			t.Fatal("PostgreSQL required but unreachable")
		}
		t.Skip("two processes need PostgreSQL; none reachable")
	}
	dsn := servertest.NewPostgresDatabase(t, base)
	bin := rosterBinary(t)
	// Both processes mail through one real SMTP server; the test env is
	// used only for its SMTP server and helpers.
	e := servertest.New(t)
	env := []string{"ROSTER_ADMIN_ADDR=127.0.0.1:0", "ROSTER_DATABASE=" + dsn, "ROSTER_SMTP_URL=" + e.Mail.URL(), "ROSTER_SERVICE_TOKEN=svc", "ROSTER_OPERATOR_TOKEN=op"}
	a := startProcess(t, bin, env...)
	b := startProcess(t, bin, env...)

	type client struct{ *http.Client }
	newClient := func() client {
		jar, _ := cookiejar.New(nil)
		return client{&http.Client{Jar: jar, Timeout: 10 * time.Second}}
	}
	do := func(c client, method, url, body string, hdr ...string) *http.Response {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	link := func(to, prefix string, n int) string {
		m := e.Mail.WaitFor(t, to, n, 10*time.Second)
		i := strings.Index(m.Text, prefix)
		if i < 0 {
			t.Fatalf("no %s link in %q", prefix, m.Text)
		}
		return strings.Fields(m.Text[i+len(prefix):])[0]
	}
	// Owner signs up on A, verifies, logs in.
	owner := newClient()
	do(owner, "POST", a.url+"/v1/signup", `{"email":"owner@acme-corp.com","password":"a long password","name":"O"}`)
	do(owner, "POST", a.url+"/v1/verify-email", fmt.Sprintf(`{"token":%q}`, link("owner@acme-corp.com", "/verify/", 1)))
	if r := do(owner, "POST", a.url+"/v1/login", `{"email":"owner@acme-corp.com","password":"a long password"}`); r.StatusCode != 200 {
		t.Fatalf("login: %d", r.StatusCode)
	}
	var acct string
	{
		resp, _ := owner.Get(a.url + "/v1/me")
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		acct = regexp.MustCompile(`"default_account_id":"(MA\w+)"`).FindStringSubmatch(string(body))[1]
	}
	do(newClient(), "PUT", a.url+"/v1/admin/accounts/"+acct+"/plan", `{"plan":"committed","monthly_commitment_usd":900,"contract_months":12}`, "Authorization", "Bearer op")
	// A developer joins through A; their session is used on B.
	if r := do(owner, "POST", a.url+"/v1/accounts/"+acct+"/invitations", `{"email":"dev@acme-corp.com","role":"developer"}`); r.StatusCode != 201 {
		t.Fatalf("invite: %d", r.StatusCode)
	}
	dev := newClient()
	do(dev, "POST", a.url+"/v1/signup", fmt.Sprintf(`{"password":"a long password","name":"D","invitation_token":%q}`, link("dev@acme-corp.com", "/invite/", 1)))
	var devID string
	{
		resp, _ := dev.Get(a.url + "/v1/me")
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		devID = regexp.MustCompile(`"id":(\d+)`).FindStringSubmatch(string(body))[1]
	}
	devOnB := newClient()
	au, bu := mustURL(a.url), mustURL(b.url)
	devOnB.Jar.SetCookies(bu, dev.Jar.Cookies(au))
	checkB := func(hdr ...string) string {
		req, _ := http.NewRequest("POST", b.url+"/v1/authz/check", strings.NewReader(fmt.Sprintf(`{"account_id":%q,"user_id":%s,"permission":"numbers.view"}`, acct, devID)))
		req.Header.Set("Authorization", "Bearer svc")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(checkB(), `"allowed":true`) || do(devOnB, "GET", b.url+"/v1/accounts/"+acct, "").StatusCode != 200 {
		if time.Now().After(deadline) {
			t.Fatal("B never allowed the developer")
		}
		time.Sleep(10 * time.Millisecond)
	}

	del := do(owner, "DELETE", a.url+"/v1/accounts/"+acct+"/members/"+devID, "")
	if del.StatusCode != 204 {
		t.Fatalf("delete: %d", del.StatusCode)
	}
	rev := del.Header.Get("X-Roster-Revision")
	if r := do(devOnB, "GET", b.url+"/v1/accounts/"+acct, "", "X-Roster-Revision", rev); r.StatusCode != 404 {
		t.Errorf("B served the removed member's session: %d", r.StatusCode)
	}
	if got := checkB("X-Roster-Revision", rev); !strings.Contains(got, `"allowed":false`) {
		t.Errorf("B's check after removal: %s", got)
	}
}

func mustURL(s string) *neturl.URL {
	u, err := neturl.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestCLI_PricingImport(t *testing.T) {
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	db := "--database=" + e.DSN
	bad := filepath.Join(t.TempDir(), "bad.csv")
	for _, content := range []string{
		"country,voice\nUS,1\n",
		"country,voice_per_minute_usd,sms_per_message_usd\nUSA,0.1,0.1\n",
		"country,voice_per_minute_usd,sms_per_message_usd\nUS,cheap,0.1\n",
		"country,voice_per_minute_usd,sms_per_message_usd\nUS,0.1,0.1\nUS,0.2,0.2\n",
	} {
		os.WriteFile(bad, []byte(content), 0o600)
		if out, err := runCLI(t, "pricing", "import", bad, db); err == nil {
			t.Errorf("imported %q: %s", content, out)
		}
	}
	owner.Refused(404, "not_found", "GET", "/v1/accounts/"+acct+"/pricing?country=US", nil)
	out, err := runCLI(t, "pricing", "import", filepath.Join("..", "..", "testdata", "pricing-sample.csv"), db)
	if err != nil || !strings.Contains(out, "imported rates for 12 countries") {
		t.Fatalf("import: %v %s", err, out)
	}
	r := owner.Must(200, "GET", "/v1/accounts/"+acct+"/pricing?country=GB", nil)
	if r.JSON["sms_per_message_usd"].(float64) != 0.04 {
		t.Errorf("GB = %s", r.Body)
	}
}

func TestCLI_ServeRefusesABadTrustProxy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	_, err := runCLI(t, "serve", "--database", path, "--addr", "127.0.0.1:0", "--trust-proxy", "10.0.0.0/99")
	if err == nil || !strings.Contains(err.Error(), "trust-proxy") || !strings.Contains(err.Error(), "10.0.0.0/99") {
		t.Fatalf("serve with a bad --trust-proxy: %v", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("serve opened the database before refusing its configuration")
	}
}
