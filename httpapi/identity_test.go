package httpapi_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/mail/mailtest"
	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

const (
	attackerPW = "mallory chose this one"
	victimPW   = "the mailbox owner chose this"
)

func verifyToken(t *testing.T, e *servertest.Env, m mailtest.Mail) string {
	t.Helper()
	return strings.TrimPrefix(mailtest.Link(t, m.Text, e.URL+"/verify/"), e.URL+"/verify/")
}

// A stranger signs up first with the victim's address. When the victim
// signs up and verifies from their own inbox, only their password works,
// and the stranger's link is dead.
func TestSignup_PreRegistrationCannotTakeOverBySecondSignup(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	const victim = "victim@acme-corp.com"
	mallory, vic := e.Client(t), e.Client(t)
	mallory.Must(201, "POST", "/v1/signup", map[string]string{"email": victim, "password": attackerPW, "name": "Mallory"})
	strangers := e.Mail.WaitFor(t, victim, 1, 10*time.Second) // lands in the victim's inbox
	mallory.Refused(403, "email_unverified", "POST", "/v1/login", map[string]string{"email": victim, "password": attackerPW})

	later(e, 2*time.Minute)
	vic.Must(201, "POST", "/v1/signup", map[string]string{"email": victim, "password": victimPW, "name": "Vic Tim"})
	own := e.Mail.WaitFor(t, victim, 2, 10*time.Second)
	if !strings.Contains(own.Text, `"Vic Tim"`) {
		t.Errorf("the mail does not quote the name of the attempt:\n%s", own.Text)
	}
	vic.Must(200, "POST", "/v1/verify-email", map[string]string{"token": verifyToken(t, e, own)})

	mallory.Refused(401, "unauthenticated", "POST", "/v1/login", map[string]string{"email": victim, "password": attackerPW})
	vic.Must(200, "POST", "/v1/login", map[string]string{"email": victim, "password": victimPW})
	me := vic.Must(200, "GET", "/v1/me", nil)
	if me.Str("name") != "Vic Tim" {
		t.Errorf("name = %q, want the verified attempt's", me.Str("name"))
	}
	accts := vic.Must(200, "GET", "/v1/me/accounts", nil).Objects()
	if len(accts) != 1 || accts[0]["account"].(map[string]any)["name"] != "Vic Tim's account" {
		t.Errorf("accounts = %v", accts)
	}
	// The stranger's link ended with the verification: it cannot apply
	// their password afterwards.
	mallory.Refused(400, "invalid_request", "POST", "/v1/verify-email", map[string]string{"token": verifyToken(t, e, strangers)})
	mallory.Refused(401, "unauthenticated", "POST", "/v1/login", map[string]string{"email": victim, "password": attackerPW})
	vic.Must(200, "POST", "/v1/login", map[string]string{"email": victim, "password": victimPW})
}

// The stranger's pre-registration does not lock an invitee out: signing up
// from the invitation proves the address and sets the invitee's password.
func TestSignup_FromInvitationClaimsAnUnverifiedAddress(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Olga")
	e.Commit(t, acct)
	const victim = "newhire@acme-corp.com"
	mallory := e.Client(t)
	mallory.Must(201, "POST", "/v1/signup", map[string]string{"email": victim, "password": attackerPW, "name": "Mallory"})
	strangers := e.Mail.WaitFor(t, victim, 1, 10*time.Second)

	token, _ := e.InviteToken(t, owner, acct, victim, "developer")
	vic := e.Client(t)
	r := vic.Must(201, "POST", "/v1/signup", map[string]string{"password": victimPW, "name": "New Hire", "invitation_token": token})
	if r.JSON["account"].(map[string]any)["id"] != acct {
		t.Errorf("joined %v", r.JSON["account"])
	}
	me := vic.Must(200, "GET", "/v1/me", nil) // logged in by the sign-up
	if me.Str("name") != "New Hire" || me.Str("default_account_id") != acct || me.JSON["email_verified"] != true {
		t.Errorf("me = %s", me.Body)
	}
	mallory.Refused(401, "unauthenticated", "POST", "/v1/login", map[string]string{"email": victim, "password": attackerPW})
	mallory.Refused(400, "invalid_request", "POST", "/v1/verify-email", map[string]string{"token": verifyToken(t, e, strangers)})
	e.Client(t).Must(200, "POST", "/v1/login", map[string]string{"email": victim, "password": victimPW})
	members := owner.Must(200, "GET", "/v1/accounts/"+acct+"/members", nil)
	if members.Total() != 2 {
		t.Errorf("members: %s", members.Body)
	}
}

func TestSignup_FromInvitationVerifiedAddressConflicts(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Olga")
	e.Commit(t, acct)
	e.SignUp(t, "dev@acme-corp.com", "Dev")
	token, _ := e.InviteToken(t, owner, acct, "dev@acme-corp.com", "developer")
	c := e.Client(t)
	c.Refused(409, "conflict", "POST", "/v1/signup", map[string]string{"password": attackerPW, "name": "Mallory", "invitation_token": token})
	c.Refused(401, "unauthenticated", "POST", "/v1/login", map[string]string{"email": "dev@acme-corp.com", "password": attackerPW})
	c.Must(200, "POST", "/v1/login", map[string]string{"email": "dev@acme-corp.com", "password": servertest.Password})
	if n := owner.Must(200, "GET", "/v1/accounts/"+acct+"/members", nil).Total(); n != 1 {
		t.Errorf("the refused sign-up joined: %d members", n)
	}
}

func TestLogin_ThrottledWithinADozenFailures(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	e.SignUp(t, "ada@acme-corp.com", "Ada")
	c := e.Client(t)
	sessions := e.Count(t, `SELECT COUNT(*) FROM sessions`)
	var throttled servertest.Response
	for i := 1; i <= 12; i++ {
		r := c.Do("POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": "wrong password " + strconv.Itoa(i)})
		if r.Status == 429 {
			throttled = r
			break
		}
		if r.Status != 401 || r.Code() != "unauthenticated" {
			t.Fatalf("failure %d: %d %s", i, r.Status, r.Body)
		}
	}
	if throttled.Status != 429 || throttled.Code() != "rate_limited" {
		t.Fatal("12 wrong passwords in a row were never throttled")
	}
	if ra, err := strconv.Atoi(throttled.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After = %q", throttled.Header.Get("Retry-After"))
	}
	// While throttled, no password is hashed and even the right one waits.
	hashes := e.Server.Service.Stats.Hashes.Load()
	c.Refused(429, "rate_limited", "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password})
	c.Refused(429, "rate_limited", "POST", "/v1/login", map[string]string{"email": "ADA@acme-corp.com ", "password": "wrong again 12345"})
	if got := e.Server.Service.Stats.Hashes.Load(); got != hashes {
		t.Errorf("throttled attempts hashed %d passwords", got-hashes)
	}
	if got := e.Count(t, `SELECT COUNT(*) FROM sessions`); got != sessions {
		t.Errorf("sessions %d -> %d", sessions, got)
	}
	if e.Server.Service.Stats.LoginFailures.Load() < 5 || e.Server.Service.Stats.LoginThrottled.Load() < 3 {
		t.Errorf("failures %d, throttled %d", e.Server.Service.Stats.LoginFailures.Load(), e.Server.Service.Stats.LoginThrottled.Load())
	}
	if logs := e.Logs.String(); !strings.Contains(logs, "login failed") || strings.Contains(logs, "ada@acme-corp.com") || strings.Contains(logs, "wrong password") {
		t.Errorf("login failures are not logged, or the log shows the address or password:\n%s", logs)
	}
	// The wait ends: after the window the right password works again.
	later(e, 16*time.Minute)
	c.Must(200, "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password})
}

// An attacker spreading guesses over many addresses of their own cannot
// lock the user out where they usually sign in.
func TestLogin_ThrottleSparesTheUsersKnownClient(t *testing.T) {
	t.Parallel()
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) { c.Proxies, _ = edge.ParseProxies("true") }})
	e.SignUp(t, "ada@acme-corp.com", "Ada")
	from := func(ip string) *servertest.Client {
		c := e.Client(t)
		c.Header.Set("X-Forwarded-For", ip)
		return c
	}
	home := from("198.51.100.10")
	home.Must(200, "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password})
	for i := 0; i < 12; i++ { // each guess from another address: only the address-wide count grows
		from("203.0.113."+strconv.Itoa(i+1)).Do("POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": "guess number " + strconv.Itoa(i)})
	}
	from("203.0.113.200").Refused(429, "rate_limited", "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password})
	from("198.51.100.10").Must(200, "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password})
	// The audit log shows the address the trusted proxy named.
	owner := from("198.51.100.10")
	owner.Must(200, "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password})
	acct := owner.Must(200, "GET", "/v1/me", nil).Str("default_account_id")
	k := owner.Must(201, "POST", "/v1/me/api-keys", map[string]string{"account_id": acct, "name": "deploy"})
	owner.Must(204, "DELETE", "/v1/me/api-keys/"+strconv.Itoa(int(k.JSON["id"].(float64))), nil)
	seen := map[string]string{}
	for _, ev := range owner.Must(200, "GET", "/v1/accounts/"+acct+"/audit?limit=100", nil).Objects() {
		seen[ev["action"].(string)] = ev["ip"].(string)
	}
	if seen["api_key.create"] != "198.51.100.10" || seen["api_key.delete"] != "198.51.100.10" {
		t.Errorf("audit of API keys: %v", seen)
	}
}

func TestAudit_ForwardedForIgnoredWithoutTrustedProxy(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c, acct := e.SignUp(t, "ada@acme-corp.com", "Ada")
	c.Header.Set("X-Forwarded-For", "6.6.6.6")
	c.Must(201, "POST", "/v1/me/api-keys", map[string]string{"account_id": acct, "name": "deploy"})
	for _, ev := range c.Must(200, "GET", "/v1/accounts/"+acct+"/audit?limit=100", nil).Objects() {
		if ev["action"] == "api_key.create" && ev["ip"] != "127.0.0.1" {
			t.Errorf("audit ip = %v, want the peer's", ev["ip"])
		}
	}
}

func TestLogin_HashingIsBounded(t *testing.T) {
	t.Parallel()
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) {
		c.HashConcurrency, c.HashWait = 1, time.Millisecond
		c.Proxies, _ = edge.ParseProxies("true")
	}})
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := e.Client(t)
			c.Header.Set("X-Forwarded-For", "192.0.2."+strconv.Itoa(i+1))
			r := c.Do("POST", "/v1/login", map[string]string{"email": "user" + strconv.Itoa(i) + "@acme-corp.com", "password": "wrong password here"})
			if r.Status == 503 && (r.Code() != "unavailable" || r.Header.Get("Retry-After") == "") {
				t.Errorf("503 without its code or Retry-After: %s %v", r.Body, r.Header)
			}
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	if statuses[503] == 0 || statuses[401] == 0 || statuses[401]+statuses[503] != 24 {
		t.Errorf("24 parallel logins with one hashing slot: %v, want 401s and 503s only", statuses)
	}
	if got := e.Server.Service.Stats.HashBusy.Load(); got != int64(statuses[503]) {
		t.Errorf("HashBusy = %d, 503s = %d", got, statuses[503])
	}
}

func TestMail_SignupsForOneAddressSendOneMail(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.Client(t)
	var first servertest.Response
	for i := 0; i < 12; i++ {
		r := c.Must(201, "POST", "/v1/signup", map[string]string{"email": "flood@acme-corp.com", "password": "sprinkle secret " + strconv.Itoa(i), "name": "Flood"})
		if i == 0 {
			first = r
		} else if string(r.Body) != string(first.Body) {
			t.Fatalf("answer %d differs: %s vs %s", i, r.Body, first.Body)
		}
	}
	e.Mail.WaitFor(t, "flood@acme-corp.com", 1, 10*time.Second)
	time.Sleep(200 * time.Millisecond) // let any stray mail arrive before counting
	if n := servertest.MailCount(e.Mail, "flood@acme-corp.com"); n != 1 {
		t.Errorf("12 sign-ups in a row sent %d mails, want 1", n)
	}
	// A handful a day: minutes apart, the sixth and later send nothing.
	for i := 1; i <= 7; i++ {
		later(e, time.Duration(i)*2*time.Minute)
		c.Must(201, "POST", "/v1/signup", map[string]string{"email": "flood@acme-corp.com", "password": "sprinkle secret later", "name": "Flood"})
	}
	time.Sleep(200 * time.Millisecond)
	if n := servertest.MailCount(e.Mail, "flood@acme-corp.com"); n != 5 {
		t.Errorf("a day of sign-ups sent %d mails, want 5", n)
	}
}

func TestSignup_NamesWithLinksRefused(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.Client(t)
	for _, name := range []string{"Visit http://evil.example", "ftp://x", "www.evil.test", "evil.example/login", "see evil.com now", "Claim at EVIL.COM"} {
		r := c.Refused(400, "invalid_request", "POST", "/v1/signup", map[string]string{"email": "x@acme-corp.com", "password": servertest.Password, "name": name})
		if !strings.Contains(string(r.Body), "link") {
			t.Errorf("%q: message %s does not say why", name, r.Body)
		}
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM users`); n != 0 {
		t.Errorf("%d users after refused sign-ups", n)
	}
	if n := len(e.Mail.Messages()); n != 0 {
		t.Errorf("%d mails after refused sign-ups", n)
	}
	for _, ok := range []string{"Ada Lovelace", "J. R. Smith", "Acme Inc.", "O'Brien-Müller"} {
		c.Must(201, "POST", "/v1/signup", map[string]string{"email": "ok" + strconv.Itoa(len(ok)) + "@acme-corp.com", "password": servertest.Password, "name": ok})
	}
	owner, _ := e.SignUp(t, "o@beta-corp.com", "Owner")
	owner.Refused(400, "invalid_request", "POST", "/v1/accounts", map[string]string{"name": "Pay at https://evil.example"})
}

func TestSignup_DomainsAndPasswordsRefused(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.Client(t)
	cases := []struct {
		email, password, status, code, says string
	}{
		{"bob@mail.gmail.com", servertest.Password, "422", "personal_email_domain", "personal"},
		{"bob@eu.mail.yahoo.com", servertest.Password, "422", "personal_email_domain", "personal"},
		{"bob@mailinator.com", servertest.Password, "422", "personal_email_domain", "disposable"},
		{"bob@x.mailinator.com", servertest.Password, "422", "personal_email_domain", "disposable"},
		{"bob@acme-corp.com", "1234567890", "400", "invalid_request", "commonly used"},
		{"bob@acme-corp.com", "Password123", "400", "invalid_request", "commonly used"},
		{"bob@acme-corp.com", "my bob password", "400", "invalid_request", "bob"},
		{"bob@acme-corp.com", "short", "400", "invalid_request", "at least 10"},
	}
	for _, tc := range cases {
		st, _ := strconv.Atoi(tc.status)
		r := c.Refused(st, tc.code, "POST", "/v1/signup", map[string]string{"email": tc.email, "password": tc.password, "name": "Bob"})
		if !strings.Contains(strings.ToLower(string(r.Body)), tc.says) {
			t.Errorf("%s / %q: message %s does not say %q", tc.email, tc.password, r.Body, tc.says)
		}
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM users`); n != 0 {
		t.Errorf("%d users after refused sign-ups", n)
	}
}

func TestAPI_JSONErrorsNameFieldsNotGoTypes(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.Client(t)
	for body, says := range map[string]string{
		`{"email": 5, "password": "x", "name": "y"}`: "field email must be a string",
		`["not", "an object"]`:                       "must be an object",
		`{"email": "a@b.c", "name": {"x": 1}}`:       "field name must be a string",
	} {
		r := c.Refused(400, "invalid_request", "POST", "/v1/signup", body)
		if msg := string(r.Body); !strings.Contains(msg, says) || strings.Contains(msg, "Go ") || strings.Contains(msg, "struct") {
			t.Errorf("%s: %s", body, msg)
		}
	}
}

func TestAPI_SecurityHeaders(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	for path, policy := range map[string]string{
		"/v1/me": "strict-origin-when-cross-origin", "/login": "strict-origin-when-cross-origin",
		"/invite/some-token": "no-referrer", "/verify/some-token": "no-referrer", "/nope": "strict-origin-when-cross-origin",
		"/static/style.css": "strict-origin-when-cross-origin",
	} {
		resp, err := http.Get(e.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", path, got)
		}
		if got := resp.Header.Get("Referrer-Policy"); got != policy {
			t.Errorf("%s: Referrer-Policy %q, want %q", path, got, policy)
		}
	}
	resp, err := http.Get(e.URL + "/static/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("GET /static/: %d, want 404 (no listing)", resp.StatusCode)
	}
}

// A request that proves no identity is refused at once, never made to wait
// for a revision (which would let anyone hold a request open).
func TestRevisionWait_OnlyAfterAuthentication(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	_, acct := e.SignUp(t, "ada@acme-corp.com", "Ada")
	c := e.Client(t)
	c.Header.Set("X-Roster-Revision", "999999999")
	c.Refused(401, "unauthenticated", "GET", "/v1/accounts/"+acct+"/members", nil)
	c.Refused(401, "unauthenticated", "GET", "/v1/me", nil)
	c.Refused(401, "unauthenticated", "POST", "/v1/authz/check", map[string]any{"account_id": acct, "user_id": 1, "permission": "numbers.view"})
	c.Header.Set("Authorization", "Bearer rk_not-a-key")
	c.Refused(401, "unauthenticated", "GET", "/v1/accounts/"+acct+"/numbers", nil)
	// An authenticated caller waits, then gets 503 for a revision never made.
	p := e.Platform(t)
	p.Header.Set("X-Roster-Revision", "999999999")
	p.Refused(503, "unavailable", "POST", "/v1/authz/check", map[string]any{"account_id": acct, "user_id": 1, "permission": "numbers.view"})
}

// Bytes a database cannot store (a NUL in PostgreSQL text) are refused as
// what they are, never a 500.
func TestOddBytes_AnswerFourHundreds(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c, acct := e.SignUp(t, "ada@acme-corp.com", "Ada")
	bad := "MA\x00" + acct[3:]
	e.Platform(t).Must(200, "POST", "/v1/authz/check", map[string]any{"account_id": bad, "user_id": 1, "permission": "numbers.view"})
	c.Refused(404, "not_found", "POST", "/v1/me/api-keys", map[string]string{"account_id": bad, "name": "x"})
	c.Refused(404, "not_found", "PUT", "/v1/me/default-account", map[string]string{"account_id": bad})
	c.Refused(404, "not_found", "GET", "/v1/accounts/MA%00"+acct[3:], nil)
	e.Client(t).Refused(401, "unauthenticated", "POST", "/v1/login", map[string]string{"email": "a\x00@acme-corp.com", "password": "whatever it is"})
	e.Client(t).Refused(400, "invalid_request", "POST", "/v1/signup", map[string]string{"email": "b\x00@acme-corp.com", "password": servertest.Password, "name": "B"})
	e.Client(t).Refused(400, "invalid_request", "POST", "/v1/signup", map[string]string{"email": "b@acme-corp.com", "password": servertest.Password, "name": "B\x00"})
	if r := e.Client(t).Do("POST", "/v1/signup", map[string]string{"email": "c@acme-corp.com", "password": "nul\x00in the password", "name": "C"}); r.Status >= 500 {
		t.Errorf("a NUL in a password: %d %s", r.Status, r.Body)
	}
}

// Path values a database cannot store answer 404 like any unknown one.
func TestOddBytes_InPaths(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c, acct := e.SignUp(t, "ada@acme-corp.com", "Ada")
	for _, path := range []string{
		"/v1/accounts/" + acct + "/numbers/%2B1415%00",
		"/v1/accounts/" + acct + "/numbers/%00",
		"/v1/accounts/" + acct + "/applications/%00",
		"/v1/accounts/" + acct + "/members/%00",
		"/v1/invitations/%00",
	} {
		for _, m := range []string{"GET", "DELETE", "PATCH"} {
			if r := c.Do(m, path, map[string]any{}); r.Status >= 500 {
				t.Errorf("%s %s: %d %s", m, path, r.Status, r.Body)
			}
		}
	}
}

// Query values and body fields a database cannot store (a NUL byte, invalid
// UTF-8) are refused or match nothing: never a 500, on either database.
func TestOddBytes_InQueriesAndBodies(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c, acct := e.SignUp(t, "ada@acme-corp.com", "Ada")
	A := "/v1/accounts/" + acct
	c.Must(201, "POST", A+"/numbers", map[string]string{"number": "+14155550123"})
	app := c.Must(201, "POST", A+"/applications", map[string]string{"name": "IVR", "answer_url": "https://acme.example/a"})
	appPath := fmt.Sprintf("%s/applications/%d", A, int64(app.JSON["id"].(float64)))
	for _, v := range []string{"%00", "a%00b", "%FF%FE"} {
		for _, q := range []string{"/numbers?alias=", "/logs?number=", "/logs?kind=", "/audit?actor=", "/audit?action=",
			"/access?permission=", "/members?after=", "/invitations?after=", "/numbers?limit="} {
			if r := c.Do("GET", A+q+v, nil); r.Status >= 500 {
				t.Errorf("GET %s%s: %d %s", q, v, r.Status, r.Body)
			}
		}
		if r := c.Do("GET", A+"/pricing?country="+v, nil); r.Status >= 500 {
			t.Errorf("GET pricing?country=%s: %d %s", v, r.Status, r.Body)
		}
	}
	for _, v := range []string{"\x00", "a\x00b", "\xff\xfe"} {
		for _, w := range []struct {
			method, path string
			body         map[string]any
		}{
			{"PATCH", A + "/numbers/+14155550123", map[string]any{"alias": v}},
			{"POST", A + "/applications", map[string]any{"name": v, "answer_url": "https://acme.example/a"}},
			{"PATCH", appPath, map[string]any{"name": v}},
			{"PATCH", appPath, map[string]any{"answer_url": "https://acme.example/" + v}},
			{"PATCH", A + "/settings", map[string]any{"company": v, "address": v}},
			{"PATCH", A + "/settings", map[string]any{"timezone": v}},
			{"POST", A + "/invitations", map[string]any{"email": "x" + v + "@acme-corp.com", "role": "support"}},
			{"POST", A + "/webhooks", map[string]any{"url": "https://hooks.example/" + v, "events": []string{"member.joined"}}},
			{"POST", A + "/credentials/rotate", map[string]any{"keep_old_for": v}},
		} {
			if r := c.Do(w.method, w.path, w.body); r.Status >= 500 {
				t.Errorf("%s %s %q: %d %s", w.method, w.path, w.body, r.Status, r.Body)
			}
		}
	}
}
