package mail_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/mail"
	"github.com/rosterhq/roster/mail/mailtest"
)

func TestSMTP_SendsThroughARealServer(t *testing.T) {
	srv := mailtest.NewServer(t)
	long := "https://roster.example/invite/" + strings.Repeat("Ab0_-", 20) + "?a=b=c"
	text := "Grüße — accept here:\n" + long + "\n"
	for name, url := range map[string]string{"no auth": srv.URL(), "auth": srv.URLWithAuth("user", "p@ss")} {
		t.Run(name, func(t *testing.T) {
			s, err := mail.NewSMTP(url, "Roster <no-reply@roster.example>")
			if err != nil {
				t.Fatal(err)
			}
			to := strings.ReplaceAll(name, " ", "") + "@acme.example"
			if err := s.Send(context.Background(), mail.Message{To: to, Subject: "Einladung für Sie", Text: text}); err != nil {
				t.Fatal(err)
			}
			m := srv.WaitFor(t, to, 1, 5*time.Second)
			if m.Subject != "Einladung für Sie" || !strings.Contains(m.From, "no-reply@roster.example") {
				t.Errorf("subject %q from %q", m.Subject, m.From)
			}
			if got := strings.ReplaceAll(m.Text, "\r\n", "\n"); !strings.Contains(got, "Grüße") {
				t.Errorf("text = %q", got)
			}
			if got := mailtest.Link(t, m.Text, "https://roster.example/invite/"); got != long {
				t.Errorf("link = %q, want %q", got, long)
			}
		})
	}
}

func TestNewSMTP_RefusesBadURLs(t *testing.T) {
	for _, u := range []string{"ftp://host:25", "smtp://", "smtp://host:notaport", "smtp://host:70000", "::bad"} {
		if _, err := mail.NewSMTP(u, "a@b.example"); err == nil {
			t.Errorf("NewSMTP(%q) accepted", u)
		}
	}
	if _, err := mail.NewSMTP("smtp://localhost:25", "not an address"); err == nil {
		t.Error("bad sender accepted")
	}
}

func TestSMTP_CancelledContext(t *testing.T) {
	srv := mailtest.NewServer(t)
	s, _ := mail.NewSMTP(srv.URL(), "a@b.example")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Send(ctx, mail.Message{To: "x@y.example", Subject: "s", Text: "t"}); err == nil {
		t.Error("sent with a cancelled context")
	}
}

func TestSMTP_ConcurrentSends(t *testing.T) {
	srv := mailtest.NewServer(t)
	s, _ := mail.NewSMTP(srv.URL(), "a@b.example")
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs <- s.Send(context.Background(), mail.Message{To: fmt.Sprintf("u%d@acme.example", i), Subject: "s", Text: "t"})
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for i := 0; i < 20; i++ {
		srv.WaitFor(t, fmt.Sprintf("u%d@acme.example", i), 1, 5*time.Second)
	}
}

func TestLog_WritesTheWholeMail(t *testing.T) {
	var buf bytes.Buffer
	l := mail.Log{Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	if err := l.Send(context.Background(), mail.Message{To: "a@b.example", Subject: "Verify", Text: "go to http://x/verify/tok"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "http://x/verify/tok") || !strings.Contains(buf.String(), "a@b.example") {
		t.Errorf("log = %q", buf.String())
	}
}

// Permanent tells a real server's refusal for good (550) from one for now
// (450) and from a server that does not answer at all.
func TestPermanent_TellsRefusalsApart(t *testing.T) {
	srv, s := refusingServer(t)
	send := func(to string) error {
		return s.Send(context.Background(), mail.Message{To: to, Subject: "Hi", Text: "Hi\n"})
	}
	if err := send("gone@acme.example"); err == nil || !mail.Permanent(err) {
		t.Errorf("550: %v, permanent %v; want a permanent error", err, mail.Permanent(err))
	}
	if err := send("busy@acme.example"); err == nil || mail.Permanent(err) {
		t.Errorf("450: %v, permanent %v; want an error to try again", err, mail.Permanent(err))
	}
	if err := send("here@acme.example"); err != nil || mail.Permanent(err) {
		t.Errorf("accepted: %v", err)
	}
	srv.Stop()
	if err := send("here@acme.example"); err == nil || mail.Permanent(err) {
		t.Errorf("server down: %v, permanent %v; want an error to try again", err, mail.Permanent(err))
	}
}

// SendBatch sends a batch in order over one connection: a refused
// recipient fails alone (for good or for now, as Send tells), the mails
// after it still go, and a batch to a server that is down fails whole.
func TestSMTP_SendBatchOneConnection(t *testing.T) {
	srv, s := refusingServer(t)
	batch := []mail.Message{
		{To: "a@acme.example", Subject: "1", Text: "one\n"},
		{To: "gone@acme.example", Subject: "2", Text: "two\n"},
		{To: "a@acme.example", Subject: "3", Text: "three\n"},
		{To: "busy@acme.example", Subject: "4", Text: "four\n"},
		{To: "not an address", Subject: "5", Text: "five\n"},
		{To: "b@acme.example", Subject: "6", Text: "six\n", ID: "roster-outbox.6.1"},
	}
	conns := srv.Conns()
	errs := s.SendBatch(context.Background(), batch)
	if len(errs) != len(batch) {
		t.Fatalf("%d outcomes for %d mails", len(errs), len(batch))
	}
	for i, want := range []string{"", "permanent", "", "temporary", "invalid", ""} {
		err := errs[i]
		switch want {
		case "":
			if err != nil {
				t.Errorf("mail %d: %v", i+1, err)
			}
		case "permanent":
			if err == nil || !mail.Permanent(err) {
				t.Errorf("mail %d (550): %v, want a refusal for good", i+1, err)
			}
		default:
			if err == nil || mail.Permanent(err) {
				t.Errorf("mail %d (%s): %v, want an error to try again", i+1, want, err)
			}
		}
	}
	if n := srv.Conns() - conns; n != 1 {
		t.Errorf("%d connections for a batch, want 1", n)
	}
	var got []string
	for _, m := range srv.Messages() {
		got = append(got, strings.Join(m.To, ",")+" "+m.Subject)
	}
	if want := []string{"a@acme.example 1", "a@acme.example 3", "b@acme.example 6"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("received %q, want %q", got, want)
	}
	if m := srv.WaitFor(t, "b@acme.example", 1, time.Second); m.MessageID != "roster-outbox.6.1@roster.example" {
		t.Errorf("Message-ID %q", m.MessageID)
	}

	srv.Stop()
	for i, err := range s.SendBatch(context.Background(), batch[:3]) {
		if err == nil || mail.Permanent(err) {
			t.Errorf("server down, mail %d: %v, want an error to try again", i+1, err)
		}
	}
}

// refusingServer is a real SMTP server that refuses gone@acme.example
// for good (550) and busy@acme.example for now (450), and a sender to it.
func refusingServer(t *testing.T) (*mailtest.Server, *mail.SMTP) {
	t.Helper()
	srv := mailtest.NewServer(t)
	srv.RefuseRecipient("gone@acme.example", 550)
	srv.RefuseRecipient("busy@acme.example", 450)
	s, err := mail.NewSMTP(srv.URL(), "no-reply@roster.example")
	if err != nil {
		t.Fatal(err)
	}
	return srv, s
}
