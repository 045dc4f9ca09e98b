package team

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

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
)

// Webhook is an account's endpoint as the API shows it (never its secret
// but once, at creation).
type Webhook = store.Webhook

// Delivery is one event bound for a webhook.
type Delivery = store.Delivery

// emit records an event for the account's webhooks in tx, the
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
	b := make([]byte, 32)
	rand.Read(b)
	secret := "whsec_" + base64.RawURLEncoding.EncodeToString(b)
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
	return s.c.DB.Deliveries(ctx, id, p.Limit, p.Offset)
}
