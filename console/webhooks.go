package console

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service"
)

// Webhooks: an account's endpoints for its events, as the API offers
// them. Anyone with team.view sees them; team.edit adds, turns on and
// off, and deletes. A signing secret is shown once, on the page that
// answers its creation, and never again.

type webhookEvent struct {
	Name    string
	Checked bool
}

type webhooksData struct {
	Webhooks []service.Webhook
	Total    int
	CanEdit  bool
	Events   []webhookEvent
	// Created is the webhook just created, with its secret: set only on
	// the page that answers the create.
	Created *service.Webhook
}

func (c *Console) webhooks(w http.ResponseWriter, r *http.Request, x *actx) error {
	ws, total, err := c.svc.Webhooks(r.Context(), x.a, roster.Page{Limit: 100})
	if err != nil {
		return err
	}
	d := webhooksData{Webhooks: ws, Total: total, CanEdit: x.caller.Can(roster.TeamEdit)}
	if st := x.p.State; st != nil && st.Webhook != nil {
		d.Created, x.p.Notice = st.Webhook, st.Notice // just made (createWebhook)
	}
	// The create form: what was sent, after a refusal.
	var checked []string
	if x.p.Form != nil {
		checked = x.p.Form["events"]
	}
	for _, e := range service.WebhookEvents {
		d.Events = append(d.Events, webhookEvent{Name: e, Checked: slices.Contains(checked, e)})
	}
	x.p.Data = d
	c.render(w, http.StatusOK, "webhooks", x.p)
	return nil
}

func (c *Console) createWebhook(w http.ResponseWriter, r *http.Request, x *actx) error {
	r.ParseForm()
	wh, err := c.svc.CreateWebhook(r.Context(), x.a, r.PostFormValue("url"), r.PostForm["events"], x.actor(r))
	if err != nil {
		c.after(w, r, x, x.path("/webhooks"), "", err)
		return nil
	}
	// The secret is on the next page only (render answers no-store), from
	// the one-time form state; the list never shows it.
	c.keepState(w, r, x.session, formState{Path: x.path("/webhooks"), Webhook: &wh,
		Notice: "Webhook to " + wh.URL + " added: copy its signing secret now, it will not be shown again."})
	return nil
}

// setWebhook turns a webhook on or off.
func (c *Console) setWebhook(w http.ResponseWriter, r *http.Request, x *actx, on bool) {
	wh, err := c.svc.UpdateWebhook(r.Context(), x.a, formInt(r, "wh"), service.WebhookChange{Enabled: &on}, x.actor(r))
	msg := "Webhook to " + wh.URL + " disabled: no events are sent to it."
	if on {
		msg = "Webhook to " + wh.URL + " enabled."
	}
	c.after(w, r, x, x.path("/webhooks"), msg, err)
}

func (c *Console) enableWebhook(w http.ResponseWriter, r *http.Request, x *actx) error {
	c.setWebhook(w, r, x, true)
	return nil
}

func (c *Console) disableWebhook(w http.ResponseWriter, r *http.Request, x *actx) error {
	c.setWebhook(w, r, x, false)
	return nil
}

func (c *Console) confirmDeleteWebhook(w http.ResponseWriter, r *http.Request, x *actx) error {
	wh, err := c.svc.Webhook(r.Context(), x.a, formInt(r, "wh"))
	if err != nil {
		return err
	}
	return c.confirm(w, x, confirmation{
		Heading: "Delete the webhook to " + wh.URL + "?", Lead: "This is irreversible.",
		Body: []string{"No more events are sent to " + wh.URL + ", and its pending deliveries are dropped. " +
			"To send events there again you must add a new webhook, with a new secret."},
		Action: x.path("/webhooks/" + strconv.FormatInt(wh.ID, 10) + "/delete"), Button: "Delete webhook",
		ButtonID: "confirm-delete", Back: x.path("/webhooks")})
}

func (c *Console) deleteWebhook(w http.ResponseWriter, r *http.Request, x *actx) error {
	wh, _ := c.svc.Webhook(r.Context(), x.a, formInt(r, "wh"))
	err := c.svc.DeleteWebhook(r.Context(), x.a, formInt(r, "wh"), x.actor(r))
	c.after(w, r, x, x.path("/webhooks"), "Webhook to "+wh.URL+" deleted.", err)
	return nil
}

type deliveriesData struct {
	Webhook    service.Webhook
	Deliveries []service.Delivery
	Total      int
}

func (c *Console) webhookDeliveries(w http.ResponseWriter, r *http.Request, x *actx) error {
	wh, err := c.svc.Webhook(r.Context(), x.a, formInt(r, "wh"))
	if err != nil {
		return err
	}
	ds, total, err := c.svc.Deliveries(r.Context(), x.a, wh.ID, roster.Page{Limit: 100})
	if err != nil {
		return err
	}
	x.p.Data = deliveriesData{Webhook: wh, Deliveries: ds, Total: total}
	c.render(w, http.StatusOK, "webhook-deliveries", x.p)
	return nil
}
