package team

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/store"
	"github.com/rosterhq/roster/webhook"
)

// WebhookEvents are the event types a webhook may subscribe to
// (roster.WebhookEvents).
var WebhookEvents = roster.WebhookEvents

const (
	maxWebhooks = 20
	// sendEvery is how often a person may send a webhook a test event, and
	// one delivery again: a double click sends one, and the button cannot
	// flood a receiver (or the outbox) faster than its retries would.
	sendEvery = 10 * time.Second
)

// Webhook is an account's endpoint as the API shows it (never its secret
// but once, at creation).
type Webhook = store.Webhook

// Delivery is one event bound for a webhook.
type Delivery = store.Delivery

// checkEvents is events without repeats, each one a webhook may
// subscribe to. Errors: EINVALID (field events).
func checkEvents(events []string) ([]string, error) {
	if len(events) == 0 {
		return nil, roster.FieldErrorf("events", roster.EINVALID, "Events must list at least one event type")
	}
	var out []string
	for _, e := range events {
		if !slices.Contains(WebhookEvents, e) {
			return nil, roster.FieldErrorf("events", roster.EINVALID, "Unknown event %q: one of %s", e, strings.Join(WebhookEvents, ", "))
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
func (s *Team) CreateWebhook(ctx context.Context, a roster.Account, rawURL string, events []string, actor roster.Actor) (Webhook, error) {
	u, err := webhook.CheckURL(ctx, rawURL, s.c.Config.WebhookAllowPrivate, s.c.Config.WebhookResolver)
	if err != nil {
		return Webhook{}, err
	}
	events, err = checkEvents(events)
	if err != nil {
		return Webhook{}, err
	}
	secret := webhook.NewSecret()
	var w Webhook
	err = s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		if n, err := tx.CountWebhooks(ctx, a.Seq); err != nil {
			return err
		} else if n >= maxWebhooks {
			return roster.Errorf(roster.EINVALID, "An account has at most %d webhooks", maxWebhooks)
		}
		id, err := tx.CreateWebhook(ctx, a.Seq, u, events, secret, actor.UserID, actor.Email)
		if err != nil {
			return err
		}
		if err := tx.Audit(ctx, a.Seq, actor, roster.ActionWebhookCreate, fmt.Sprint(id), u); err != nil {
			return err
		}
		w, err = tx.Webhook(ctx, a.Seq, id)
		return err
	})
	return w, err
}

// Webhooks lists the account's endpoints. The caller holds team.view.
func (s *Team) Webhooks(ctx context.Context, a roster.Account, p roster.Page) ([]Webhook, int, error) {
	return s.c.DB.Webhooks(ctx, a.Seq, p.Limit, p.Offset)
}

// Webhook returns one endpoint. Errors: ENOTFOUND.
func (s *Team) Webhook(ctx context.Context, a roster.Account, id int64) (Webhook, error) {
	w, err := s.c.DB.Webhook(ctx, a.Seq, id)
	return w, core.DBErr(err, "No such webhook")
}

// WebhookChange is a PATCH: nil fields stay.
type WebhookChange struct {
	URL     *string
	Events  *[]string
	Enabled *bool
}

// UpdateWebhook changes an endpoint. The caller holds team.edit.
// Errors: EINVALID, ENOTFOUND.
func (s *Team) UpdateWebhook(ctx context.Context, a roster.Account, id int64, c WebhookChange, actor roster.Actor) (Webhook, error) {
	var w Webhook
	var u string
	var events []string
	var err error
	if c.URL != nil {
		if u, err = webhook.CheckURL(ctx, *c.URL, s.c.Config.WebhookAllowPrivate, s.c.Config.WebhookResolver); err != nil {
			return w, err
		}
	}
	if c.Events != nil {
		if events, err = checkEvents(*c.Events); err != nil {
			return w, err
		}
	}
	err = s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		w, err = tx.Webhook(ctx, a.Seq, id)
		if err != nil {
			return core.DBErr(err, "No such webhook")
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
			return core.DBErr(err, "No such webhook")
		}
		return tx.Audit(ctx, a.Seq, actor, roster.ActionWebhookUpdate, fmt.Sprint(id), w.URL)
	})
	return w, err
}

// DeleteWebhook removes an endpoint and its pending deliveries. The
// caller holds team.edit. Errors: ENOTFOUND.
func (s *Team) DeleteWebhook(ctx context.Context, a roster.Account, id int64, actor roster.Actor) error {
	return s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteWebhook(ctx, a.Seq, id); err != nil {
			return core.DBErr(err, "No such webhook")
		}
		return tx.Audit(ctx, a.Seq, actor, roster.ActionWebhookDelete, fmt.Sprint(id), "")
	})
}

// Deliveries lists a webhook's deliveries, newest first. Errors: ENOTFOUND.
func (s *Team) Deliveries(ctx context.Context, a roster.Account, id int64, p roster.Page) ([]Delivery, int, error) {
	if _, err := s.Webhook(ctx, a, id); err != nil {
		return nil, 0, err
	}
	return s.c.DB.Deliveries(ctx, a.Seq, id, p.Limit, p.Offset)
}

// sendLimit counts one on-demand send under key: at most one per
// sendEvery, in the database (across replicas). Past it, ERATELIMITED
// with the time left.
func (s *Team) sendLimit(ctx context.Context, key, what string) error {
	_, ok, err := s.c.DB.Hit(ctx, key, sendEvery, 1, 0)
	if err != nil || ok {
		return err
	}
	wait := sendEvery
	if st, err := s.c.DB.Throttles(ctx, key); err == nil {
		if t, found := st[key]; found {
			wait = max(time.Second, t.WindowStart.Add(sendEvery).Sub(s.c.DB.Now()))
		}
	}
	secs := int((wait + time.Second - 1) / time.Second)
	unit := "seconds"
	if secs == 1 {
		unit = "second"
	}
	return roster.Retry(roster.ERATELIMITED, wait, "Too soon: %s was sent a moment ago; try again in %d %s.", what, secs, unit)
}

// enabledWebhook is the account's webhook id, refused with ECONFLICT while
// it is disabled: the worker sends nothing to a disabled webhook, so what
// is sent now would only wait.
func (s *Team) enabledWebhook(ctx context.Context, a roster.Account, id int64) (Webhook, error) {
	w, err := s.Webhook(ctx, a, id)
	if err == nil && !w.Enabled {
		err = roster.Errorf(roster.ECONFLICT, "The webhook to %s is disabled: enable it first.", w.URL)
	}
	return w, err
}

// TestWebhook sends the webhook a test event (roster.EventWebhookTest),
// to it alone and whatever it subscribes to, through the outbox: the
// worker delivers and signs it like any other event, and it is listed
// with the webhook's deliveries. At most one per webhook every 10
// seconds. The caller holds team.edit. Errors: ENOTFOUND, ECONFLICT (the
// webhook is disabled), ERATELIMITED (with RetryAfter).
func (s *Team) TestWebhook(ctx context.Context, a roster.Account, id int64, actor roster.Actor) (Delivery, error) {
	w, err := s.enabledWebhook(ctx, a, id)
	if err != nil {
		return Delivery{}, err
	}
	// Counted after the webhook is found to be the account's: another
	// account cannot use up this one's sends.
	if err := s.sendLimit(ctx, fmt.Sprintf("webhook-test:%d", w.ID), "a test event"); err != nil {
		return Delivery{}, err
	}
	var d Delivery
	err = s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		did, err := s.c.SendTo(ctx, tx, a.Seq, w.ID, a.ID, roster.EventWebhookTest, map[string]any{"webhook_id": w.ID,
			"message": "A test event, sent from Roster on request: the webhook is reachable and its signature checks out."})
		if err != nil {
			return core.DBErr(err, "No such webhook")
		}
		if err := tx.Audit(ctx, a.Seq, actor, roster.ActionWebhookTest, fmt.Sprint(w.ID), w.URL); err != nil {
			return err
		}
		d, err = tx.Delivery(ctx, a.Seq, w.ID, did)
		return err
	})
	return d, err
}

// Redeliver sends one of the webhook's deliveries again: a new delivery
// of the same event (its ID, type and body unchanged, so a receiver that
// deduplicates on the ID sees the same event) to the same webhook, signed
// afresh when it is sent. The original keeps its record. A delivery
// still pending is refused (it is being tried already), as is a disabled
// webhook; at most one per delivery every 10 seconds. The caller holds
// team.edit. Errors: ENOTFOUND (no such webhook or delivery in the
// account), ECONFLICT, ERATELIMITED (with RetryAfter).
func (s *Team) Redeliver(ctx context.Context, a roster.Account, webhookID, deliveryID int64, actor roster.Actor) (Delivery, error) {
	old, err := s.delivery(ctx, a, webhookID, deliveryID)
	if err != nil {
		return Delivery{}, err
	}
	w, err := s.enabledWebhook(ctx, a, webhookID)
	if err != nil {
		return Delivery{}, err
	}
	if old.Status == "pending" {
		return Delivery{}, roster.Errorf(roster.ECONFLICT, "This delivery is still being tried: it can be sent again once it is delivered or has failed.")
	}
	if err := s.sendLimit(ctx, fmt.Sprintf("webhook-redeliver:%d", old.ID), "this event"); err != nil {
		return Delivery{}, err
	}
	var d Delivery
	err = s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		did, err := tx.EnqueueDelivery(ctx, a.Seq, w.ID, old.EventID, old.EventType, []byte(old.Body))
		if err != nil {
			return core.DBErr(err, "No such webhook")
		}
		if err := tx.Audit(ctx, a.Seq, actor, roster.ActionWebhookRedeliver, old.EventID, w.URL); err != nil {
			return err
		}
		d, err = tx.Delivery(ctx, a.Seq, w.ID, did)
		return err
	})
	return d, err
}

// delivery is one delivery of the account's webhook. Errors: ENOTFOUND.
func (s *Team) delivery(ctx context.Context, a roster.Account, webhookID, id int64) (Delivery, error) {
	var d Delivery
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		d, err = tx.Delivery(ctx, a.Seq, webhookID, id)
		return core.DBErr(err, "No such delivery")
	})
	return d, err
}
