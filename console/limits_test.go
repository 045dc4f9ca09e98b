package console_test

import (
	"fmt"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

// The console's sign-up and password-reset forms are limited like the
// API: past the limit the page answers 429 with Retry-After and says why,
// and the refused form makes, queues and sends nothing.
func TestConsole_SignupAndResetFormsThrottled(t *testing.T) {
	t.Parallel()
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) { c.SignupsPerIP = 0 }}) // the default: 5
	clk := newServerClock(e)
	k := newFormClient(t, e, e.Client(t))
	users := func() int {
		t.Helper()
		var n int
		if err := e.Server.DB.SQL().QueryRow(`SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	retryAfter := func(a answer, most int) {
		t.Helper()
		if ra, err := strconv.Atoi(a.Header.Get("Retry-After")); err != nil || ra < 1 || ra > most {
			t.Errorf("Retry-After = %q, want 1..%d", a.Header.Get("Retry-After"), most)
		}
	}

	k.get("/signup")
	for i := range 5 {
		k.post("/signup", url.Values{"name": {"Someone"}, "email": {fmt.Sprintf("user%d@globex-industries.com", i)}, "password": {servertest.Password}}).
			want(t, "sign-up "+strconv.Itoa(i+1), 200, "Check your inbox")
	}
	n, mails := users(), len(e.Mail.Messages())
	a := k.post("/signup", url.Values{"name": {"Sixth"}, "email": {"sixth@globex-industries.com"}, "password": {servertest.Password}})
	a.want(t, "sixth sign-up", 429, `class="form-error" role="alert">Too many sign-ups from your network: try again in 10 minutes`,
		`value="sixth@globex-industries.com"`)
	retryAfter(a, 600)
	if users() != n {
		t.Error("the refused sign-up made a user")
	}
	time.Sleep(100 * time.Millisecond)
	if len(e.Mail.Messages()) != mails {
		t.Error("the refused sign-up sent mail")
	}

	clk.advance(2 * time.Minute)
	stats := &e.Server.Service.Stats
	k.get("/forgot-password")
	for i := range 5 {
		k.post("/forgot-password", url.Values{"email": {"user0@globex-industries.com"}}).want(t, "reset "+strconv.Itoa(i+1), 200, "Check your inbox")
	}
	queued := stats.ResetsQueued.Load()
	a = k.post("/forgot-password", url.Values{"email": {"user0@globex-industries.com"}})
	a.want(t, "sixth reset", 429, `class="form-error" role="alert">Too many password resets for this address: try again in 15 minutes`, `id="forgot-form"`)
	retryAfter(a, 900)
	if stats.ResetsQueued.Load() != queued {
		t.Error("the refused reset was queued")
	}
}
