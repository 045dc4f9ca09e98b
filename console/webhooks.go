package console

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service"
)

// Webhooks: an account's endpoints for its events, as the API offers
// them. Anyone with team.view sees them and their deliveries with the
// payload sent; team.edit adds, turns on and off, deletes, sends a test
// event and sends a delivery again. A signing secret is shown once, on the
// page that answers its creation (its one spot: the webhook-secret section
// of webhooks.html, with its copy button), and never again.

type webhookEvent struct {
	Name    string
	Checked bool
}

// webhookEvents are the create form's choices: what was sent, after a
// refusal (form is not nil); otherwise the member events
// (roster.WebhookMemberEvent), checked from the start.
func webhookEvents(form url.Values) []webhookEvent {
	var out []webhookEvent
	for _, e := range service.WebhookEvents {
		checked := roster.WebhookMemberEvent(e)
		if form != nil {
			checked = slices.Contains(form["events"], e)
		}
		out = append(out, webhookEvent{Name: e, Checked: checked})
	}
	return out
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
	d := webhooksData{Webhooks: ws, Total: total, CanEdit: x.caller.Can(roster.TeamEdit), Events: webhookEvents(x.p.Form)}
	if st := x.p.State; st != nil && st.Webhook != nil {
		d.Created, x.p.Notice = st.Webhook, st.Notice // just made (createWebhook)
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
	Deliveries []deliveryRow
	Total      int
	CanEdit    bool // test and redeliver buttons (team.edit)
}

// deliveryRow is a delivery as its page shows it: Payload is the body
// sent, indented for reading (the signed bytes are the compact Body).
type deliveryRow struct {
	service.Delivery
	Payload string
}

// indented is body as indented JSON, or body itself if it is not JSON.
func indented(body string) string {
	var b bytes.Buffer
	if json.Indent(&b, []byte(body), "", "  ") != nil {
		return body
	}
	return b.String()
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
	d := deliveriesData{Webhook: wh, Total: total, CanEdit: x.caller.Can(roster.TeamEdit)}
	for _, dl := range ds {
		d.Deliveries = append(d.Deliveries, deliveryRow{Delivery: dl, Payload: indented(dl.Body)})
	}
	x.p.Data = d
	c.render(w, http.StatusOK, "webhook-deliveries", x.p)
	return nil
}

// testWebhook sends the webhook a test event, then shows its deliveries,
// where the test is listed; a refusal (a disabled webhook, the limit of
// one per 10 seconds) is shown there too.
func (c *Console) testWebhook(w http.ResponseWriter, r *http.Request, x *actx) error {
	d, err := c.svc.TestWebhook(r.Context(), x.a, formInt(r, "wh"), x.actor(r))
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return err // no such webhook or delivery here: no page to go back to
	}
	msg := ""
	if err == nil {
		msg = "Test event " + d.EventID + " queued: it is listed below, and its status shows when it has arrived."
	}
	c.after(w, r, x, x.path("/webhooks/"+r.PathValue("wh")+"/deliveries"), msg, err)
	return nil
}

// redeliver sends a delivery's event again, as a new delivery, and
// shows the webhook's deliveries.
func (c *Console) redeliver(w http.ResponseWriter, r *http.Request, x *actx) error {
	d, err := c.svc.Redeliver(r.Context(), x.a, formInt(r, "wh"), formInt(r, "did"), x.actor(r))
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return err // no such webhook or delivery here: no page to go back to
	}
	msg := ""
	if err == nil {
		msg = "Event " + d.EventID + " queued again: the new delivery is listed first."
	}
	c.after(w, r, x, x.path("/webhooks/"+r.PathValue("wh")+"/deliveries"), msg, err)
	return nil
}
