package server_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/mail/mailtest"
	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

// received counts the mails the mail server took, per recipient and
// subject, and fails on two with one Message-ID or one not the outbox's.
func received(t *testing.T, m *mailtest.Server) map[string]int {
	t.Helper()
	got := map[string]int{}
	ids := map[string]bool{}
	for _, msg := range m.Messages() {
		got[strings.Join(msg.To, ",")+" | "+msg.Subject]++
		if !strings.HasPrefix(msg.MessageID, "roster-outbox.") || !strings.HasSuffix(msg.MessageID, "@roster.test") {
			t.Errorf("mail to %v %q: Message-ID %q is not an outbox row's", msg.To, msg.Subject, msg.MessageID)
		}
		if ids[msg.MessageID] {
			t.Errorf("Message-ID %s received twice", msg.MessageID)
		}
		ids[msg.MessageID] = true
	}
	return got
}

// newSince is what after holds beyond before, per key.
func newSince(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for k, n := range after {
		if d := n - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// waitFailures waits until the outbox worker of e counted at least n
// failed attempts (the mail server is down).
func waitFailures(t *testing.T, e *servertest.Env, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for e.Server.Service.Stats.MailFailed.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d failed mail attempts after 30 s, want %d", e.Server.Service.Stats.MailFailed.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Mail goes through the outbox: with the SMTP server down, changes that
// mail (an invitation, a role change, a removal, a sign-up) are answered
// as usual and their mail waits; once the server is back, every mail
// arrives exactly once (per recipient and subject, each with its own
// Message-ID) and its links work: the invitation is accepted and the
// sign-up verified after the restart.
func TestMail_SMTPDownThenUpEveryMailOnce(t *testing.T) {
	t.Parallel()
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) { c.MailRetryBase = 100 * time.Millisecond }})
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	_, devID := e.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	_, bobID := e.Join(t, owner, acct, "bob@acme-corp.com", "developer")
	before := received(t, e.Mail)

	e.Mail.Stop()
	owner.Must(201, "POST", "/v1/accounts/"+acct+"/invitations", map[string]string{"email": "new@acme-corp.com", "role": "admin"})
	owner.Must(200, "PATCH", "/v1/accounts/"+acct+"/members/"+strconv.FormatInt(devID, 10), map[string]string{"role": "admin"})
	owner.Must(204, "DELETE", "/v1/accounts/"+acct+"/members/"+strconv.FormatInt(bobID, 10), nil)
	e.Client(t).Must(201, "POST", "/v1/signup", map[string]string{"email": "fresh@acme-corp.com", "password": servertest.Password, "name": "Fresh"})
	// Each of the four was tried and refused, at least once.
	waitFailures(t, e, 4)
	if n, err := e.Server.Service.MailQueued(t.Context()); err != nil || n != 4 {
		t.Fatalf("%d mails waiting (%v), want 4", n, err)
	}

	e.Mail.Start(t)
	e.WaitMailSent(t)
	got := newSince(before, received(t, e.Mail))
	want := map[string]int{
		`new@acme-corp.com | You are invited to "Owner's account" on Roster`: 1,
		`dev@acme-corp.com | Your role in "Owner's account" changed`:         1,
		`bob@acme-corp.com | You were removed from "Owner's account"`:        1,
		`fresh@acme-corp.com | Verify your email address`:                    1,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("mail after the restart:\n got %v\nwant %v", got, want)
	}

	// The links mailed while the server was down work.
	m := e.Mail.WaitFor(t, "new@acme-corp.com", 1, 10*time.Second)
	token := strings.TrimPrefix(mailtest.Link(t, m.Text, e.BaseURL+"/invite/"), e.BaseURL+"/invite/")
	r := e.Client(t).Must(201, "POST", "/v1/signup", map[string]string{"password": servertest.Password, "name": "New", "invitation_token": token})
	if email := r.JSON["user"].(map[string]any)["email"]; email != "new@acme-corp.com" {
		t.Errorf("the invitation signed up %v", email)
	}
	if members := owner.Must(200, "GET", "/v1/accounts/"+acct+"/members", nil).Total(); members != 3 {
		t.Errorf("%d members after accepting, want 3 (owner, dev, new)", members)
	}
	if pending := owner.Must(200, "GET", "/v1/accounts/"+acct+"/invitations", nil).Total(); pending != 0 {
		t.Errorf("%d invitations pending after the link was used, want 0", pending)
	}
	m = e.Mail.WaitFor(t, "fresh@acme-corp.com", 1, 10*time.Second)
	verify := strings.TrimPrefix(mailtest.Link(t, m.Text, e.BaseURL+"/verify/"), e.BaseURL+"/verify/")
	fresh := e.Client(t)
	fresh.Must(200, "POST", "/v1/verify-email", map[string]string{"token": verify})
	fresh.Must(200, "POST", "/v1/login", map[string]string{"email": "fresh@acme-corp.com", "password": servertest.Password})

	// Nothing more arrives: the worker is done with them.
	time.Sleep(300 * time.Millisecond)
	if after := newSince(before, received(t, e.Mail)); fmt.Sprint(after) != fmt.Sprint(want) {
		t.Errorf("mail after the links were followed: %v, want only %v", after, want)
	}
}

// Two replicas on one PostgreSQL database share the outbox: mail written
// through either while the SMTP server is down waits, both workers retry
// it, and once the server is back each mail arrives exactly once.
func TestReplicas_MailSentOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	a, b := replicas(t, func(c *server.Config) { c.MailRetryBase = 50 * time.Millisecond })
	owner, acct := a.SignUp(t, "owner@acme-corp.com", "Owner")
	a.Commit(t, acct)
	ob := on(t, b, owner, a)
	before := received(t, a.Mail)

	a.Mail.Stop()
	const n = 30
	var wg sync.WaitGroup
	for i := range n {
		c := owner
		if i%2 == 1 {
			c = ob
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Must(201, "POST", "/v1/accounts/"+acct+"/invitations", map[string]string{"email": fmt.Sprintf("p%02d@acme-corp.com", i), "role": "developer"})
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.Logf("a's log:\n%s", a.Logs.String())
	}
	waitFailures(t, a, 1)
	waitFailures(t, b, 1)
	a.Mail.Start(t)
	a.WaitMailSent(t)
	got := newSince(before, received(t, a.Mail))
	if len(got) != n {
		t.Errorf("%d distinct mails after the restart, want %d: %v", len(got), n, got)
	}
	for k, c := range got {
		if c != 1 {
			t.Errorf("%s received %d times", k, c)
		}
	}
	t.Logf("sent by replica a: %d, by b: %d", a.Server.Service.Stats.MailSent.Load(), b.Server.Service.Stats.MailSent.Load())
}

// A mail the SMTP server refuses for good (550, no such mailbox) is given
// up on at its first attempt, not tried for a day; one refused for now
// (450) is tried again and arrives once the server takes it; the change
// behind each was made either way.
func TestMail_RefusedForGoodIsGivenUpAtOnce(t *testing.T) {
	t.Parallel()
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) { c.MailRetryBase = 100 * time.Millisecond }})
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	e.WaitMailSent(t)
	stats := &e.Server.Service.Stats
	failed, givenUp := stats.MailFailed.Load(), stats.MailGivenUp.Load()

	e.Mail.RefuseRecipient("gone@acme-corp.com", 550)
	e.Mail.RefuseRecipient("busy@acme-corp.com", 450)
	owner.Must(201, "POST", "/v1/accounts/"+acct+"/invitations", map[string]string{"email": "gone@acme-corp.com", "role": "developer"})
	owner.Must(201, "POST", "/v1/accounts/"+acct+"/invitations", map[string]string{"email": "busy@acme-corp.com", "role": "developer"})
	// The busy mailbox is refused at least twice (tried again), the gone
	// one once, and given up.
	waitFailures(t, e, failed+3)
	if n := stats.MailGivenUp.Load() - givenUp; n != 1 {
		t.Fatalf("%d mails given up, want 1 (the 550)", n)
	}
	if n, err := e.Server.Service.MailQueued(t.Context()); err != nil || n != 1 {
		t.Fatalf("%d mails waiting (%v), want 1: the 450's", n, err)
	}
	e.Mail.RefuseRecipient("busy@acme-corp.com", 0)
	e.Mail.WaitFor(t, "busy@acme-corp.com", 1, 10*time.Second)
	e.WaitMailSent(t)
	if n := len(e.Mail.WaitFor(t, "busy@acme-corp.com", 1, time.Second).To); n != 1 {
		t.Errorf("the busy mailbox's mail: %d recipients", n)
	}
	for _, m := range e.Mail.Messages() {
		if slices.Contains(m.To, "gone@acme-corp.com") {
			t.Errorf("a mail reached the refused mailbox: %q", m.Subject)
		}
	}
	if pending := owner.Must(200, "GET", "/v1/accounts/"+acct+"/invitations", nil).Total(); pending != 2 {
		t.Errorf("%d invitations pending, want both", pending)
	}
}

// Under a stream of commits that mail, the outbox worker sends what
// gathered since its last round (mail.streamGap, 100 ms) over one
// connection, instead of a claim and a connection for every commit; a
// mail after a quiet moment still leaves in a round of its own. Forty
// role changes, one every 25 ms (about a second), each mailing the
// member: every mail arrives once, over at most one connection a gap
// (and a few for the edges); a claim after each wake-up took one
// connection a change (tried: 40 connections).
func TestMail_RoundsGatherAStream(t *testing.T) {
	t.Parallel()
	e := servertest.New(t, servertest.Options{})
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	var ids []int64
	for i := range 4 {
		_, id := e.Join(t, owner, acct, fmt.Sprintf("member%d@acme-corp.com", i), "developer")
		ids = append(ids, id)
	}
	e.WaitMailSent(t)
	before, conns := received(t, e.Mail), e.Mail.Conns()

	const changes = 40
	roles := []string{"admin", "developer"}
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for i := range changes {
		<-tick.C
		owner.Must(200, "PATCH", "/v1/accounts/"+acct+"/members/"+strconv.FormatInt(ids[i%4], 10), map[string]string{"role": roles[(i/4)%2]})
	}
	took := time.Since(start)
	e.WaitMailSent(t)
	got := newSince(before, received(t, e.Mail))
	sent := 0
	for k, n := range got {
		if !strings.HasSuffix(k, `| Your role in "Owner's account" changed`) {
			t.Errorf("unexpected mail: %s (%d)", k, n)
		}
		sent += n
	}
	if sent != changes {
		t.Fatalf("%d role-change mails arrived, want %d: %v", sent, changes, got)
	}
	used := e.Mail.Conns() - conns
	if most := int(took/(100*time.Millisecond)) + 3; used > most {
		t.Errorf("%d role changes in %v were sent over %d connections, want at most %d (one a gap)", changes, took.Round(time.Millisecond), used, most)
	}

	// After a quiet moment, one change: its own round, one connection.
	time.Sleep(300 * time.Millisecond)
	conns = e.Mail.Conns()
	owner.Must(200, "PATCH", "/v1/accounts/"+acct+"/members/"+strconv.FormatInt(ids[0], 10), map[string]string{"role": "support"})
	e.Mail.WaitFor(t, "member0@acme-corp.com", 1, 10*time.Second)
	e.WaitMailSent(t)
	if n := e.Mail.Conns() - conns; n != 1 {
		t.Errorf("one mail after a quiet moment took %d connections, want 1", n)
	}
	t.Logf("%d role changes in %v: %d connections", changes, took.Round(time.Millisecond), used)
}
