package service

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
)

// WebhookEvents are the event types a webhook may subscribe to.
var WebhookEvents = []string{
	"member.joined", "member.role_changed", "member.removed", "member.left",
	"invitation.created", "invitation.revoked", "invitation.accepted",
	"plan.changed", "credentials.rotated",
}

const (
	webhookTimeout  = 5 * time.Second
	webhookMaxWait  = time.Hour
	webhookLifetime = 24 * time.Hour
	maxWebhooks     = 20
)

// Webhook is an account's endpoint as the API shows it (never its secret
// but once, at creation).
type Webhook = store.Webhook

// Delivery is one event bound for a webhook.
type Delivery = store.Delivery

// emit records an event for the account's webhooks in tx, the
// transaction of the change it announces.
func (s *Service) emit(ctx context.Context, tx *store.Tx, accountSeq int64, authID, typ string, data map[string]any) error {
	b := make([]byte, 16)
	rand.Read(b)
	id := "evt_" + hex.EncodeToString(b)
	if data == nil {
		data = map[string]any{}
	}
	body, err := json.Marshal(map[string]any{"id": id, "type": typ, "created_at": tx.Now(), "account_id": authID, "data": data})
	if err != nil {
		return err
	}
	return tx.EnqueueEvent(ctx, accountSeq, id, typ, body)
}

// blockedIP reports whether an address is no place for a webhook:
// loopback, private, link-local, unspecified, multicast or shared.
func blockedIP(ip netip.Addr) bool {
	ip = ip.Unmap()
	return !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() ||
		netip.MustParsePrefix("100.64.0.0/10").Contains(ip) || netip.MustParsePrefix("0.0.0.0/8").Contains(ip)
}

// checkWebhookURL enforces the URL rules at creation: https, and a host
// that resolves to public addresses only (both lifted by
// WebhookAllowPrivate). Deliveries check again when they dial.
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
		ips, err := net.DefaultResolver.LookupNetIP(rctx, "ip", host)
		if err != nil || len(ips) == 0 {
			return "", roster.FieldErrorf("url", roster.EINVALID, "url's host %s does not resolve", host)
		}
		addrs = ips
	}
	for _, ip := range addrs {
		if blockedIP(ip) {
			return "", roster.FieldErrorf("url", roster.EINVALID, "url's host %s is a private, loopback or link-local address: webhooks go to public addresses only", host)
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
	err = s.db.Transact(ctx, func(tx *store.Tx) error {
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
	return s.db.Webhooks(ctx, a.Seq, p.Limit, p.Offset)
}

// Webhook returns one endpoint. Errors: ENOTFOUND.
func (s *Service) Webhook(ctx context.Context, a roster.Account, id int64) (Webhook, error) {
	w, err := s.db.Webhook(ctx, a.Seq, id)
	return w, dbErr(err, "no such webhook")
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
	err = s.db.Transact(ctx, func(tx *store.Tx) error {
		var err error
		w, err = tx.Webhook(ctx, a.Seq, id)
		if err != nil {
			return dbErr(err, "no such webhook")
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
			return dbErr(err, "no such webhook")
		}
		return tx.Audit(ctx, a.Seq, actor, "webhook.update", fmt.Sprint(id), w.URL)
	})
	return w, err
}

// DeleteWebhook removes an endpoint and its pending deliveries. The
// caller holds team.edit. Errors: ENOTFOUND.
func (s *Service) DeleteWebhook(ctx context.Context, a roster.Account, id int64, actor roster.Actor) error {
	return s.db.Transact(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteWebhook(ctx, a.Seq, id); err != nil {
			return dbErr(err, "no such webhook")
		}
		return tx.Audit(ctx, a.Seq, actor, "webhook.delete", fmt.Sprint(id), "")
	})
}

// Deliveries lists a webhook's deliveries, newest first. Errors: ENOTFOUND.
func (s *Service) Deliveries(ctx context.Context, a roster.Account, id int64, p roster.Page) ([]Delivery, int, error) {
	if _, err := s.Webhook(ctx, a, id); err != nil {
		return nil, 0, err
	}
	return s.db.Deliveries(ctx, id, p.Limit, p.Offset)
}

// Sign is the Roster-Signature header of body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + string(body)))
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// webhookClient sends deliveries. Its dialer refuses private, loopback
// and link-local addresses after DNS resolution, at every connection, so
// a name that resolves elsewhere later (DNS rebinding) cannot reach them.
func (s *Service) webhookClient() *http.Client {
	d := &net.Dialer{Timeout: webhookTimeout}
	if !s.Config.WebhookAllowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("webhook: refusing %s: %v", address, err)
			}
			if blockedIP(ap.Addr()) {
				return fmt.Errorf("webhook: refusing %s: a private, loopback or link-local address", ap.Addr())
			}
			return nil
		}
	}
	tr := &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: webhookTimeout, MaxIdleConns: 10, IdleConnTimeout: 30 * time.Second}
	return &http.Client{Transport: tr, Timeout: webhookTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var errNotHTTPS = errors.New("webhook: the url is not https")

// deliver makes one attempt.
func (s *Service) deliver(ctx context.Context, c *http.Client, d Delivery) error {
	if !s.Config.WebhookAllowPrivate && !strings.HasPrefix(d.URL, "https://") {
		return errNotHTTPS
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader([]byte(d.Body)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Roster-Webhooks/1")
	req.Header.Set("Roster-Signature", Sign(d.Secret, time.Now(), []byte(d.Body)))
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the endpoint answered %d", resp.StatusCode)
	}
	return nil
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

// RunWebhooks sends due deliveries from the outbox until ctx ends.
func (s *Service) RunWebhooks(ctx context.Context) {
	poll := time.Second
	if b := s.Config.WebhookRetryBase; b > 0 && b < poll {
		poll = max(b/2, 10*time.Millisecond)
	}
	c := s.webhookClient()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			ds, err := s.db.ClaimDeliveries(ctx, time.Now(), 20, 2*webhookTimeout+time.Minute)
			if err != nil {
				if ctx.Err() == nil {
					s.Log.Error("webhooks: claim", "err", err)
				}
				break
			}
			// One batch at a time: each webhook's deliveries in order,
			// different webhooks side by side, so a slow endpoint holds
			// up the others by at most the timeout.
			byHook := map[int64][]Delivery{}
			for _, d := range ds {
				byHook[d.WebhookID] = append(byHook[d.WebhookID], d)
			}
			var wg sync.WaitGroup
			for _, group := range byHook {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for _, d := range group {
						s.attempt(ctx, c, d)
					}
				}()
			}
			wg.Wait()
			if len(ds) < 20 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// attempt makes one attempt and records it. An attempt under way when
// the server stops is finished (at most the timeout) and recorded, so a
// restart neither loses nor holds up a delivery.
func (s *Service) attempt(ctx context.Context, c *http.Client, d Delivery) {
	bg := context.WithoutCancel(ctx)
	err := s.deliver(bg, c, d)
	rctx, cancel := context.WithTimeout(bg, 5*time.Second)
	defer cancel()
	if err == nil {
		err = s.db.DeliveryDone(rctx, d.ID)
	} else {
		msg := err.Error()
		if len(msg) > 500 {
			msg = msg[:500]
		}
		err = s.db.DeliveryFailed(rctx, d.ID, msg, s.retryAt(d, d.Attempts+1))
	}
	if err != nil {
		s.Log.Error("webhooks: record attempt", "delivery", d.ID, "err", err)
	}
}
