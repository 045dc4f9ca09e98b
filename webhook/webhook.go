// Package webhook delivers an account's events to its endpoints: the
// outbound side of webhooks, beside mail. It claims due deliveries from the
// store's outbox, signs and posts them through a dialer that refuses every
// address not globally reachable, and records each attempt; CheckURL is
// the same address rule applied when a webhook is created. It knows
// nothing of the service's rules: the service writes the outbox.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/rosterhq/roster"
)

const (
	defaultTimeout = 5 * time.Second
	// senders is how many attempts a server makes at once, and perAccount
	// how many of one account's deliveries are in flight at once across
	// servers: one account's slow receivers hold at most a quarter of a
	// server's senders.
	senders    = 16
	perAccount = 4
	maxWait    = time.Hour
	lifetime   = 24 * time.Hour
)

// Outbox is where deliveries wait to be sent (store.DB is one): claimed
// fairly across accounts, at most n at once and perAccount of one
// account's in flight, each under a lease; then done, or failed with the
// phrase the delivery log shows and when to try again.
type Outbox interface {
	ClaimDeliveries(ctx context.Context, at time.Time, n, perAccount int, lease time.Duration) ([]roster.Delivery, error)
	DeliveryDone(ctx context.Context, id int64) error
	DeliveryFailed(ctx context.Context, id int64, msg string, next time.Time) error
}

// Worker sends the outbox. Its settings are the service's Webhook*
// settings, read when the worker is made.
type Worker struct {
	Outbox       Outbox
	Log          *slog.Logger
	RetryBase    time.Duration // the first retry (doubling, at most 1h); 0: 10s
	AllowPrivate bool          // plain http and addresses not globally reachable are allowed
	Timeout      time.Duration // one attempt, connecting included; 0: 5s
	Resolver     *net.Resolver // nil: the system's
}

// Sign is the Roster-Signature header of body sent at t: keyed with the
// secret's whole string, whatever its form (see StandardKey for the
// webhook-signature's key).
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + string(body)))
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// timeout is how long one attempt may take, connection included.
func (s *Worker) timeout() time.Duration {
	if t := s.Timeout; t > 0 {
		return t
	}
	return defaultTimeout
}

// client sends deliveries. Its dialer refuses every address that
// is not globally reachable unicast after DNS resolution, at every
// connection, so a name that resolves elsewhere later (DNS rebinding)
// cannot reach one.
func (s *Worker) client() *http.Client {
	d := &net.Dialer{Timeout: s.timeout(), Resolver: s.Resolver}
	if !s.AllowPrivate {
		d.Control = dialControl
	}
	tr := &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: s.timeout(), MaxIdleConns: 10, IdleConnTimeout: 30 * time.Second}
	// otelhttp: each delivery is a client span (the root of its trace)
	// and the receiver gets its traceparent.
	return &http.Client{Transport: otelhttp.NewTransport(tr), Timeout: s.timeout(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// dialControl is the dialer's check of the address it is about to
// connect to, after resolution.
func dialControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !allowedTarget(ap.Addr()) {
		return errRefusedAddr
	}
	return nil
}

var errNotHTTPS = errors.New("webhook: the url is not https")

// statusError is an answer outside 2xx.
type statusError int

func (e statusError) Error() string { return "HTTP " + strconv.Itoa(int(e)) }

// deliver makes one attempt. tlsFailed is set when the TLS handshake
// failed (its errors have no common type to recognise them by).
func (s *Worker) deliver(ctx context.Context, c *http.Client, d roster.Delivery) (tlsFailed bool, err error) {
	if !s.AllowPrivate && !strings.HasPrefix(d.URL, "https://") {
		return false, errNotHTTPS
	}
	// Atomic: a handshake cut short by the timeout ends on the
	// transport's goroutine after Do has returned.
	var handshakeFailed atomic.Bool
	defer func() { tlsFailed = handshakeFailed.Load() }()
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err != nil {
				handshakeFailed.Store(true)
			}
		},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader([]byte(d.Body)))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Roster-Webhooks/1")
	// Two signatures of one attempt at one time: Roster's own, and the
	// Standard Webhooks headers, whose webhook-id is the event's id (the
	// body's "id"): the same on every retry and every redelivery of the
	// event, so a receiver deduplicates on it.
	now, body := time.Now(), []byte(d.Body)
	req.Header.Set("Roster-Signature", Sign(d.Secret, now, body))
	req.Header.Set("webhook-id", d.EventID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", SignStandard(d.Secret, d.EventID, now, body))
	resp, err := c.Do(req)
	if err != nil {
		return false, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return false, statusError(resp.StatusCode)
	}
	return false, nil
}

// failureText is what the delivery log shows of a failed attempt: a
// fixed phrase, never the error's own text, which names the URL, the host
// and the address dialled (internal names an admin must not learn by
// pointing a webhook at them). The full error goes to the server's log.
func failureText(err error, tlsFailed bool) string {
	var status statusError
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.As(err, &status):
		return status.Error()
	case errors.Is(err, errRefusedAddr):
		return "refused: address not allowed"
	case errors.Is(err, errNotHTTPS):
		return "refused: https required"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	case tlsFailed:
		return "TLS handshake failed"
	case errors.As(err, &dnsErr):
		return "DNS lookup failed"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return "unreachable"
	}
	return "request failed"
}

// retryAt is when a delivery that failed attempts times (1 or more) is
// tried again: base doubling per attempt, at most an hour apart; zero
// once the next try would fall past 24 hours from the event.
func (s *Worker) retryAt(d roster.Delivery, attempts int) time.Time {
	base := s.RetryBase
	if base <= 0 {
		base = 10 * time.Second
	}
	wait := base
	for i := 1; i < attempts && wait < maxWait; i++ {
		wait *= 2
	}
	wait = min(wait, maxWait)
	next := time.Now().Add(wait)
	if next.After(d.CreatedAt.Add(lifetime)) {
		return time.Time{}
	}
	return next
}

// Run sends due deliveries from the outbox until ctx ends, then
// waits for the attempts under way (at most the timeout).
//
// Up to senders attempts run at once, each on its own, and a
// sender that frees up claims again at once: no attempt waits for another
// account's. The claim is fair (see Outbox): at most
// perAccount of an account's deliveries are in flight, and a
// webhook's go one at a time, in order.
func (s *Worker) Run(ctx context.Context) {
	poll := time.Second
	if b := s.RetryBase; b > 0 && b < poll {
		poll = max(b/2, 10*time.Millisecond)
	}
	c := s.client()
	lease := 2*s.timeout() + time.Minute
	t := time.NewTicker(poll)
	defer t.Stop()
	done := make(chan struct{}, senders)
	busy := 0
	defer func() {
		for ; busy > 0; busy-- {
			<-done
		}
	}()
	for {
		if free := senders - busy; free > 0 && ctx.Err() == nil {
			ds, err := s.Outbox.ClaimDeliveries(ctx, time.Now(), free, perAccount, lease)
			if err != nil && ctx.Err() == nil {
				s.Log.Error("webhooks: claim", "err", err)
			}
			for _, d := range ds {
				busy++
				go func() {
					s.attempt(ctx, c, d)
					done <- struct{}{}
				}()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-done:
			busy--
			// One claim for all the senders that are free by now.
			for drained := false; !drained; {
				select {
				case <-done:
					busy--
				default:
					drained = true
				}
			}
		case <-t.C:
		}
	}
}

// attempt makes one attempt and records it. An attempt under way when
// the server stops is finished (at most the timeout) and recorded, so a
// restart neither loses nor holds up a delivery.
func (s *Worker) attempt(ctx context.Context, c *http.Client, d roster.Delivery) {
	bg := context.WithoutCancel(ctx)
	tlsFailed, err := s.deliver(bg, c, d)
	rctx, cancel := context.WithTimeout(bg, 5*time.Second)
	defer cancel()
	if err == nil {
		err = s.Outbox.DeliveryDone(rctx, d.ID)
	} else {
		s.Log.Info("webhooks: attempt failed", "delivery", d.ID, "webhook", d.WebhookID, "attempt", d.Attempts+1, "err", err)
		err = s.Outbox.DeliveryFailed(rctx, d.ID, failureText(err, tlsFailed), s.retryAt(d, d.Attempts+1))
	}
	if err != nil {
		s.Log.Error("webhooks: record attempt", "delivery", d.ID, "err", err)
	}
}
