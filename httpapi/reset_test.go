package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/mail/mailtest"
	"github.com/rosterhq/roster/server/servertest"
)

// resetLink asks for a reset of email and returns the token of the link
// mailed for it (the n-th mail to the address, n counted before asking).
func resetLink(t *testing.T, e *servertest.Env, email string) string {
	t.Helper()
	n := servertest.MailCount(e.Mail, email)
	e.Client(t).Must(202, "POST", "/v1/password-reset", map[string]string{"email": email})
	m := e.Mail.WaitFor(t, email, n+1, 10*time.Second)
	return strings.TrimPrefix(mailtest.Link(t, m.Text, e.URL+"/reset-password/"), e.URL+"/reset-password/")
}

// keyClient is a client that presents a personal API key.
func keyClient(t *testing.T, e *servertest.Env, key string) *servertest.Client {
	c := e.Client(t)
	c.Header.Set("Authorization", "Bearer "+key)
	return c
}

// eventually retries f (which reports whether it holds) for up to 10 s.
func eventually(f func() bool) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if f() {
			return true
		}
	}
	return f()
}

// A password reset ends every session and every personal API key of the
// user, in every account: on the replica that took the reset at once, on
// another replica through the change log. A refused reset ends nothing.
// The notice mail says both.
func TestPasswordReset_EndsEverySessionAndAPIKeyOnEveryReplica(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	clk := newAheadClock(e)
	other := servertest.New(t, servertest.Options{Database: e.DSN, Mail: e.Mail})
	const ada = "ada@acme-corp.com"
	c, acct := e.SignUp(t, ada, "Ada")
	bob, beta := e.SignUp(t, "bob@beta-corp.com", "Bob")
	e.Commit(t, beta)
	token, _ := e.InviteToken(t, bob, beta, ada, "developer")
	c.Must(200, "POST", "/v1/invitations/"+token+"/accept", nil)
	own := c.Must(201, "POST", "/v1/me/api-keys", map[string]string{"account_id": acct, "name": "deploy"}).Str("key")
	theirs := c.Must(201, "POST", "/v1/me/api-keys", map[string]string{"account_id": beta, "name": "ci"}).Str("key")
	phone := e.Client(t)
	phone.Must(200, "POST", "/v1/login", map[string]string{"email": ada, "password": servertest.Password})
	bobsKey := bob.Must(201, "POST", "/v1/me/api-keys", map[string]string{"account_id": beta, "name": "bob's"}).Str("key")

	works := func(env *servertest.Env, key, acct string) bool {
		return keyClient(t, env, key).Do("GET", "/v1/accounts/"+acct, nil).Status == 200
	}
	for _, env := range []*servertest.Env{e, other} {
		if !eventually(func() bool { return works(env, own, acct) && works(env, theirs, beta) }) {
			t.Fatal("the keys do not work on both replicas to begin with")
		}
	}

	// Refused: a weak password. Nothing ends.
	clk.advance(2 * time.Minute) // past the one-mail-a-minute limit of the sign-up mail
	link := resetLink(t, e, ada)
	e.Client(t).Refused(400, "invalid_request", "POST", "/v1/password-reset/confirm", map[string]string{"token": link, "password": "short"})
	c.Must(200, "GET", "/v1/me", nil)
	phone.Must(200, "GET", "/v1/me", nil)
	if !works(e, own, acct) || !works(e, theirs, beta) || !works(other, own, acct) {
		t.Fatal("a refused reset ended a key")
	}

	mails := servertest.MailCount(e.Mail, ada)
	e.Client(t).Must(200, "POST", "/v1/password-reset/confirm", map[string]string{"token": link, "password": "a brand new secret"})
	// This replica: at once, by session and by key, in both accounts.
	c.Refused(401, "unauthenticated", "GET", "/v1/me", nil)
	phone.Refused(401, "unauthenticated", "GET", "/v1/me", nil)
	keyClient(t, e, own).Refused(401, "unauthenticated", "GET", "/v1/accounts/"+acct, nil)
	keyClient(t, e, theirs).Refused(401, "unauthenticated", "GET", "/v1/accounts/"+beta, nil)
	check := e.Platform(t).Must(200, "POST", "/v1/authz/check", map[string]any{"account_id": beta, "api_key": theirs, "permission": "numbers.view"})
	if check.JSON["allowed"] != false {
		t.Errorf("the check still allows the deleted key: %s", check.Body)
	}
	// The other replica: through the change log.
	if !eventually(func() bool { return !works(other, own, acct) && !works(other, theirs, beta) }) {
		t.Error("the other replica still takes the deleted keys")
	}
	keyClient(t, other, theirs).Refused(401, "unauthenticated", "GET", "/v1/accounts/"+beta, nil)
	// Someone else's key in the same account is not touched.
	if !works(e, bobsKey, beta) || !works(other, bobsKey, beta) {
		t.Error("the reset ended another member's key")
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM api_keys WHERE user_id = (SELECT id FROM users WHERE email = ?)`, ada); n != 0 {
		t.Errorf("%d API keys of the user left", n)
	}

	n := e.Mail.WaitFor(t, ada, mails+1, 10*time.Second)
	if !strings.Contains(n.Subject, "password was reset") || !strings.Contains(n.Text, "every session was signed out") ||
		!strings.Contains(n.Text, "personal API key") {
		t.Errorf("the notice does not say that sessions and keys ended: %q\n%s", n.Subject, n.Text)
	}
	fresh := e.Client(t)
	fresh.Must(200, "POST", "/v1/login", map[string]string{"email": ada, "password": "a brand new secret"})
	if n := fresh.Must(200, "GET", "/v1/me/api-keys", nil).Total(); n != 0 {
		t.Errorf("%d API keys listed after the reset", n)
	}
	deleted := map[string]bool{}
	for _, a := range []struct {
		c    *servertest.Client
		acct string
	}{{fresh, acct}, {bob, beta}} {
		for _, ev := range a.c.Must(200, "GET", "/v1/accounts/"+a.acct+"/audit?limit=100", nil).Objects() {
			if ev["action"] == "api_key.delete" && strings.Contains(ev["detail"].(string), "password reset") {
				deleted[a.acct] = true
			}
		}
	}
	if !deleted[acct] || !deleted[beta] {
		t.Errorf("the keys' deletion is not audited in each account: %v", deleted)
	}
}

// A password change ends every reset link issued before it (and a reset
// every other link); links asked for afterwards work. The change keeps
// the session that made it and the user's API keys.
func TestPasswordChange_EndsEarlierResetLinks(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	clk := newAheadClock(e)
	const ada = "ada@acme-corp.com"
	c, acct := e.SignUp(t, ada, "Ada")
	key := c.Must(201, "POST", "/v1/me/api-keys", map[string]string{"account_id": acct, "name": "deploy"}).Str("key")
	clk.advance(2 * time.Minute)
	before := resetLink(t, e, ada)
	c.Must(200, "POST", "/v1/me/password", map[string]string{"current_password": servertest.Password, "new_password": "changed it myself"})

	e.Client(t).Refused(400, "invalid_request", "POST", "/v1/password-reset/confirm", map[string]string{"token": before, "password": "the attacker's choice"})
	if canLogin := e.Client(t).Do("POST", "/v1/login", map[string]string{"email": ada, "password": "the attacker's choice"}); canLogin.Status != 401 {
		t.Fatalf("the earlier link set a password: login answered %d", canLogin.Status)
	}
	e.Client(t).Must(200, "POST", "/v1/login", map[string]string{"email": ada, "password": "changed it myself"})
	c.Must(200, "GET", "/v1/me", nil)
	keyClient(t, e, key).Must(200, "GET", "/v1/accounts/"+acct, nil)
	if resp, err := http.Get(e.URL + "/reset-password/" + before); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != 410 {
		t.Errorf("the console shows the earlier link as usable: %d", resp.StatusCode)
	}

	// Two links; using the newer ends the older.
	clk.advance(2 * time.Minute)
	older := resetLink(t, e, ada)
	clk.advance(2 * time.Minute)
	newer := resetLink(t, e, ada)
	e.Client(t).Must(200, "POST", "/v1/password-reset/confirm", map[string]string{"token": newer, "password": "reset it from the mail"})
	e.Client(t).Refused(400, "invalid_request", "POST", "/v1/password-reset/confirm", map[string]string{"token": older, "password": "the attacker's choice"})
	e.Client(t).Must(200, "POST", "/v1/login", map[string]string{"email": ada, "password": "reset it from the mail"})
}
