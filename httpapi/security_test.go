package httpapi_test

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/rosterhq/roster/mail/mailtest"
	"github.com/rosterhq/roster/server/servertest"
)

// clock pins the server's clock at t.
func clock(e *servertest.Env, t time.Time) { e.Server.DB.Now = func() time.Time { return t } }

// code is the authenticator's code for the secret at t.
func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enroll turns two-factor on for c and returns the secret and the codes.
func enroll(t *testing.T, e *servertest.Env, c *servertest.Client, now time.Time) (string, []string) {
	t.Helper()
	return enrollWith(t, e, c, now, servertest.Password)
}

// enrollWith is enroll for a user whose password is password.
func enrollWith(t *testing.T, e *servertest.Env, c *servertest.Client, now time.Time, password string) (string, []string) {
	t.Helper()
	r := c.Must(201, "POST", "/v1/me/mfa/totp", map[string]string{"password": password})
	secret := r.Str("secret")
	if len(secret) < 32 || !strings.HasPrefix(r.Str("otpauth_url"), "otpauth://totp/Roster:") {
		t.Fatalf("enrolment: %s", r.Body)
	}
	conf := c.Must(200, "POST", "/v1/me/mfa/totp/confirm", map[string]string{"code": code(t, secret, now), "password": password})
	var codes []string
	for _, v := range conf.JSON["recovery_codes"].([]any) {
		codes = append(codes, v.(string))
	}
	return secret, codes
}

func TestMFA_EnrollLoginReplayAndRecovery(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c, _ := e.SignUp(t, "ada@acme-corp.com", "Ada")
	now := time.Now().UTC().Truncate(30 * time.Second)
	clock(e, now)
	login := map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password}

	// Pending: a wrong code confirms nothing.
	r := c.Must(201, "POST", "/v1/me/mfa/totp", map[string]string{"password": servertest.Password})
	secret := r.Str("secret")
	c.Refused(401, "unauthenticated", "POST", "/v1/me/mfa/totp/confirm", map[string]string{"code": "000000", "password": servertest.Password})
	if c.Must(200, "GET", "/v1/me", nil).JSON["mfa_enabled"] != false {
		t.Fatal("a wrong code turned two-factor on")
	}
	e.Client(t).Must(200, "POST", "/v1/login", login) // still a password alone
	conf := c.Must(200, "POST", "/v1/me/mfa/totp/confirm", map[string]string{"code": code(t, secret, now), "password": servertest.Password})
	codes := conf.JSON["recovery_codes"].([]any)
	if len(codes) != 10 || len(codes[0].(string)) < 26 {
		t.Fatalf("recovery codes: %v", codes)
	}
	if c.Must(200, "GET", "/v1/me", nil).JSON["mfa_enabled"] != true {
		t.Fatal("two-factor is not on after confirming")
	}
	if m := e.Mail.WaitFor(t, "ada@acme-corp.com", 2, 10*time.Second); !strings.Contains(m.Subject, "Two-factor sign-in is on") {
		t.Errorf("notice: %q", m.Subject)
	}
	c.Refused(409, "conflict", "POST", "/v1/me/mfa/totp", map[string]string{"password": servertest.Password})

	// Login: the password alone is a challenge, with no session.
	b := e.Client(t)
	ch := b.Refused(401, "mfa_required", "POST", "/v1/login", login)
	if ch.Header.Get("Set-Cookie") != "" {
		t.Error("a challenge set a cookie")
	}
	b.Refused(401, "unauthenticated", "GET", "/v1/me", nil)
	b.Refused(401, "unauthenticated", "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password, "otp": "123456"})
	// The code that confirmed (this step) is used: no replay.
	b.Refused(401, "unauthenticated", "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password, "otp": code(t, secret, now)})
	next := now.Add(30 * time.Second)
	clock(e, next)
	b.Must(200, "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password, "otp": code(t, secret, next)})
	b.Must(200, "GET", "/v1/me", nil)
	e.Client(t).Refused(401, "unauthenticated", "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password, "otp": code(t, secret, next)})
	// A wrong password with a right code is still a wrong password.
	e.Client(t).Refused(401, "unauthenticated", "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": "not the password at all", "otp": code(t, secret, next.Add(30*time.Second))})

	// A recovery code works once, typed any way.
	rc := strings.ToUpper(strings.ReplaceAll(codes[3].(string), "-", " "))
	e.Client(t).Must(200, "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password, "recovery_code": rc})
	e.Client(t).Refused(401, "unauthenticated", "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password, "recovery_code": codes[3].(string)})

	// New codes need the password and a code; the old set dies.
	third := next.Add(30 * time.Second)
	clock(e, third)
	c.Refused(401, "unauthenticated", "POST", "/v1/me/mfa/recovery-codes", map[string]string{"password": "wrong password here", "otp": code(t, secret, third)})
	fresh := c.Must(200, "POST", "/v1/me/mfa/recovery-codes", map[string]string{"password": servertest.Password, "otp": code(t, secret, third)}).JSON["recovery_codes"].([]any)
	e.Client(t).Refused(401, "unauthenticated", "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password, "recovery_code": codes[4].(string)})
	e.Client(t).Must(200, "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password, "recovery_code": fresh[0].(string)})

	// Turning it off needs the password and a code (here a recovery code).
	c.Refused(401, "unauthenticated", "DELETE", "/v1/me/mfa/totp", map[string]string{"password": "wrong password here", "recovery_code": fresh[1].(string)})
	if c.Must(200, "GET", "/v1/me", nil).JSON["mfa_enabled"] != true {
		t.Fatal("a wrong password turned two-factor off")
	}
	c.Must(204, "DELETE", "/v1/me/mfa/totp", map[string]string{"password": servertest.Password, "recovery_code": fresh[1].(string)})
	e.Client(t).Must(200, "POST", "/v1/login", login)
	c.Refused(409, "conflict", "POST", "/v1/me/mfa/recovery-codes", map[string]string{"password": servertest.Password})
	actions := map[string]int{}
	acct := c.Must(200, "GET", "/v1/me", nil).Str("default_account_id")
	for _, ev := range c.Must(200, "GET", "/v1/accounts/"+acct+"/audit?limit=100", nil).Objects() {
		actions[ev["action"].(string)]++
	}
	if actions["user.mfa_enable"] != 1 || actions["user.mfa_disable"] != 1 || actions["user.recovery_code_used"] != 3 || actions["user.recovery_codes"] != 1 {
		t.Errorf("audit: %v", actions)
	}
}

// Wrong codes count as failed sign-ins: a stolen password does not buy
// unlimited guesses at the code.
func TestMFA_WrongCodesAreThrottled(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c, _ := e.SignUp(t, "ada@acme-corp.com", "Ada")
	now := time.Now().UTC().Truncate(30 * time.Second)
	clock(e, now)
	enroll(t, e, c, now)
	a := e.Client(t)
	var last servertest.Response
	for i := 0; i < 12; i++ {
		last = a.Do("POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password, "otp": strconv.Itoa(100000 + i)})
		if last.Status == 429 {
			break
		}
	}
	if last.Status != 429 || last.Header.Get("Retry-After") == "" {
		t.Fatalf("12 wrong codes: last %d %s", last.Status, last.Body)
	}
}

func TestPasswordReset_FromTheMailLinkEndsOldSessions(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	old, acct := e.SignUp(t, "ada@acme-corp.com", "Ada")
	anon := e.Client(t)
	// The same answer for an unknown address, and no mail.
	unknown := anon.Must(202, "POST", "/v1/password-reset", map[string]string{"email": "nobody@acme-corp.com"})
	later(e, 2*time.Minute) // past the one-mail-a-minute limit of the sign-up mail
	known := anon.Must(202, "POST", "/v1/password-reset", map[string]string{"email": "ADA@acme-corp.com"})
	if string(unknown.Body) != string(known.Body) {
		t.Errorf("answers differ: %s / %s", unknown.Body, known.Body)
	}
	m := e.Mail.WaitFor(t, "ada@acme-corp.com", 2, 10*time.Second)
	link := mailtest.Link(t, m.Text, e.URL+"/reset-password/")
	token := strings.TrimPrefix(link, e.URL+"/reset-password/")
	if servertest.MailCount(e.Mail, "nobody@acme-corp.com") != 0 {
		t.Error("a reset mail went to an unknown address")
	}

	anon.Refused(400, "invalid_request", "POST", "/v1/password-reset/confirm", map[string]string{"token": "not-a-token", "password": "a brand new secret"})
	r := anon.Refused(400, "invalid_request", "POST", "/v1/password-reset/confirm", map[string]string{"token": token, "password": "1234567890"})
	if r.JSON["error"].(map[string]any)["field"] != "password" {
		t.Errorf("a weak password's error names no field: %s", r.Body)
	}
	old.Must(200, "GET", "/v1/me", nil) // nothing changed yet
	anon.Must(200, "POST", "/v1/password-reset/confirm", map[string]string{"token": token, "password": "a brand new secret"})
	old.Refused(401, "unauthenticated", "GET", "/v1/me", nil)
	anon.Refused(400, "invalid_request", "POST", "/v1/password-reset/confirm", map[string]string{"token": token, "password": "another new secret"})
	anon.Refused(401, "unauthenticated", "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password})
	c := e.Client(t)
	c.Must(200, "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": "a brand new secret"})
	if n := e.Mail.WaitFor(t, "ada@acme-corp.com", 3, 10*time.Second); !strings.Contains(n.Subject, "password was reset") {
		t.Errorf("notice: %q", n.Subject)
	}
	found := false
	for _, ev := range c.Must(200, "GET", "/v1/accounts/"+acct+"/audit?limit=100", nil).Objects() {
		found = found || ev["action"] == "user.password_reset"
	}
	if !found {
		t.Error("the reset was not audited")
	}

	// A link expires after an hour; a two-factor user still needs the code.
	now := time.Now().UTC().Truncate(30 * time.Second).Add(time.Hour)
	clock(e, now)
	secret, _ := enrollWith(t, e, c, now, "a brand new secret")
	later(e, 2*time.Minute)
	anon.Must(202, "POST", "/v1/password-reset", map[string]string{"email": "ada@acme-corp.com"})
	m = e.Mail.WaitFor(t, "ada@acme-corp.com", 5, 10*time.Second)
	token = strings.TrimPrefix(mailtest.Link(t, m.Text, e.URL+"/reset-password/"), e.URL+"/reset-password/")
	anon.Must(200, "POST", "/v1/password-reset/confirm", map[string]string{"token": token, "password": "third secret of hers"})
	anon.Refused(401, "mfa_required", "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": "third secret of hers"})
	at := now.Add(5 * time.Minute)
	clock(e, at)
	anon.Must(200, "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": "third secret of hers", "otp": code(t, secret, at)})
	clock(e, at.Add(3*time.Minute))
	anon.Must(202, "POST", "/v1/password-reset", map[string]string{"email": "ada@acme-corp.com"})
	m = e.Mail.WaitFor(t, "ada@acme-corp.com", 7, 10*time.Second)
	token = strings.TrimPrefix(mailtest.Link(t, m.Text, e.URL+"/reset-password/"), e.URL+"/reset-password/")
	clock(e, at.Add(2*time.Hour))
	anon.Refused(400, "invalid_request", "POST", "/v1/password-reset/confirm", map[string]string{"token": token, "password": "fourth secret here"})
}

func TestPasswordChange_EndsOtherSessions(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c, _ := e.SignUp(t, "ada@acme-corp.com", "Ada")
	other := e.Client(t)
	other.Must(200, "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password})
	r := c.Refused(401, "unauthenticated", "POST", "/v1/me/password", map[string]string{"current_password": "wrong password here", "new_password": "a brand new secret"})
	if r.JSON["error"].(map[string]any)["field"] != "current_password" {
		t.Errorf("field: %s", r.Body)
	}
	c.Refused(400, "invalid_request", "POST", "/v1/me/password", map[string]string{"current_password": servertest.Password, "new_password": "short"})
	other.Must(200, "GET", "/v1/me", nil) // nothing changed
	c.Must(200, "POST", "/v1/me/password", map[string]string{"current_password": servertest.Password, "new_password": "a brand new secret"})
	c.Must(200, "GET", "/v1/me", nil)
	other.Refused(401, "unauthenticated", "GET", "/v1/me", nil)
	e.Client(t).Refused(401, "unauthenticated", "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password})
	e.Client(t).Must(200, "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": "a brand new secret"})
}

func TestSessions_ListEndAndExpire(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c, _ := e.SignUp(t, "ada@acme-corp.com", "Ada")
	phone := e.Client(t)
	phone.Header.Set("User-Agent", "Phone Browser 1.0")
	phone.Must(200, "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password})
	list := c.Must(200, "GET", "/v1/me/sessions", nil).Objects()
	if len(list) != 2 {
		t.Fatalf("sessions: %v", list)
	}
	var phoneID string
	currents := 0
	for _, s := range list {
		if s["current"] == true {
			currents++
		}
		if s["user_agent"] == "Phone Browser 1.0" {
			phoneID = strconv.Itoa(int(s["id"].(float64)))
			if s["current"] == true || s["ip"] != "127.0.0.1" {
				t.Errorf("phone session: %v", s)
			}
		}
	}
	if currents != 1 || phoneID == "" {
		t.Fatalf("sessions: %v", list)
	}
	// Another user cannot end it.
	bob, _ := e.SignUp(t, "bob@beta-corp.com", "Bob")
	bob.Refused(404, "not_found", "DELETE", "/v1/me/sessions/"+phoneID, nil)
	phone.Must(200, "GET", "/v1/me", nil)
	c.Must(204, "DELETE", "/v1/me/sessions/"+phoneID, nil)
	phone.Refused(401, "unauthenticated", "GET", "/v1/me", nil)
	// Everywhere else.
	laptop := e.Client(t)
	laptop.Must(200, "POST", "/v1/login", map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password})
	c.Must(204, "DELETE", "/v1/me/sessions", nil)
	laptop.Refused(401, "unauthenticated", "GET", "/v1/me", nil)
	c.Must(200, "GET", "/v1/me", nil)
	// Idle for longer than ROSTER_SESSION_IDLE (12 h): ended.
	later(e, 13*time.Hour)
	c.Refused(401, "unauthenticated", "GET", "/v1/me", nil)
}

func TestRequireMFA_RefusesMembersWithoutIt(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Olga")
	e.Commit(t, acct)
	admin, _ := e.Join(t, owner, acct, "admin@acme-corp.com", "admin")
	dev, devID := e.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	now := time.Now().UTC().Truncate(30 * time.Second)
	clock(e, now)
	security := "/v1/accounts/" + acct + "/security"
	// An admin without two-factor cannot lock themselves out.
	admin.Refused(409, "conflict", "PATCH", security, map[string]bool{"require_mfa": true})
	owner.Refused(400, "invalid_request", "PATCH", security, map[string]any{})
	dev.Refused(403, "forbidden", "PATCH", security, map[string]bool{"require_mfa": true})
	if owner.Must(200, "GET", "/v1/accounts/"+acct, nil).JSON["require_mfa"] != false {
		t.Fatal("a refused change turned the requirement on")
	}
	enroll(t, e, owner, now)
	on := owner.Must(200, "PATCH", security, map[string]bool{"require_mfa": true})
	if on.JSON["require_mfa"] != true {
		t.Fatalf("PATCH: %s", on.Body)
	}
	key := dev.Must(201, "POST", "/v1/me/api-keys", map[string]string{"account_id": acct, "name": "ci"}).Str("key")

	// The developer without two-factor: refused everywhere but the
	// account itself and leaving; by session, by key, and in the check.
	dev.Refused(403, "mfa_required", "GET", "/v1/accounts/"+acct+"/numbers", nil)
	dev.Must(200, "GET", "/v1/accounts/"+acct, nil)
	byKey := e.Client(t)
	byKey.Header.Set("Authorization", "Bearer "+key)
	byKey.Refused(403, "mfa_required", "GET", "/v1/accounts/"+acct+"/numbers", nil)
	check := e.Platform(t).Must(200, "POST", "/v1/authz/check", map[string]any{"account_id": acct, "user_id": devID, "permission": "numbers.view"})
	if check.JSON["allowed"] != false || check.JSON["reason"] != "mfa_required" {
		t.Errorf("check: %s", check.Body)
	}
	check = e.Platform(t).Must(200, "POST", "/v1/authz/check", map[string]any{"account_id": acct, "api_key": key, "permission": "numbers.view"})
	if check.JSON["reason"] != "mfa_required" {
		t.Errorf("check by key: %s", check.Body)
	}
	// Account credentials are a machine credential: not affected.
	creds := owner.Must(200, "GET", "/v1/accounts/"+acct+"/credentials", nil)
	basic := e.Client(t)
	basic.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(acct+":"+creds.Str("auth_token"))))
	basic.Must(200, "GET", "/v1/accounts/"+acct+"/numbers", nil)
	// The member list says who lacks it.
	for _, m := range owner.Must(200, "GET", "/v1/accounts/"+acct+"/members", nil).Objects() {
		if want := m["email"] == "owner@acme-corp.com"; m["mfa_enabled"] != want {
			t.Errorf("member %v: mfa_enabled %v", m["email"], m["mfa_enabled"])
		}
	}

	// Enrolling lets the developer in at once.
	enroll(t, e, dev, now)
	dev.Must(200, "GET", "/v1/accounts/"+acct+"/numbers", nil)
	byKey.Must(200, "GET", "/v1/accounts/"+acct+"/numbers", nil)
	// Turning it off is audited like turning it on.
	owner.Must(200, "PATCH", security, map[string]bool{"require_mfa": false})
	admin.Must(200, "GET", "/v1/accounts/"+acct+"/members", nil)
	n := 0
	for _, ev := range owner.Must(200, "GET", "/v1/accounts/"+acct+"/audit?limit=100", nil).Objects() {
		if ev["action"] == "account.require_mfa" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("require_mfa audited %d times", n)
	}
}

// field is the input a refusal names.
func field(r servertest.Response) any { return r.JSON["error"].(map[string]any)["field"] }

// Starting, confirming, turning off two-factor sign-in and making new
// recovery codes each ask for the password again, and, while two-factor is
// on, for a code: a stolen session cookie alone changes nothing. Each
// refusal answers 401 with its code and field, writes nothing (no secret,
// no sessions ended, the codes still work) and mails nothing. Confirming
// signs every other session out.
func TestMFA_StepUpRefusalsChangeNothing(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c, acct := e.SignUp(t, "ada@acme-corp.com", "Ada")
	const email = "ada@acme-corp.com"
	now := time.Now().UTC().Truncate(30 * time.Second)
	clock(e, now)
	other := e.Client(t) // the owner's laptop, or a thief's copy of a cookie
	other.Must(200, "POST", "/v1/login", map[string]string{"email": email, "password": servertest.Password})
	mails := servertest.MailCount(e.Mail, email)
	unchanged := func(what string, mfa bool) {
		t.Helper()
		if got := c.Must(200, "GET", "/v1/me", nil).JSON["mfa_enabled"]; got != mfa {
			t.Errorf("%s: mfa_enabled %v, want %v", what, got, mfa)
		}
		other.Must(200, "GET", "/v1/me", nil)
	}

	// Start: no body, no password, a wrong one.
	c.Refused(400, "invalid_request", "POST", "/v1/me/mfa/totp", nil)
	if r := c.Refused(401, "unauthenticated", "POST", "/v1/me/mfa/totp", map[string]string{}); field(r) != "password" {
		t.Errorf("start without a password: field %v", field(r))
	}
	if r := c.Refused(401, "unauthenticated", "POST", "/v1/me/mfa/totp", map[string]string{"password": "not the password at all"}); field(r) != "password" {
		t.Errorf("start with a wrong password: field %v", field(r))
	}
	unchanged("refused starts", false)
	// No secret was made: there is nothing to confirm.
	c.Refused(409, "conflict", "POST", "/v1/me/mfa/totp/confirm", map[string]string{"code": "123456", "password": servertest.Password})

	secret := c.Must(201, "POST", "/v1/me/mfa/totp", map[string]string{"password": servertest.Password}).Str("secret")
	// A second start with a wrong password leaves the pending secret as it is.
	c.Refused(401, "unauthenticated", "POST", "/v1/me/mfa/totp", map[string]string{"password": "not the password at all"})

	// Confirm: no password, a wrong one (with the right code), a wrong code.
	if r := c.Refused(401, "unauthenticated", "POST", "/v1/me/mfa/totp/confirm", map[string]string{"code": code(t, secret, now)}); field(r) != "password" {
		t.Errorf("confirm without a password: field %v", field(r))
	}
	c.Refused(401, "unauthenticated", "POST", "/v1/me/mfa/totp/confirm", map[string]string{"code": code(t, secret, now), "password": "not the password at all"})
	wrong := "000000"
	if code(t, secret, now) == wrong {
		wrong = "111111"
	}
	if r := c.Refused(401, "unauthenticated", "POST", "/v1/me/mfa/totp/confirm", map[string]string{"code": wrong, "password": servertest.Password}); field(r) != "otp" {
		t.Errorf("confirm with a wrong code: field %v", field(r))
	}
	unchanged("refused confirmations", false)
	if n := servertest.MailCount(e.Mail, email); n != mails {
		t.Errorf("refusals sent %d mails", n-mails)
	}

	// The pending secret is the first one, and confirming ends the other session.
	codes := c.Must(200, "POST", "/v1/me/mfa/totp/confirm", map[string]string{"code": code(t, secret, now), "password": servertest.Password}).JSON["recovery_codes"].([]any)
	other.Refused(401, "unauthenticated", "GET", "/v1/me", nil)
	if n := c.Must(200, "GET", "/v1/me/sessions", nil).Total(); n != 1 {
		t.Errorf("%d sessions after enrolling, want this one alone", n)
	}
	if m := e.Mail.WaitFor(t, email, mails+1, 10*time.Second); !strings.Contains(m.Text, "Every other session was signed out") {
		t.Errorf("notice: %q", m.Text)
	}
	mails++

	// Two-factor on: the owner signs in again elsewhere with a code.
	step := now.Add(30 * time.Second)
	clock(e, step)
	other = e.Client(t)
	other.Must(200, "POST", "/v1/login", map[string]string{"email": email, "password": servertest.Password, "otp": code(t, secret, step)})
	step = step.Add(30 * time.Second)
	clock(e, step)

	// Turning it off and new codes: no code, a wrong password with a right
	// code, a wrong code, a wrong recovery code.
	for _, path := range []struct{ method, path string }{{"DELETE", "/v1/me/mfa/totp"}, {"POST", "/v1/me/mfa/recovery-codes"}} {
		if r := c.Refused(401, "mfa_required", path.method, path.path, map[string]string{"password": servertest.Password}); field(r) != "otp" {
			t.Errorf("%s without a code: field %v", path.path, field(r))
		}
		if r := c.Refused(401, "unauthenticated", path.method, path.path, map[string]string{"otp": code(t, secret, step)}); field(r) != "password" {
			t.Errorf("%s without a password: field %v", path.path, field(r))
		}
		if r := c.Refused(401, "unauthenticated", path.method, path.path, map[string]string{"password": "not the password at all", "otp": code(t, secret, step)}); field(r) != "password" {
			t.Errorf("%s with a wrong password: field %v", path.path, field(r))
		}
		bad := "000000"
		if code(t, secret, step) == bad {
			bad = "111111"
		}
		if r := c.Refused(401, "unauthenticated", path.method, path.path, map[string]string{"password": servertest.Password, "otp": bad}); field(r) != "otp" {
			t.Errorf("%s with a wrong code: field %v", path.path, field(r))
		}
		if r := c.Refused(401, "unauthenticated", path.method, path.path, map[string]string{"password": servertest.Password, "recovery_code": "aaaaa-bbbbb-ccccc-ddddd-eeeeee"}); field(r) != "recovery_code" {
			t.Errorf("%s with a wrong recovery code: field %v", path.path, field(r))
		}
		unchanged("refused "+path.path, true)
		// A sign-in with a code starts the address's throttle again.
		e.Client(t).Must(200, "POST", "/v1/login", map[string]string{"email": email, "password": servertest.Password, "otp": code(t, secret, step)})
		step = step.Add(30 * time.Second)
		clock(e, step)
	}
	if n := servertest.MailCount(e.Mail, email); n != mails {
		t.Errorf("refusals sent %d mails", n-mails)
	}
	// The secret and the recovery codes are as they were: both still sign in.
	e.Client(t).Refused(401, "mfa_required", "POST", "/v1/login", map[string]string{"email": email, "password": servertest.Password})
	e.Client(t).Must(200, "POST", "/v1/login", map[string]string{"email": email, "password": servertest.Password, "otp": code(t, secret, step)})
	e.Client(t).Must(200, "POST", "/v1/login", map[string]string{"email": email, "password": servertest.Password, "recovery_code": codes[0].(string)})

	// A code used to sign in cannot be used again for a step-up (no replay),
	// and a recovery code works once, whatever it was used for.
	c.Refused(401, "unauthenticated", "POST", "/v1/me/mfa/recovery-codes", map[string]string{"password": servertest.Password, "otp": code(t, secret, step)})
	c.Refused(401, "unauthenticated", "POST", "/v1/me/mfa/recovery-codes", map[string]string{"password": servertest.Password, "recovery_code": codes[0].(string)})
	c.Must(200, "POST", "/v1/me/mfa/recovery-codes", map[string]string{"password": servertest.Password, "recovery_code": codes[1].(string)})
	found := false
	for _, ev := range c.Must(200, "GET", "/v1/accounts/"+acct+"/audit?action=user.recovery_code_used&limit=100", nil).Objects() {
		found = found || strings.Contains(ev["detail"].(string), "to make new recovery codes")
	}
	if !found {
		t.Error("the recovery code used for the step-up was not audited as such")
	}
}

// The step-up is counted by the login throttle: a stolen session cookie
// cannot guess the password, nor, with the password, the code, without
// limit; and the guesses count against the address's sign-in from that
// client too.
func TestMFA_StepUpIsThrottled(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	const email = "ada@acme-corp.com"
	c, _ := e.SignUp(t, email, "Ada")
	now := time.Now().UTC().Truncate(30 * time.Second)
	clock(e, now)
	guess := func(what, method, path string, body func(i int) map[string]string) {
		t.Helper()
		var last servertest.Response
		for i := 0; i < 12; i++ {
			if last = c.Do(method, path, body(i)); last.Status == 429 {
				break
			}
			if last.Status != 401 {
				t.Fatalf("%s %d: %d %s", what, i, last.Status, last.Body)
			}
		}
		if last.Status != 429 || last.Code() != "rate_limited" || last.Header.Get("Retry-After") == "" {
			t.Fatalf("%s: 12 guesses, last %d %s", what, last.Status, last.Body)
		}
		// The same counters as the sign-in: this client's login waits too.
		e.Client(t).Refused(429, "rate_limited", "POST", "/v1/login", map[string]string{"email": email, "password": servertest.Password})
	}
	guess("password guesses", "POST", "/v1/me/mfa/totp", func(i int) map[string]string {
		return map[string]string{"password": "guess number " + strconv.Itoa(i)}
	})
	// Even the right password is refused while the throttle holds.
	c.Refused(429, "rate_limited", "POST", "/v1/me/mfa/totp", map[string]string{"password": servertest.Password})
	if c.Must(200, "GET", "/v1/me", nil).JSON["mfa_enabled"] != false {
		t.Fatal("two-factor changed")
	}

	// With the password known, guessing the code is throttled as well (a
	// right password does not start the count again).
	clock(e, now.Add(time.Hour)) // past the window
	at := now.Add(time.Hour)
	enroll(t, e, c, at)
	at = at.Add(30 * time.Second)
	clock(e, at)
	guess("code guesses", "DELETE", "/v1/me/mfa/totp", func(i int) map[string]string {
		return map[string]string{"password": servertest.Password, "otp": strconv.Itoa(100000 + i)}
	})
	if c.Must(200, "GET", "/v1/me", nil).JSON["mfa_enabled"] != true {
		t.Fatal("code guesses turned two-factor off")
	}
}
