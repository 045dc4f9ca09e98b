// Package mail sends Roster's mail: verification and invitation links.
// SMTP goes through github.com/wneessen/go-mail; Log writes mail to the log
// for running without a mail server.
package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is a plain-text mail to one address.
type Message struct {
	To, Subject, Text string
	// ID, when set, is the left part of the mail's Message-ID (the right
	// is the sender's domain): the outbox gives each mail its own, the
	// same on every attempt (MessageID).
	ID string
}

// Sender sends mail.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// BatchSender is a Sender that sends several mails over one connection:
// the outbox worker hands it a round's mails at once.
type BatchSender interface {
	Sender
	// SendBatch sends ms in order and returns each one's outcome (nil:
	// the server took it), as Send would have.
	SendBatch(ctx context.Context, ms []Message) []error
}

// SMTP sends through an SMTP server. It is safe for concurrent use: each
// Send opens its own connection, and each SendBatch one for the batch.
type SMTP struct {
	from   string
	domain string // of from: the right part of Message-IDs
	opts   []gomail.Option
	host   string
}

// NewSMTP returns a sender for rawURL:
//
//	smtp://[user:pass@]host[:port]   STARTTLS when the server offers it (port 587 by default)
//	smtps://[user:pass@]host[:port]  TLS from the start (port 465 by default)
//
// With a user, AUTH PLAIN is used; over a connection without TLS only to a
// loopback host (a local relay or a test server), never across a network.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("mail: SMTP URL: %w", err)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("mail: SMTP URL %q has no host", redact(u))
	}
	port := 587
	opts := []gomail.Option{gomail.WithTimeout(15 * time.Second)}
	switch u.Scheme {
	case "smtp":
		opts = append(opts, gomail.WithTLSPortPolicy(gomail.TLSOpportunistic))
	case "smtps":
		port = 465
		opts = append(opts, gomail.WithSSL())
	default:
		return nil, fmt.Errorf("mail: SMTP URL scheme must be smtp or smtps, not %q", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("mail: SMTP URL port %q is not a port", p)
		}
	}
	opts = append(opts, gomail.WithPort(port))
	if u.User != nil && u.User.Username() != "" {
		pass, _ := u.User.Password()
		mech := gomail.SMTPAuthPlain
		if ip := net.ParseIP(u.Hostname()); u.Scheme == "smtp" && (u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback())) {
			mech = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(mech), gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	s := &SMTP{from: from, opts: opts, host: u.Hostname()}
	msg := gomail.NewMsg()
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("mail: sender address %q: %w", from, err)
	}
	s.domain = "roster.invalid"
	if f := msg.GetFrom(); len(f) > 0 {
		if _, d, ok := strings.Cut(f[0].Address, "@"); ok && d != "" {
			s.domain = d
		}
	}
	return s, nil
}

func redact(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User("***")
	}
	return c.String()
}

// Send sends the message, honouring ctx.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	return s.SendBatch(ctx, []Message{m})[0]
}

// SendBatch sends the messages in order over one connection, dialled
// under ctx: a message the server refuses fails alone (the transaction is
// reset and the next one sent); a connection that cannot be made fails
// every message, one that breaks every message it did not carry. One
// connection for the outbox worker's round, not one a message: a hundred
// role changes a second were a hundred connections, each with its
// greeting and EHLO, and the mail a fifth of the replicas' CPU (issue 26).
func (s *SMTP) SendBatch(ctx context.Context, ms []Message) []error {
	errs := make([]error, len(ms))
	msgs := make([]*gomail.Msg, 0, len(ms))
	at := make([]int, 0, len(ms)) // msgs[j] is ms[at[j]]
	for i, m := range ms {
		msg, err := s.message(m)
		if err != nil {
			errs[i] = err
			continue
		}
		msgs, at = append(msgs, msg), append(at, i)
	}
	if len(msgs) == 0 {
		return errs
	}
	c, err := gomail.NewClient(s.host, s.opts...)
	if err == nil {
		err = c.DialWithContext(ctx)
	}
	if err != nil {
		for _, i := range at {
			errs[i] = fmt.Errorf("mail: send to %s: %w", ms[i].To, err)
		}
		return errs
	}
	defer c.Close()
	err = c.Send(msgs...)
	tried := false // some message has an outcome of its own: the others went
	for _, msg := range msgs {
		tried = tried || msg.HasSendError()
	}
	for j, msg := range msgs {
		switch {
		case msg.HasSendError():
			errs[at[j]] = fmt.Errorf("mail: send to %s: %w", ms[at[j]].To, msg.SendError())
		case err != nil && !tried: // the connection failed before the first
			errs[at[j]] = fmt.Errorf("mail: send to %s: %w", ms[at[j]].To, err)
		}
	}
	return errs
}

// message builds m as go-mail's message.
func (s *SMTP) message(m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return nil, fmt.Errorf("mail: from: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("mail: to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	if m.ID != "" {
		msg.SetMessageIDWithValue(m.ID + "@" + s.domain)
	} else {
		msg.SetMessageID()
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	return msg, nil
}

// Log writes each mail to the log instead of sending it.
type Log struct {
	Logger *slog.Logger
}

var linkRE = regexp.MustCompile(`https?://\S+`)

// Send logs the mail: its links on their own, to follow, and the text.
func (l Log) Send(ctx context.Context, m Message) error {
	l.Logger.InfoContext(ctx, "mail", "to", m.To, "subject", m.Subject, "message_id", m.ID,
		"links", strings.Join(linkRE.FindAllString(m.Text, -1), " "), "text", m.Text)
	return nil
}

// Permanent tells whether err is the mail server's refusal for good of
// the mail (a 5xx reply: no such mailbox, a refused sender or content):
// trying again gets the same answer, so the outbox gives up at once
// instead of trying for a day. A 4xx reply, a refused or broken
// connection and a timeout are tried again.
func Permanent(err error) bool {
	var se *gomail.SendError
	return errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600
}
