package mail

import (
	"cmp"
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The outbox worker's bounds.
const (
	// Senders is how many mails one worker sends at once through a
	// sender that sends one a connection.
	Senders = 4
	// Batch is how many mails a round claims for a BatchSender, sent in
	// order over one connection.
	Batch = 20
	// Lifetime is how long a mail is tried: the worker gives up on a mail
	// whose next try would fall more than this after it was written.
	Lifetime = 24 * time.Hour
	// maxRetryWait is the longest wait between two tries of a mail.
	maxRetryWait = time.Hour
	// sendTimeout bounds one attempt (go-mail's own connection timeout
	// is 15 s); the lease is longer, so a slow attempt is never sent
	// again by another replica while it is under way.
	sendTimeout = time.Minute
	lease       = 3 * sendTimeout
	// wakeDelay is how long after a wake-up the worker claims.
	wakeDelay = 20 * time.Millisecond
	// streamGap is the least time from the end of one round to the claim
	// of the next one a wake-up starts: a mail after a quiet moment
	// leaves after wakeDelay, and under a stream of commits each round
	// takes what the gap gathered. Claimed after every wake-up, at 200
	// role changes a second over 8 replicas a round carried one mail:
	// a claim, a connection to the SMTP server and a record for each
	// (issue 26, decisions.md).
	streamGap = 100 * time.Millisecond
)

// Queued is a mail of the outbox, claimed for one attempt.
type Queued struct {
	ID        int64 // the outbox row
	Message         // its ID is the row's stable Message-ID (MessageID)
	Attempts  int   // attempts made before this one
	CreatedAt time.Time
}

// Outbox is where mail waits to be sent: claimed under a lease, at most
// n at once, each by one worker across every replica; then done (status
// "sent" or "logged"), or failed with why and when to try again (never
// again when next is zero).
type Outbox interface {
	ClaimMail(ctx context.Context, at time.Time, n int, lease time.Duration) ([]Queued, error)
	MailDone(ctx context.Context, ids []int64, status string, at time.Time) error
	MailFailed(ctx context.Context, id int64, msg string, next time.Time) error
}

// MessageID is the stable Message-ID (left of the @) of the outbox row id
// written at created: the same on every attempt of the mail, so a
// receiver can drop the copy sent again after a crash between the SMTP
// server's acceptance and the row's being marked sent.
func MessageID(id int64, created time.Time) string {
	return "roster-outbox." + strconv.FormatInt(id, 10) + "." + strconv.FormatInt(created.UnixMicro(), 10)
}

// Worker sends the outbox through Sender until its context ends. A mail
// is sent at least once: a worker that dies between the SMTP server's
// acceptance and MailDone leaves the mail to be sent again when its lease
// ends, with the same Message-ID.
type Worker struct {
	Outbox Outbox
	Sender Sender
	// Done is the status a mail gets once Sender took it: "sent" for an
	// SMTP server, "logged" for the Log.
	Done string
	Log  *slog.Logger
	// RetryBase is the wait before the second try, doubling per try up to
	// an hour, each wait drawn between half and the whole of it (jitter:
	// mails that failed together do not come back together); 0: 30s.
	RetryBase time.Duration
	// Wake makes the worker claim at once (after a commit that wrote
	// mail); otherwise it polls every second, or every half RetryBase
	// when that is shorter.
	Wake <-chan struct{}
	// Sent, Failed and GivenUp count mails sent, attempts that failed and
	// mails given up (nil: not counted).
	Sent, Failed, GivenUp *atomic.Int64
}

func (w *Worker) retryBase() time.Duration {
	if w.RetryBase > 0 {
		return w.RetryBase
	}
	return 30 * time.Second
}

// Run sends due mail until ctx ends, then waits for the attempts under
// way (each is finished and recorded, at most sendTimeout).
func (w *Worker) Run(ctx context.Context) {
	poll := min(time.Second, max(w.retryBase()/2, 10*time.Millisecond))
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if ctx.Err() != nil {
			return
		}
		n := w.round(ctx)
		ended := time.Now()
		if n == w.claimSize() {
			continue // there may be more waiting
		}
		select {
		case <-ctx.Done():
			return
		case <-w.Wake:
			// The commit that wrote the mail is still answering its
			// request: let the answer go out first (and the mail of
			// the next few commits gather), then send; under a stream
			// of commits, streamGap after the last round.
			select {
			case <-ctx.Done():
				return
			case <-time.After(max(wakeDelay, streamGap-time.Since(ended))):
			}
		case <-t.C:
		}
	}
}

// Drain sends the mail due now, until a claim finds less than a round's
// worth, and returns.
func (w *Worker) Drain(ctx context.Context) {
	for ctx.Err() == nil && w.round(ctx) == w.claimSize() {
	}
}

// claimSize is how many mails a round claims: Batch for a BatchSender,
// else Senders.
func (w *Worker) claimSize() int {
	if _, ok := w.Sender.(BatchSender); ok {
		return Batch
	}
	return Senders
}

// round claims up to claimSize due mails, sends them and records each
// outcome; it returns how many it claimed. A BatchSender gets them at
// once, in the claim's order (oldest first); another sender gets them
// at once from one goroutine for each recipient.
func (w *Worker) round(ctx context.Context) int {
	ms, err := w.Outbox.ClaimMail(ctx, time.Now(), w.claimSize(), lease)
	if err != nil {
		if ctx.Err() == nil {
			w.Log.Error("mail: claim", "err", err)
		}
		return 0
	}
	// One sender per recipient, in the claim's order (oldest first):
	// a person's mails arrive in the order they were written ("left the
	// plan" before "is on the plan again"), save for a retried one.
	slices.SortFunc(ms, func(a, b Queued) int { return cmp.Compare(a.ID, b.ID) }) // RETURNING has no order
	if bs, ok := w.Sender.(BatchSender); ok && len(ms) > 0 {
		batch := make([]Message, len(ms))
		for i, m := range ms {
			batch[i] = m.Message
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
		errs := bs.SendBatch(sctx, batch)
		cancel()
		var sent []int64 // recorded at once
		for i, m := range ms {
			if errs[i] == nil {
				sent = append(sent, m.ID)
				continue
			}
			w.record(context.WithoutCancel(ctx), m, errs[i])
		}
		w.recordSent(context.WithoutCancel(ctx), sent)
		return len(ms)
	}
	var to []string
	byTo := map[string][]Queued{}
	for _, m := range ms {
		if _, ok := byTo[m.To]; !ok {
			to = append(to, m.To)
		}
		byTo[m.To] = append(byTo[m.To], m)
	}
	var wg sync.WaitGroup
	for _, addr := range to {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, m := range byTo[addr] {
				w.attempt(context.WithoutCancel(ctx), m)
			}
		}()
	}
	wg.Wait()
	return len(ms)
}

func (w *Worker) attempt(ctx context.Context, m Queued) {
	sctx, cancel := context.WithTimeout(ctx, sendTimeout)
	err := w.Sender.Send(sctx, m.Message)
	cancel()
	w.record(ctx, m, err)
}

// record records the outcome of an attempt to send m: done, or failed
// with when to try again (never, when refused for good or too old).
func (w *Worker) record(ctx context.Context, m Queued, err error) {
	if err == nil {
		w.recordSent(ctx, []int64{m.ID})
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	count(w.Failed)
	var next time.Time // zero: given up
	if !Permanent(err) {
		next = w.retryAt(m, time.Now())
	}
	if next.IsZero() {
		count(w.GivenUp)
		w.Log.Error("mail: given up", "outbox", m.ID, "to", m.To, "subject", m.Subject, "attempts", m.Attempts+1, "permanent", Permanent(err), "err", err)
	} else {
		w.Log.Warn("mail: attempt failed", "outbox", m.ID, "attempt", m.Attempts+1, "retry_at", next, "err", err)
	}
	msg := err.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	if err := w.Outbox.MailFailed(rctx, m.ID, msg, next); err != nil {
		w.Log.Error("mail: record failure", "outbox", m.ID, "err", err)
	}
}

// recordSent records that the mails ids were taken by the sender, in one
// statement.
func (w *Worker) recordSent(ctx context.Context, ids []int64) {
	if len(ids) == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if w.Sent != nil {
		w.Sent.Add(int64(len(ids)))
	}
	if err := w.Outbox.MailDone(rctx, ids, w.Done, time.Now()); err != nil {
		// Sent but not recorded: sent again when the lease ends,
		// with the same Message-ID.
		w.Log.Error("mail: record sent", "outbox", ids, "err", err)
	}
}

// retryAt is when a mail whose attempt number m.Attempts+1 failed at now
// is tried again: RetryBase doubling per attempt, at most an hour, drawn
// between half and the whole of it; zero (give up) once that would fall
// past Lifetime after the mail was written.
func (w *Worker) retryAt(m Queued, now time.Time) time.Time {
	wait := min(maxRetryWait, w.retryBase()<<min(m.Attempts, 16)) // 2^16 bases is past an hour
	wait = wait/2 + rand.N(wait/2+1)
	if next := now.Add(wait); !next.After(m.CreatedAt.Add(Lifetime)) {
		return next
	}
	return time.Time{}
}

func count(c *atomic.Int64) {
	if c != nil {
		c.Add(1)
	}
}
