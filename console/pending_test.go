package console_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/rosterhq/roster/mail/mailtest"
	"github.com/rosterhq/roster/server/servertest"
)

// A sign-in waiting for its second factor was started with the old
// password: a password change or a reset ends it, so the code alone does
// not finish it afterwards; the login page asks for the password again.
func TestConsole_PasswordChangeAndResetEndTheSecondStep(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	clk := newServerClock(e)
	const email = "olga@acme-corp.com"
	api, _ := e.SignUp(t, email, "Olga")
	// Two-factor on, straight in the database: this test is about what
	// ends a pending sign-in, not about enrolment.
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	if _, err := e.Server.DB.SQL().Exec(`UPDATE users SET totp_secret = '` + secret + `', totp_confirmed_at = 1 WHERE email = '` + email + `'`); err != nil {
		t.Fatal(err)
	}
	sessions := func() int {
		t.Helper()
		var n int
		if err := e.Server.DB.SQL().QueryRow(`SELECT COUNT(*) FROM sessions`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	pending := func(k *formClient, password string) string {
		t.Helper()
		a := k.post("/login", url.Values{"email": {email}, "password": {password}})
		if a.Status != 303 || a.Header.Get("Location") != "/login/code" {
			t.Fatalf("first step: %d to %q, want 303 to /login/code", a.Status, a.Header.Get("Location"))
		}
		a = k.get("/login/code")
		a.want(t, "first step", 200, `id="code-form"`)
		return formValue(a.Body, "pending")
	}
	code := func() string {
		t.Helper()
		clk.advance(30 * time.Second) // a fresh step: a code is accepted once
		c, err := totp.GenerateCode(secret, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	k := newFormClient(t, e, e.Client(t))
	p := pending(k, servertest.Password)
	api.Must(200, "POST", "/v1/me/password", map[string]string{"current_password": servertest.Password, "new_password": "changed it myself"})
	n := sessions()
	k.post("/login/code", url.Values{"pending": {p}, "otp": {code()}}).want(t, "second step after a change", 401, "This sign-in expired", `action="/login"`)
	if sessions() != n {
		t.Error("the ended second step started a session")
	}

	p = pending(k, "changed it myself")
	clk.advance(2 * time.Minute) // past the one-mail-a-minute limit
	mails := servertest.MailCount(e.Mail, email)
	e.Client(t).Must(202, "POST", "/v1/password-reset", map[string]string{"email": email})
	m := e.Mail.WaitFor(t, email, mails+1, 10*time.Second)
	token := strings.TrimPrefix(mailtest.Link(t, m.Text, e.URL+"/reset-password/"), e.URL+"/reset-password/")
	e.Client(t).Must(200, "POST", "/v1/password-reset/confirm", map[string]string{"token": token, "password": "reset it from the mail"})
	n = sessions()
	k.post("/login/code", url.Values{"pending": {p}, "otp": {code()}}).want(t, "second step after a reset", 401, "This sign-in expired")
	if sessions() != n {
		t.Error("the ended second step started a session")
	}

	// With the new password, both steps work.
	p = pending(k, "reset it from the mail")
	if a := k.post("/login/code", url.Values{"pending": {p}, "otp": {code()}}); a.Status != 303 {
		t.Errorf("second step with the new password: %d", a.Status)
	}
}
