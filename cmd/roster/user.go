package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/emailaddr"
	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/service"
)

// userAccountJSON is one of a user's accounts in `roster user show --json`.
type userAccountJSON struct {
	AccountID string              `json:"account_id"`
	Name      string              `json:"name"`
	Plan      roster.Plan         `json:"plan"`
	Role      string              `json:"role"`
	Status    roster.MemberStatus `json:"status"`
	Default   bool                `json:"default"`
}

// cmdUserShow shows a user (found by email address), their accounts and
// their role in each: where to find the ID for roster account plan.
func cmdUserShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	var asJSON bool
	fs := flag.NewFlagSet("user show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.flags(fs)
	fs.BoolVar(&asJSON, "json", false, "write JSON")
	pos, err := parseWithArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"user show: give one EMAIL, e.g. roster user show owner@example.com"}
	}
	email, err := emailaddr.Normalize(pos[0])
	if err != nil {
		return usageError{fmt.Sprintf("user show: %q: %s", clean(pos[0]), roster.ErrorMessage(err))}
	}
	db, err := openExisting(c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	u, ms, err := operator(db).User(ctx, email)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return fmt.Errorf("no user with the address %s", email)
	} else if err != nil {
		return err
	}
	if asJSON {
		out := struct {
			User     roster.User       `json:"user"`
			Accounts []userAccountJSON `json:"accounts"`
		}{User: u, Accounts: []userAccountJSON{}}
		for _, m := range ms {
			out.Accounts = append(out.Accounts, userAccountJSON{AccountID: m.Account.ID, Name: m.Account.Name,
				Plan: m.Account.Plan, Role: m.Role.String(), Status: m.Status, Default: m.IsDefault})
		}
		return writeJSON(stdout, out)
	}
	t := newTable(stdout, "User", strconv.FormatInt(u.ID, 10))
	t.row("Email", u.Email)
	t.row("Name", u.Name)
	t.row("Verified", yesNo(u.EmailVerified, "yes", "no"))
	t.row("Two-factor", yesNo(u.MFAEnabled, "on", "off"))
	t.row("Created", fmtTime(u.CreatedAt))
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nAccounts: %d\n", len(ms))
	if len(ms) == 0 {
		return nil
	}
	t = newTable(stdout, "ACCOUNT", "NAME", "ROLE", "STATUS", "PLAN", "DEFAULT")
	for _, m := range ms {
		t.row(m.Account.ID, m.Account.Name, m.Role.String(), string(m.Status), planText(m.Account), yesNo(m.IsDefault, "yes", ""))
	}
	return t.flush()
}

// cmdUserResetMFA clears the second factor of a user locked out of it (a
// lost authenticator and no recovery code), as the platform operator,
// through the service: the authenticator and the recovery codes are
// cleared, every session of the user ends, an audit event is written in
// each of their accounts, and the user is mailed (through the outbox:
// sent at once through ROSTER_SMTP_URL, or logged, as roster serve does;
// a mail the server refuses is left for a running server to retry).
func cmdUserResetMFA(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	fs := flag.NewFlagSet("user reset-mfa", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.flags(fs)
	c.mailFlags(fs)
	pos, err := parseWithArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"user reset-mfa: give one EMAIL, e.g. roster user reset-mfa dev@example.com"}
	}
	email, err := emailaddr.Normalize(pos[0])
	if err != nil {
		return usageError{fmt.Sprintf("user reset-mfa: %q: %s", clean(pos[0]), roster.ErrorMessage(err))}
	}
	db, err := openExisting(c.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	log := newLogger("text", slog.LevelInfo, stderr)
	sender, done, err := server.Mailer(c.SMTPURL, c.MailFrom, log)
	if err != nil {
		return err
	}
	svc := service.New(db, sender, nil, service.DefaultConfig(), log)
	u, err := svc.ResetMFA(ctx, email, roster.Actor{Email: "operator (cli)", IP: "cli"})
	if err != nil {
		return fmt.Errorf("%s", roster.ErrorMessage(err))
	}
	// The mail is in the outbox: sent now, or, if the mail server does
	// not take it, by a running server's worker with retries.
	svc.SendMail(ctx, done)
	fmt.Fprintf(stdout, "Two-factor sign-in of %s (user %d) is off: the authenticator and the recovery codes were cleared, "+
		"every session was signed out, and %s was mailed.\n", u.Email, u.ID, u.Email)
	return nil
}
