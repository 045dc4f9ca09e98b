package server

import (
	"log/slog"

	"github.com/rosterhq/roster/mail"
)

// Mailer is the sender the outbox worker sends mail through, as Open
// makes it (an operator command that mails a user makes it here too):
// SMTP at smtpURL, or, without one, the log, for a developer to follow
// the links from there. done is the status a mail gets once the sender
// took it: "sent" or "logged".
func Mailer(smtpURL, from string, log *slog.Logger) (sender mail.Sender, done string, err error) {
	if smtpURL == "" {
		return mail.Log{Logger: log}, "logged", nil
	}
	s, err := mail.NewSMTP(smtpURL, from)
	return s, "sent", err
}
