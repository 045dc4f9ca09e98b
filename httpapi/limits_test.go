package httpapi_test

import (
	"database/sql"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/mail/mailtest"
	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
	"github.com/rosterhq/roster/store/storetest"
)

// behindProxy trusts the test's X-Forwarded-For, so one test can be many
// clients.
func behindProxy(c *server.Config) { c.Proxies, _ = edge.ParseProxies("true") }

// from returns a new client that the server sees at ip.
func from(t *testing.T, e *servertest.Env, ip string) *servertest.Client {
	c := e.Client(t)
	c.Header.Set("X-Forwarded-For", ip)
	return c
}

// wantRetryAfter fails unless r says to retry after 1..most seconds.
func wantRetryAfter(t *testing.T, r servertest.Response, most int) {
	t.Helper()
	if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 || ra > most {
		t.Errorf("Retry-After = %q, want 1..%d", r.Header.Get("Retry-After"), most)
	}
}

// At most 5 sign-ups per client (an IPv6 /64 is one client) per 10
// minutes; the 6th answers 429 and makes, hashes and sends nothing, even
// for a registered address. Bad input still gets its own answer; other
// clients, invitation sign-ups and the next window are not held back.
func TestSignup_ThrottledPerClient(t *testing.T) {
	t.Parallel()
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) {
		behindProxy(c)
		c.SignupsPerIP = 0 // the default
	}})
	clk := newAheadClock(e)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner") // from 127.0.0.1
	e.Commit(t, acct)
	signup := func(c *servertest.Client, email string) servertest.Response {
		return c.Do("POST", "/v1/signup", map[string]string{"email": email, "password": servertest.Password, "name": "Someone"})
	}
	for i := range 5 {
		c := from(t, e, fmt.Sprintf("2001:db8:5:5::%x", i+1))
		if r := signup(c, fmt.Sprintf("user%d@globex-industries.com", i)); r.Status != 201 {
			t.Fatalf("sign-up %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	users := e.Count(t, `SELECT COUNT(*) FROM users`)
	accounts := e.Count(t, `SELECT COUNT(*) FROM accounts`)
	hashes := e.Server.Service.Stats.Hashes.Load()
	mails := len(e.Mail.Messages())

	same := from(t, e, "2001:db8:5:5:ffff::1") // another host of the same /64
	r := same.Refused(429, "rate_limited", "POST", "/v1/signup", map[string]string{"email": "sixth@globex-industries.com", "password": servertest.Password, "name": "Sixth"})
	wantRetryAfter(t, r, 600)
	same.Refused(429, "rate_limited", "POST", "/v1/signup", map[string]string{"email": "user0@globex-industries.com", "password": servertest.Password, "name": "Again"})
	same.Refused(422, "personal_email_domain", "POST", "/v1/signup", map[string]string{"email": "someone@gmail.com", "password": servertest.Password, "name": "Typo"})
	if got := e.Count(t, `SELECT COUNT(*) FROM users`); got != users {
		t.Errorf("users %d -> %d", users, got)
	}
	if got := e.Count(t, `SELECT COUNT(*) FROM accounts`); got != accounts {
		t.Errorf("accounts %d -> %d", accounts, got)
	}
	if got := e.Server.Service.Stats.Hashes.Load(); got != hashes {
		t.Errorf("refused sign-ups hashed %d passwords", got-hashes)
	}
	time.Sleep(100 * time.Millisecond) // a mail sent by mistake would have arrived
	if got := len(e.Mail.Messages()); got != mails {
		t.Errorf("refused sign-ups sent %d mails", got-mails)
	}
	if e.Server.Service.Stats.SignupThrottled.Load() != 2 {
		t.Errorf("%d sign-ups counted as throttled, want 2", e.Server.Service.Stats.SignupThrottled.Load())
	}

	// Another client, and an invitation from the same one, go through.
	if r := signup(from(t, e, "2001:db8:5:6::1"), "other@globex-industries.com"); r.Status != 201 {
		t.Errorf("another /64: %d %s", r.Status, r.Body)
	}
	token, _ := e.InviteToken(t, owner, acct, "newhire@acme-corp.com", "developer")
	from(t, e, "2001:db8:5:5::1").Must(201, "POST", "/v1/signup", map[string]string{"password": servertest.Password, "name": "New Hire", "invitation_token": token})
	// The window ends.
	clk.advance(10*time.Minute + time.Second)
	if r := signup(same, "sixth@globex-industries.com"); r.Status != 201 {
		t.Errorf("after the window: %d %s", r.Status, r.Body)
	}
}

// Reset requests are limited per client (20 in 15 minutes; an IPv6 /64 is
// one client) and per address (5, however it is typed); a refused request
// answers 429, is never queued and sends nothing, for a registered address
// and an unknown one alike.
func TestPasswordReset_ThrottledPerClientAndPerAddress(t *testing.T) {
	t.Parallel()
	e := servertest.New(t, servertest.Options{Tweak: behindProxy})
	clk := newAheadClock(e)
	const ada = "ada@acme-corp.com"
	e.SignUp(t, ada, "Ada")
	clk.advance(2 * time.Minute) // past the one-mail-a-minute limit of the sign-up mail
	stats := &e.Server.Service.Stats
	reset := func(c *servertest.Client, email string) servertest.Response {
		return c.Do("POST", "/v1/password-reset", map[string]string{"email": email})
	}
	for i := range 20 {
		c := from(t, e, fmt.Sprintf("2001:db8:7:7::%x", i+1))
		if r := reset(c, fmt.Sprintf("nobody%d@acme-corp.com", i)); r.Status != 202 {
			t.Fatalf("request %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	queued, mails := stats.ResetsQueued.Load(), servertest.MailCount(e.Mail, ada)
	same := from(t, e, "2001:db8:7:7:abcd::9")
	wantRetryAfter(t, same.Refused(429, "rate_limited", "POST", "/v1/password-reset", map[string]string{"email": ada}), 900)
	wantRetryAfter(t, same.Refused(429, "rate_limited", "POST", "/v1/password-reset", map[string]string{"email": "nobody99@acme-corp.com"}), 900)
	if !eventually(func() bool { return stats.ResetsDone.Load() == stats.ResetsQueued.Load() }) {
		t.Fatal("the queue did not drain")
	}
	if got := stats.ResetsQueued.Load(); got != queued {
		t.Errorf("refused requests were queued: %d -> %d", queued, got)
	}
	if got := servertest.MailCount(e.Mail, ada); got != mails {
		t.Errorf("a refused request mailed a link: %d -> %d mails", mails, got)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM password_resets`); n != 0 {
		t.Errorf("%d reset links stored for refused requests", n)
	}

	// Per address: four more from other clients (one as typed differently), then 429.
	from(t, e, "198.51.100.1").Must(202, "POST", "/v1/password-reset", map[string]string{"email": ada})
	e.Mail.WaitFor(t, ada, mails+1, 10*time.Second)
	for i, typed := range []string{ada, " ADA@acme-corp.com", ada, ada} {
		if r := reset(from(t, e, fmt.Sprintf("198.51.100.%d", i+2)), typed); r.Status != 202 {
			t.Fatalf("request %d for the address: %d %s", i+2, r.Status, r.Body)
		}
	}
	queued = stats.ResetsQueued.Load()
	wantRetryAfter(t, from(t, e, "198.51.100.50").Refused(429, "rate_limited", "POST", "/v1/password-reset", map[string]string{"email": ada}), 900)
	// An unknown address is limited just the same: nothing tells them apart.
	for i := range 5 {
		reset(from(t, e, fmt.Sprintf("203.0.113.%d", i+1)), "nobody-else@acme-corp.com")
	}
	from(t, e, "203.0.113.50").Refused(429, "rate_limited", "POST", "/v1/password-reset", map[string]string{"email": "nobody-else@acme-corp.com"})
	if got := stats.ResetsQueued.Load(); got != queued+5 {
		t.Errorf("queued %d, want %d: a refused request was queued", got, queued+5)
	}
	// The window ends.
	clk.advance(15*time.Minute + time.Second)
	same.Must(202, "POST", "/v1/password-reset", map[string]string{"email": ada})
	from(t, e, "198.51.100.50").Must(202, "POST", "/v1/password-reset", map[string]string{"email": ada})
}

// gatedSMTP stands between the server and the test's SMTP server: while
// shut, it takes connections and holds them, as a mail server that has
// stalled; opened, it passes them (the held ones too) through.
type gatedSMTP struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	open   chan struct{}
	held   int
}

func newGatedSMTP(t *testing.T, m *mailtest.Server) *gatedSMTP {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedSMTP{ln: ln, target: m.URL()[len("smtp://"):], open: make(chan struct{})}
	close(g.open)
	t.Cleanup(func() { ln.Close(); g.Open() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go g.pass(c)
		}
	}()
	return g
}

func (g *gatedSMTP) URL() string { return "smtp://" + g.ln.Addr().String() }

func (g *gatedSMTP) pass(c net.Conn) {
	defer c.Close()
	g.mu.Lock()
	open := g.open
	g.held++
	g.mu.Unlock()
	<-open
	up, err := net.Dial("tcp", g.target)
	if err != nil {
		return
	}
	defer up.Close()
	go io.Copy(up, c)
	io.Copy(c, up)
}

// Shut holds new connections; Held says how many were taken so far.
func (g *gatedSMTP) Shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = make(chan struct{})
}

func (g *gatedSMTP) Open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
	default:
		close(g.open)
	}
}

func (g *gatedSMTP) Held() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held
}

// The reset queue is bounded: while the workers are held up (here by a
// lock on the address's mail allowance, which the worker takes before it
// stores a link: a mail server no longer holds a worker, the next test),
// requests past the queue answer 503 with Retry-After, the same for every
// address, and are never worked: no link, no mail. When the lock goes, the
// queue drains and a new request goes through. PostgreSQL: a row lock
// holds the worker and nothing else (SQLite's lock is the whole
// database's).
func TestPasswordReset_FullQueueAnswers503AndSendsNothing(t *testing.T) {
	t.Parallel()
	base, ok := storetest.PostgresBase(t)
	if !ok {
		t.Skip("holding the reset worker alone needs PostgreSQL's row locks; none reachable")
	}
	e := servertest.New(t, servertest.Options{Database: servertest.NewPostgresDatabase(t, base), Tweak: func(c *server.Config) {
		c.ResetQueue, c.ResetWorkers = 2, 1
	}})
	clk := newAheadClock(e)
	const ada, bob = "ada@acme-corp.com", "bob@acme-corp.com"
	e.SignUp(t, ada, "Ada")
	e.SignUp(t, bob, "Bob")
	clk.advance(2 * time.Minute)
	stats := &e.Server.Service.Stats
	anon := e.Client(t)

	db, err := sql.Open("pgx", e.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	lock, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	var hits int
	if err := lock.QueryRow(`SELECT hits FROM throttles WHERE key = $1 FOR UPDATE`, "mail:"+ada).Scan(&hits); err != nil {
		t.Fatal(err)
	}
	waiting := func() int {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	anon.Must(202, "POST", "/v1/password-reset", map[string]string{"email": ada})
	if !eventually(func() bool { return waiting() == 1 }) {
		t.Fatal("the worker never reached the lock")
	}
	// The one worker is stuck; two requests fill the queue.
	anon.Must(202, "POST", "/v1/password-reset", map[string]string{"email": "nobody1@acme-corp.com"})
	anon.Must(202, "POST", "/v1/password-reset", map[string]string{"email": "nobody2@acme-corp.com"})
	for _, email := range []string{bob, "nobody3@acme-corp.com"} {
		r := anon.Refused(503, "unavailable", "POST", "/v1/password-reset", map[string]string{"email": email})
		wantRetryAfter(t, r, 10)
	}
	if got := stats.ResetQueueFull.Load(); got != 2 {
		t.Errorf("%d requests counted as refused for a full queue, want 2", got)
	}

	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	e.Mail.WaitFor(t, ada, 2, 20*time.Second)
	if !eventually(func() bool { return stats.ResetsDone.Load() == 3 }) {
		t.Fatalf("%d of 3 queued requests done", stats.ResetsDone.Load())
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM password_resets WHERE user_id = (SELECT id FROM users WHERE email = ?)`, bob); n != 0 {
		t.Errorf("the refused request stored %d links", n)
	}
	if n := servertest.MailCount(e.Mail, bob); n != 1 {
		t.Errorf("bob got %d mails, want only the sign-up's", n)
	}
	anon.Must(202, "POST", "/v1/password-reset", map[string]string{"email": bob})
	e.Mail.WaitFor(t, bob, 2, 10*time.Second)
}

// A mail server that stalls holds no reset worker (issue 26): the workers
// store each link and write its mail to the outbox, so more requests than
// the queue holds are all answered 202 and worked while the mail server
// takes nothing; once it answers, every link arrives.
func TestPasswordReset_StalledMailServerHoldsNoWorker(t *testing.T) {
	t.Parallel()
	m := mailtest.NewServer(t)
	gate := newGatedSMTP(t, m)
	e := servertest.New(t, servertest.Options{Mail: m, Tweak: func(c *server.Config) {
		c.SMTPURL = gate.URL()
		c.ResetQueue, c.ResetWorkers = 2, 1
	}})
	gate.Open()
	clk := newAheadClock(e)
	users := []string{"ada@acme-corp.com", "bob@acme-corp.com", "cy@acme-corp.com", "di@acme-corp.com", "ed@acme-corp.com"}
	for _, u := range users {
		e.SignUp(t, u, "Someone")
	}
	clk.advance(2 * time.Minute)
	stats := &e.Server.Service.Stats
	done := stats.ResetsDone.Load()

	gate.Shut()
	held := gate.Held()
	for _, u := range users {
		e.Client(t).Must(202, "POST", "/v1/password-reset", map[string]string{"email": u})
		// One at a time, after the previous one was worked: the queue
		// never holds more than the one in hand.
		if !eventually(func() bool { return stats.ResetsDone.Load() == done+1 }) {
			t.Fatalf("the reset of %s was not worked while the mail server stalls", u)
		}
		done++
	}
	if !eventually(func() bool { return gate.Held() > held }) {
		t.Fatal("the outbox never reached the mail server")
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM password_resets`); n != len(users) {
		t.Errorf("%d reset links stored, want %d", n, len(users))
	}
	if got := stats.ResetQueueFull.Load(); got != 0 {
		t.Errorf("%d requests refused for a full queue, want 0", got)
	}
	gate.Open()
	for _, u := range users {
		e.Mail.WaitFor(t, u, 2, 20*time.Second)
	}
}
