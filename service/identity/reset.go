package identity

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/emailaddr"
	"github.com/rosterhq/roster/mail"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/service/internal/guard"
	"github.com/rosterhq/roster/store"
)

// Asking for a password reset. The answer must not tell a stranger whether
// the address has a login: everything that depends on it (the lookup, the
// link, the mail) happens after the answer, on a few background workers
// fed by a bounded queue. Before the answer, only what costs the same for
// every address: the per-client and per-address counters, and a place in
// the queue.

// resetPause is how long after its answer a request's work may start at
// the earliest: the answer is on its way out by then, so the lookup and the
// writes for a registered address do not share the cores (or the SQLite
// write lock) with it. Measured on 2 cores without the pause, a known
// address's answer took 0.3-0.5 ms longer (see decisions.md). A queue that
// has waited longer than this is worked at once.
const resetPause = 50 * time.Millisecond

// resetRequest is a queued request: the address and when it was answered.
type resetRequest struct {
	email string
	at    time.Time
	// verify marks a request to send a verification link again
	// (RequestVerification), worked on the same queue.
	verify bool
}

// The reset request limits: per client (an IPv4 address or an IPv6 /64)
// and per address, each over guard.ResetWindow. A refused request answers 429
// and is not queued. The per-address limit bounds the requests, the mail
// allowance (guard.MailAllowed) the mails.
const (
	resetIPMax   = 20
	resetAddrMax = 5
)

// RequestPasswordReset asks for a reset link for rawEmail from ip. It
// answers before looking the address up: the same answer, in the same
// time, whether or not the address has a login. RunPasswordResets then
// mails a link when the address has a user, within its mail allowance.
// An address that is not an address is answered alike and does nothing.
//
// Errors: ERATELIMITED (with RetryAfter) past the limits of the client or
// the address; EUNAVAILABLE (with RetryAfter) when the queue is full.
// Either way nothing was queued, so nothing is sent.
func (s *Identity) RequestPasswordReset(ctx context.Context, rawEmail, ip string) error {
	s.g.PruneThrottles(ctx)
	if err := s.g.Limit(ctx, "reset:ip:", guard.IPKey(ip), guard.ResetWindow, resetIPMax, &s.c.Stats.ResetThrottled,
		"Too many password resets from your network: try again in %s"); err != nil {
		return err
	}
	email, err := emailaddr.Normalize(rawEmail)
	if err != nil {
		return nil
	}
	if err := s.g.Limit(ctx, "reset:addr:", email, guard.ResetWindow, resetAddrMax, &s.c.Stats.ResetThrottled,
		"Too many password resets for this address: try again in %s"); err != nil {
		return err
	}
	select {
	case s.resets <- resetRequest{email: email, at: time.Now()}:
		s.c.Stats.ResetsQueued.Add(1)
		return nil
	default:
		s.c.Stats.ResetQueueFull.Add(1)
		s.c.Log().Warn("password reset queue full: refused", "to", guard.MaskEmail(email))
		return roster.Retry(roster.EUNAVAILABLE, 5*time.Second, "Too many password resets are waiting: try again in a few seconds")
	}
}

// RunPasswordResets works the reset queue with Config.ResetWorkers
// workers until ctx ends, then returns once each has finished the request
// in hand (requests still queued are dropped, with a log line: the person
// asks again). The server runs it; without it, requests fill the queue and
// are refused.
func (s *Identity) RunPasswordResets(ctx context.Context) {
	var wg sync.WaitGroup
	for range max(1, s.c.Config.ResetWorkers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case r := <-s.resets:
					if d := time.Until(r.at.Add(resetPause)); d > 0 {
						t := time.NewTimer(d)
						select {
						case <-ctx.Done():
							t.Stop()
							return
						case <-t.C:
						}
					}
					if r.verify {
						s.verificationAgain(ctx, r.email)
						s.c.Stats.VerifyAgainDone.Add(1)
						continue
					}
					s.passwordReset(ctx, r.email)
					s.c.Stats.ResetsDone.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := len(s.resets); n > 0 {
		s.c.Log().Warn("password resets dropped at shutdown", "requests", n)
	}
}

// The limits of sending a verification link again, per client and per
// address over guard.ResetWindow, as for password resets; the address's
// mail allowance (guard.MailAllowed) bounds the mails besides.
const (
	verifyIPMax   = 20
	verifyAddrMax = 3
)

// RequestVerification asks for the verification link of rawEmail again
// (the login page offers it when the address is not verified yet). Like
// RequestPasswordReset it answers before looking the address up, the same
// answer whether or not the address has a login or is verified already;
// the reset workers (RunPasswordResets) then mail a new link when the
// address has a user who is not verified and whose latest sign-up attempt
// is still open (store LastAttempt: the new link applies that attempt, as
// the first one would have), within the address's mail allowance.
//
// Errors: ERATELIMITED (with RetryAfter) past the limits of the client or
// the address; EUNAVAILABLE (with RetryAfter) when the queue is full.
// Either way nothing was queued, so nothing is sent.
func (s *Identity) RequestVerification(ctx context.Context, rawEmail, ip string) error {
	s.g.PruneThrottles(ctx)
	if err := s.g.Limit(ctx, "verify:ip:", guard.IPKey(ip), guard.ResetWindow, verifyIPMax, &s.c.Stats.VerifyAgainThrottled,
		"Too many verification links asked for from your network: try again in %s"); err != nil {
		return err
	}
	email, err := emailaddr.Normalize(rawEmail)
	if err != nil {
		return nil
	}
	if err := s.g.Limit(ctx, "verify:addr:", email, guard.ResetWindow, verifyAddrMax, &s.c.Stats.VerifyAgainThrottled,
		"Too many verification links asked for this address: try again in %s"); err != nil {
		return err
	}
	select {
	case s.resets <- resetRequest{email: email, at: time.Now(), verify: true}:
		return nil
	default:
		s.c.Stats.ResetQueueFull.Add(1)
		s.c.Log().Warn("verification queue full: refused", "to", guard.MaskEmail(email))
		return roster.Retry(roster.EUNAVAILABLE, 5*time.Second, "Too many requests are waiting: try again in a few seconds")
	}
}

// verificationAgain does what RequestVerification asked for, after the
// answer: a new link for the latest open sign-up attempt of an unverified
// user, mailed within the address's allowance.
func (s *Identity) verificationAgain(ctx context.Context, email string) {
	u, _, err := s.c.DB.UserByEmail(ctx, email)
	if err != nil {
		if !errors.Is(err, store.ErrNoRows) {
			s.c.Log().Error("verification link again", "err", err)
		}
		return
	}
	if u.EmailVerified {
		return
	}
	// Past the allowance nothing is sent. The open links stay: unlike a
	// sign-up, this stores no attempt of its own, so no one's password
	// waits unmailed.
	if !s.g.MailAllowed(ctx, email) {
		return
	}
	token, tokenHash := core.NewToken()
	err = s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		pw, name, err := tx.LastAttempt(ctx, u.ID)
		if err != nil {
			return err
		}
		if err := tx.CreateVerification(ctx, u.ID, tokenHash, s.c.Config.VerifyTTL, pw, name); err != nil {
			return err
		}
		if name == "" {
			name = u.Name
		}
		return s.c.Mail(ctx, tx, s.verificationMail(email, name, token))
	})
	if errors.Is(err, store.ErrNoRows) {
		return // no open attempt: the person signs up again
	} else if err != nil {
		s.c.Log().Error("verification link again", "err", err)
	}
}

// passwordReset does what a reset request asked for, after the answer:
// when the address has a user and mail allowance left, it stores a new
// link and writes its mail to the outbox in the same transaction (the
// outbox worker sends it: a slow mail server holds no reset worker).
func (s *Identity) passwordReset(ctx context.Context, email string) {
	u, _, err := s.c.DB.UserByEmail(ctx, email)
	if err != nil {
		if !errors.Is(err, store.ErrNoRows) {
			s.c.Log().Error("password reset", "err", err)
		}
		return
	}
	if !s.g.MailAllowed(ctx, email) {
		return
	}
	token, tokenHash := core.NewToken()
	if err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		if err := tx.CreatePasswordReset(ctx, u.ID, tokenHash, s.c.Config.ResetTTL); err != nil {
			return err
		}
		return s.c.Mail(ctx, tx, mail.Message{To: email, Subject: "Reset your Roster password",
			Text: fmt.Sprintf("Someone, we hope you, asked to reset the password of the Roster login %s.\n\n"+
				"Choose a new password here (the link works for %s, once):\n%s\n\n"+
				"If you did not ask, ignore this mail: your password stays as it is.\n",
				email, roster.DurationWords(s.c.Config.ResetTTL), s.c.Link("reset-password", token))})
	}); err != nil {
		s.c.Log().Error("password reset", "err", err)
	}
}
