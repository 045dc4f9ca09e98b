package service

import (
	"context"
	"time"

	"github.com/rosterhq/roster/mail"
	"github.com/rosterhq/roster/store"
	"github.com/rosterhq/roster/webhook"
)

// RunWebhooks sends due deliveries from the outbox until ctx ends, then
// waits for the attempts under way (see webhook.Worker.Run).
func (s *Service) RunWebhooks(ctx context.Context) {
	w := &webhook.Worker{Outbox: s.core.DB, Log: s.Log, RetryBase: s.Config.WebhookRetryBase, AllowPrivate: s.Config.WebhookAllowPrivate,
		Timeout: s.Config.WebhookTimeout, Resolver: s.Config.WebhookResolver}
	w.Run(ctx)
}

// RunMail sends the mail outbox through the service's sender until ctx
// ends, then waits for the attempts under way (see mail.Worker.Run): at
// once after this process commits mail, otherwise at its polls, with
// retries (Config.MailRetryBase). done is the status a sent mail gets:
// "sent" (an SMTP server took it) or "logged" (the sender is the log).
// Without a sender (a tool) it returns at once.
func (s *Service) RunMail(ctx context.Context, done string) {
	if s.core.Sender != nil {
		s.mailWorker(done).Run(ctx)
	}
}

// SendMail makes one pass over the outbox: it sends every mail due now
// and returns (a command that mails once, not a server).
func (s *Service) SendMail(ctx context.Context, done string) {
	if s.core.Sender != nil {
		s.mailWorker(done).Drain(ctx)
	}
}

func (s *Service) mailWorker(done string) *mail.Worker {
	return &mail.Worker{Outbox: mailOutbox{s.core.DB}, Sender: s.core.Sender, Done: done, Log: s.Log,
		RetryBase: s.Config.MailRetryBase, Wake: s.core.DB.MailQueued(),
		Sent: &s.Stats.MailSent, Failed: &s.Stats.MailFailed, GivenUp: &s.Stats.MailGivenUp}
}

// MailQueued counts the mails in the outbox waiting to be sent, on every
// replica (for the admin listener's metrics and for tests that wait for
// the outbox to be empty).
func (s *Service) MailQueued(ctx context.Context) (int64, error) { return s.core.DB.MailPending(ctx) }

// mailOutbox is the store's outbox as the mail worker claims it.
type mailOutbox struct{ *store.DB }

func (o mailOutbox) ClaimMail(ctx context.Context, at time.Time, n int, lease time.Duration) ([]mail.Queued, error) {
	ms, err := o.DB.ClaimMail(ctx, at, n, lease)
	out := make([]mail.Queued, len(ms))
	for i, m := range ms {
		out[i] = mail.Queued{ID: m.ID, Attempts: m.Attempts, CreatedAt: m.CreatedAt,
			Message: mail.Message{To: m.To, Subject: m.Subject, Text: m.Body, ID: mail.MessageID(m.ID, m.CreatedAt)}}
	}
	return out, err
}
