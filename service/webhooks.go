package service

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"code.dny.dev/ssrf"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/store"
)

// WebhookEvents are the event types a webhook may subscribe to.
var WebhookEvents = []string{
	"member.joined", "member.role_changed", "member.removed", "member.left",
	"invitation.created", "invitation.revoked", "invitation.accepted",
	"plan.changed", "credentials.rotated",
}

const (
	defaultWebhookTimeout = 5 * time.Second
	// webhookSenders is how many attempts a server makes at once, and
	// webhookPerAccount how many of one account's deliveries are in
	// flight at once across servers: one account's slow receivers hold
	// at most a quarter of a server's senders.
	webhookSenders    = 16
	webhookPerAccount = 4
	webhookMaxWait    = time.Hour
	webhookLifetime   = 24 * time.Hour
	maxWebhooks       = 20
)

// Webhook is an account's endpoint as the API shows it (never its secret
// but once, at creation).
type Webhook = store.Webhook

// Delivery is one event bound for a webhook.
type Delivery = store.Delivery

// emit records an event for the account's webhooks in tx, the
// webhookTargets refuses every address that is not globally reachable
// unicast. Its table is code.dny.dev/ssrf's, generated from the IANA IPv4
// and IPv6 Special-Purpose Address Registries (every entry, plus
// multicast 224.0.0.0/4): 0/8, 10/8, 100.64/10, 127/8, 169.254/16,
// 172.16/12, 192.0.0/24, the documentation and benchmarking ranges
// (198.18/15), 240/4 (so 255.255.255.255), ...; for IPv6 everything
// outside global unicast 2000::/3 (::/128, ::1, ::/96 IPv4-compatible,
// ::ffff:0:0/96, 64:ff9b::/96 and 64:ff9b:1::/48 NAT64, 100::/64, 5f00::/16,
// fc00::/7, fe80::/10, fec0::/10, ff00::/8) and, inside it, 2001::/23,
// 2001:db8::/32, 2002::/16 (6to4), 2620:4f:8000::/48 and 3fff::/20.
// NAT64 and 6to4 are refused although the registry calls 64:ff9b::/96
// globally reachable: they embed an IPv4 address a gateway would reach
// for us, a private one included.
//
// Only its SafeAddr is used: a webhook may name any port.
var webhookTargets = ssrf.New()

// errRefusedAddr: the address a webhook's name resolved to is not
// globally reachable unicast.
var errRefusedAddr = errors.New("webhook: address not allowed")

// allowedTarget reports whether a webhook may connect to ip. An
// IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as the IPv4 address
// it carries, which is where a connection to it goes.
func allowedTarget(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsValid() && ip.Zone() == "" && webhookTargets.SafeAddr(ip) == nil
}

// resolver is the DNS of webhook targets: Config.WebhookResolver, else
// the system's.
func (s *Service) resolver() *net.Resolver {
	if r := s.Config.WebhookResolver; r != nil {
		return r
	}
	return net.DefaultResolver
}

// checkWebhookURL enforces the URL rules at creation: https, and a host
// that resolves to globally reachable unicast addresses only (both lifted
// by WebhookAllowPrivate). Deliveries check again when they dial.
func (s *Service) checkWebhookURL(ctx context.Context, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || len(raw) > 2000 {
		return "", roster.FieldErrorf("url", roster.EINVALID, "url must be an absolute https:// URL without credentials")
	}
	if s.Config.WebhookAllowPrivate {
		return raw, nil
	}
	if u.Scheme != "https" {
		return "", roster.FieldErrorf("url", roster.EINVALID, "url must use https")
	}
	host := u.Hostname()
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		ips, err := s.resolver().LookupNetIP(rctx, "ip", host)
		if err != nil || len(ips) == 0 {
			return "", roster.FieldErrorf("url", roster.EINVALID, "url's host %s does not resolve", host)
		}
		addrs = ips
	}
	for _, ip := range addrs {
		if !allowedTarget(ip) {
			return "", roster.FieldErrorf("url", roster.EINVALID, "url's host %s is a private, loopback or link-local address, or one reserved for special use: webhooks go to globally reachable addresses only", host)
		}
	}
	return raw, nil
}

func checkEvents(events []string) ([]string, error) {
	if len(events) == 0 {
		return nil, roster.FieldErrorf("events", roster.EINVALID, "events must list at least one event type")
	}
	var out []string
	for _, e := range events {
		if !slices.Contains(WebhookEvents, e) {
			return nil, roster.FieldErrorf("events", roster.EINVALID, "unknown event %q: one of %s", e, strings.Join(WebhookEvents, ", "))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// CreateWebhook adds an endpoint, recording the actor as who made it, and
// returns it with its signing secret, shown this once. The caller holds
// team.edit. Errors: EINVALID.
func (s *Service) CreateWebhook(ctx context.Context, a roster.Account, rawURL string, events []string, actor roster.Actor) (Webhook, error) {
	u, err := s.checkWebhookURL(ctx, rawURL)
	if err != nil {
		return Webhook{}, err
	}
	events, err = checkEvents(events)
	if err != nil {
		return Webhook{}, err
	}
	b := make([]byte, 32)
	rand.Read(b)
	secret := "whsec_" + base64.RawURLEncoding.EncodeToString(b)
	var w Webhook
	err = s.DB.Transact(ctx, func(tx *store.Tx) error {
		if n, err := tx.CountWebhooks(ctx, a.Seq); err != nil {
			return err
		} else if n >= maxWebhooks {
			return roster.Errorf(roster.EINVALID, "an account has at most %d webhooks", maxWebhooks)
		}
		id, err := tx.CreateWebhook(ctx, a.Seq, u, events, secret, actor.UserID, actor.Email)
		if err != nil {
			return err
		}
		if err := tx.Audit(ctx, a.Seq, actor, "webhook.create", fmt.Sprint(id), u); err != nil {
			return err
		}
		w, err = tx.Webhook(ctx, a.Seq, id)
		return err
	})
	return w, err
}

// Webhooks lists the account's endpoints. The caller holds team.view.
func (s *Service) Webhooks(ctx context.Context, a roster.Account, p roster.Page) ([]Webhook, int, error) {
	return s.DB.Webhooks(ctx, a.Seq, p.Limit, p.Offset)
}

// Webhook returns one endpoint. Errors: ENOTFOUND.
func (s *Service) Webhook(ctx context.Context, a roster.Account, id int64) (Webhook, error) {
	w, err := s.DB.Webhook(ctx, a.Seq, id)
	return w, core.DBErr(err, "no such webhook")
}

// WebhookChange is a PATCH: nil fields stay.
type WebhookChange struct {
	URL     *string
	Events  *[]string
	Enabled *bool
}

// UpdateWebhook changes an endpoint. The caller holds team.edit.
// Errors: EINVALID, ENOTFOUND.
func (s *Service) UpdateWebhook(ctx context.Context, a roster.Account, id int64, c WebhookChange, actor roster.Actor) (Webhook, error) {
	var w Webhook
	var u string
	var events []string
	var err error
	if c.URL != nil {
		if u, err = s.checkWebhookURL(ctx, *c.URL); err != nil {
			return w, err
		}
	}
	if c.Events != nil {
		if events, err = checkEvents(*c.Events); err != nil {
			return w, err
		}
	}
	err = s.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		w, err = tx.Webhook(ctx, a.Seq, id)
		if err != nil {
			return core.DBErr(err, "no such webhook")
		}
		if c.URL != nil {
			w.URL = u
		}
		if c.Events != nil {
			w.Events = events
		}
		if c.Enabled != nil {
			w.Enabled = *c.Enabled
		}
		if err := tx.UpdateWebhook(ctx, w); err != nil {
			return core.DBErr(err, "no such webhook")
		}
		return tx.Audit(ctx, a.Seq, actor, "webhook.update", fmt.Sprint(id), w.URL)
	})
	return w, err
}

// DeleteWebhook removes an endpoint and its pending deliveries. The
// caller holds team.edit. Errors: ENOTFOUND.
func (s *Service) DeleteWebhook(ctx context.Context, a roster.Account, id int64, actor roster.Actor) error {
	return s.DB.Transact(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteWebhook(ctx, a.Seq, id); err != nil {
			return core.DBErr(err, "no such webhook")
		}
		return tx.Audit(ctx, a.Seq, actor, "webhook.delete", fmt.Sprint(id), "")
	})
}

// Deliveries lists a webhook's deliveries, newest first. Errors: ENOTFOUND.
func (s *Service) Deliveries(ctx context.Context, a roster.Account, id int64, p roster.Page) ([]Delivery, int, error) {
	if _, err := s.Webhook(ctx, a, id); err != nil {
		return nil, 0, err
	}
	return s.DB.Deliveries(ctx, id, p.Limit, p.Offset)
}

// Sign is the Roster-Signature header of body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + string(body)))
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// webhookTimeout is how long one attempt may take, connection included.
func (s *Service) webhookTimeout() time.Duration {
	if t := s.Config.WebhookTimeout; t > 0 {
		return t
	}
	return defaultWebhookTimeout
}

// webhookClient sends deliveries. Its dialer refuses every address that
// is not globally reachable unicast after DNS resolution, at every
// connection, so a name that resolves elsewhere later (DNS rebinding)
// cannot reach one.
func (s *Service) webhookClient() *http.Client {
	d := &net.Dialer{Timeout: s.webhookTimeout(), Resolver: s.Config.WebhookResolver}
	if !s.Config.WebhookAllowPrivate {
		d.Control = dialControl
	}
	tr := &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: s.webhookTimeout(), MaxIdleConns: 10, IdleConnTimeout: 30 * time.Second}
	return &http.Client{Transport: tr, Timeout: s.webhookTimeout(),
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
func (s *Service) deliver(ctx context.Context, c *http.Client, d Delivery) (tlsFailed bool, err error) {
	if !s.Config.WebhookAllowPrivate && !strings.HasPrefix(d.URL, "https://") {
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
	req.Header.Set("Roster-Signature", Sign(d.Secret, time.Now(), []byte(d.Body)))
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
func (s *Service) retryAt(d Delivery, attempts int) time.Time {
	base := s.Config.WebhookRetryBase
	if base <= 0 {
		base = 10 * time.Second
	}
	wait := base
	for i := 1; i < attempts && wait < webhookMaxWait; i++ {
		wait *= 2
	}
	wait = min(wait, webhookMaxWait)
	next := time.Now().Add(wait)
	if next.After(d.CreatedAt.Add(webhookLifetime)) {
		return time.Time{}
	}
	return next
}

// RunWebhooks sends due deliveries from the outbox until ctx ends, then
// waits for the attempts under way (at most the timeout).
//
// Up to webhookSenders attempts run at once, each on its own, and a
// sender that frees up claims again at once: no attempt waits for another
// account's. The claim is fair (see store.ClaimDeliveries): at most
// webhookPerAccount of an account's deliveries are in flight, and a
// webhook's go one at a time, in order.
func (s *Service) RunWebhooks(ctx context.Context) {
	poll := time.Second
	if b := s.Config.WebhookRetryBase; b > 0 && b < poll {
		poll = max(b/2, 10*time.Millisecond)
	}
	c := s.webhookClient()
	lease := 2*s.webhookTimeout() + time.Minute
	t := time.NewTicker(poll)
	defer t.Stop()
	done := make(chan struct{}, webhookSenders)
	busy := 0
	defer func() {
		for ; busy > 0; busy-- {
			<-done
		}
	}()
	for {
		if free := webhookSenders - busy; free > 0 && ctx.Err() == nil {
			ds, err := s.DB.ClaimDeliveries(ctx, time.Now(), free, webhookPerAccount, lease)
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
func (s *Service) attempt(ctx context.Context, c *http.Client, d Delivery) {
	bg := context.WithoutCancel(ctx)
	tlsFailed, err := s.deliver(bg, c, d)
	rctx, cancel := context.WithTimeout(bg, 5*time.Second)
	defer cancel()
	if err == nil {
		err = s.DB.DeliveryDone(rctx, d.ID)
	} else {
		s.Log.Info("webhooks: attempt failed", "delivery", d.ID, "webhook", d.WebhookID, "attempt", d.Attempts+1, "err", err)
		err = s.DB.DeliveryFailed(rctx, d.ID, failureText(err, tlsFailed), s.retryAt(d, d.Attempts+1))
	}
	if err != nil {
		s.Log.Error("webhooks: record attempt", "delivery", d.ID, "err", err)
	}
}
