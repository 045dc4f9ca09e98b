package httpapi

import (
	"net/http"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service"
)

// Webhooks: an account's endpoints for its events, and their deliveries.

func (s *Server) webhookRoutes() []Route {
	return []Route{
		{"GET /v1/accounts/{id}/webhooks", Member, roster.TeamView, s.webhooks},
		{"POST /v1/accounts/{id}/webhooks", Member, roster.TeamEdit, s.createWebhook},
		{"GET /v1/accounts/{id}/webhooks/{wh_id}", Member, roster.TeamView, s.webhook},
		{"PATCH /v1/accounts/{id}/webhooks/{wh_id}", Member, roster.TeamEdit, s.updateWebhook},
		{"DELETE /v1/accounts/{id}/webhooks/{wh_id}", Member, roster.TeamEdit, s.deleteWebhook},
		{"GET /v1/accounts/{id}/webhooks/{wh_id}/deliveries", Member, roster.TeamView, s.deliveries},
		{"POST /v1/accounts/{id}/webhooks/{wh_id}/test", Member, roster.TeamEdit, s.testWebhook},
		{"POST /v1/accounts/{id}/webhooks/{wh_id}/deliveries/{delivery_id}/redeliver", Member, roster.TeamEdit, s.redeliver},
	}
}

type webhookJSON struct {
	ID        int64     `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Enabled   bool      `json:"enabled"`
	CreatedAt time.Time `json:"created_at"`
	// CreatedBy is who made it; null for webhooks made before Roster
	// recorded it.
	CreatedBy *creatorJSON `json:"created_by"`
	Secret    string       `json:"secret,omitempty"` // at creation only
}

type creatorJSON struct {
	UserID int64  `json:"user_id"`
	Email  string `json:"email"`
}

func toWebhook(w service.Webhook) webhookJSON {
	ev := w.Events
	if ev == nil {
		ev = []string{}
	}
	out := webhookJSON{ID: w.ID, URL: w.URL, Events: ev, Enabled: w.Enabled, CreatedAt: w.CreatedAt}
	if w.CreatedBy != 0 || w.CreatedByEmail != "" {
		out.CreatedBy = &creatorJSON{UserID: w.CreatedBy, Email: w.CreatedByEmail}
	}
	return out
}

type deliveryJSON struct {
	ID            int64      `json:"id"`
	EventID       string     `json:"event_id"`
	Type          string     `json:"type"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error"`
	CreatedAt     time.Time  `json:"created_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at"` // null once delivered or given up
	Payload       string     `json:"payload"`         // the request body sent, byte for byte
}

func toDelivery(d service.Delivery) deliveryJSON {
	out := deliveryJSON{ID: d.ID, EventID: d.EventID, Type: d.EventType, Status: d.Status, Attempts: d.Attempts,
		LastError: d.LastError, CreatedAt: d.CreatedAt, Payload: d.Body}
	if d.Status == "pending" {
		next := d.NextAttemptAt
		out.NextAttemptAt = &next
	}
	return out
}

func (s *Server) webhooks(w http.ResponseWriter, r *http.Request, c *Caller) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	ws, total, err := s.Svc.Webhooks(r.Context(), c.Account, p)
	if err != nil {
		return err
	}
	out := make([]webhookJSON, len(ws))
	for i, wh := range ws {
		out[i] = toWebhook(wh)
	}
	return writeJSON(w, http.StatusOK, newList(p, total, out))
}

type createWebhookBody struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in createWebhookBody
	if err := decode(r, &in); err != nil {
		return err
	}
	wh, err := s.Svc.CreateWebhook(r.Context(), c.Account, in.URL, in.Events, c.Actor())
	if err != nil {
		return err
	}
	out := toWebhook(wh)
	out.Secret = wh.Secret
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) webhook(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id, err := pathInt(r, "wh_id")
	if err != nil {
		return err
	}
	wh, err := s.Svc.Webhook(r.Context(), c.Account, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toWebhook(wh))
}

type updateWebhookBody struct {
	URL     *string   `json:"url"`
	Events  *[]string `json:"events"`
	Enabled *bool     `json:"enabled"`
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id, err := pathInt(r, "wh_id")
	if err != nil {
		return err
	}
	var in updateWebhookBody
	if err := decode(r, &in); err != nil {
		return err
	}
	wh, err := s.Svc.UpdateWebhook(r.Context(), c.Account, id, service.WebhookChange{URL: in.URL, Events: in.Events, Enabled: in.Enabled}, c.Actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toWebhook(wh))
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id, err := pathInt(r, "wh_id")
	if err != nil {
		return err
	}
	if err := s.Svc.DeleteWebhook(r.Context(), c.Account, id, c.Actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deliveries(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id, err := pathInt(r, "wh_id")
	if err != nil {
		return err
	}
	p, err := page(r)
	if err != nil {
		return err
	}
	ds, total, err := s.Svc.Deliveries(r.Context(), c.Account, id, p)
	if err != nil {
		return err
	}
	out := make([]deliveryJSON, len(ds))
	for i, d := range ds {
		out[i] = toDelivery(d)
	}
	return writeJSON(w, http.StatusOK, newList(p, total, out))
}

// testWebhook is POST .../webhooks/{wh_id}/test: a test event to the
// webhook alone, queued; 202 with its delivery.
func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id, err := pathInt(r, "wh_id")
	if err != nil {
		return err
	}
	d, err := s.Svc.TestWebhook(r.Context(), c.Account, id, c.Actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, toDelivery(d))
}

// redeliver is POST .../deliveries/{delivery_id}/redeliver: the same
// event again, as a new delivery; 202 with it.
func (s *Server) redeliver(w http.ResponseWriter, r *http.Request, c *Caller) error {
	wh, err := pathInt(r, "wh_id")
	if err != nil {
		return err
	}
	id, err := pathInt(r, "delivery_id")
	if err != nil {
		return err
	}
	d, err := s.Svc.Redeliver(r.Context(), c.Account, wh, id, c.Actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, toDelivery(d))
}
