package server

import (
	"log/slog"

	"github.com/rosterhq/roster/mail"
	"github.com/rosterhq/roster/store"
)

// Mailer is the mail sender Open uses, for an operator command that mails
// a user: SMTP at smtpURL, or, without one, the outbox table and the log,
// as roster serve does.
func Mailer(db *store.DB, smtpURL, from string, log *slog.Logger) (mail.Sender, error) {
	if smtpURL == "" {
		return outbox{db: db, log: mail.Log{Logger: log}}, nil
	}
	return mail.NewSMTP(smtpURL, from)
}
