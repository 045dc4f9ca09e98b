package console_test

import (
	"encoding/base64"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

// webhooks lists the account's webhooks over the API: id -> enabled.
func (f *accessFixture) webhooks(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	r := f.api.Must(200, "GET", "/v1/accounts/"+f.acct+"/webhooks", nil)
	items, _ := r.JSON["objects"].([]any)
	for _, it := range items {
		m := it.(map[string]any)
		out[fmt.Sprint(m["id"])], _ = m["enabled"].(bool)
	}
	return out
}

var webhookRowRE = regexp.MustCompile(`data-webhook="(\d+)"`)

func TestConsole_Webhooks(t *testing.T) {
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) { c.WebhookAllowPrivate = true }})
	api, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	dev, _ := e.Join(t, api, acct, "dev@acme-corp.com", "developer")
	f := &accessFixture{e: e, acct: acct, owner: newFormClient(t, e, api), dev: newFormClient(t, e, dev), api: api}

	// Settings leads to the page; the page offers the form and every event.
	f.owner.get(f.path("/settings")).want(t, "settings", 200, `href="`+f.path("/webhooks")+`"`)
	a := f.owner.get(f.path("/webhooks"))
	a.want(t, "webhooks", 200, "No webhooks yet: add one below", `action="`+f.path("/webhooks")+`"`,
		`value="member.joined"`, `value="credentials.rotated"`)
	oneH1(t, "the webhooks page", a)

	// A URL the service refuses: the form again, the URL and events kept,
	// the message at the field.
	a = f.owner.post(f.path("/webhooks"), url.Values{"url": {"ftp://hooks.example.com/in"}, "events": {"member.joined"}})
	a.want(t, "bad URL", 400, `value="ftp://hooks.example.com/in"`, `id="wh-url-error"`, "absolute https:// URL",
		`aria-invalid="true"`, `value="member.joined" checked`)
	// No events: the message at the events.
	f.owner.post(f.path("/webhooks"), url.Values{"url": {"http://127.0.0.1:9/in"}}).want(t, "no events", 400,
		`id="wh-events-error"`, "at least one event", `value="http://127.0.0.1:9/in"`)
	if n := len(f.webhooks(t)); n != 0 {
		t.Fatalf("refused creates left %d webhooks", n)
	}

	// Create: the secret is on the answer, once, and never cached.
	hook := "http://127.0.0.1:9/roster-events"
	a = f.owner.post(f.path("/webhooks"), url.Values{"url": {hook}, "events": {"member.joined", "member.removed"}})
	a.want(t, "create", 200, `id="webhook-secret"`, "whsec_", "shown this once", hook, "Webhook to "+hook+" added")
	if cc := a.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the page with the secret answers Cache-Control %q", cc)
	}
	// The secret in its Standard Webhooks form, as the page writes it (the
	// template escapes "+"): whsec_ and the base64 of 32 bytes.
	secret := regexp.MustCompile(`whsec_(?:[A-Za-z0-9/=]|&#43;)+`).FindString(a.Body)
	if key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(html.UnescapeString(secret), "whsec_")); err != nil || len(key) != 32 {
		t.Errorf("the secret on the page %q: want whsec_ and the standard base64 of 32 bytes (%v)", secret, err)
	}
	ids := f.webhooks(t)
	if len(ids) != 1 {
		t.Fatalf("after create: %d webhooks", len(ids))
	}
	var id string
	for k := range ids {
		id = k
	}
	if !ids[id] {
		t.Errorf("a new webhook is disabled")
	}

	// Reloaded, the list shows it, without its secret.
	a = f.owner.get(f.path("/webhooks"))
	a.want(t, "list", 200, hook, `data-event="member.joined"`, "A member joined", `data-event="member.removed"`, "A member was removed", `data-enabled="yes"`,
		`data-webhook="`+id+`"`, `href="`+f.path("/webhooks/"+id+"/deliveries")+`"`)
	if strings.Contains(a.Body, "whsec_") || strings.Contains(a.Body, secret) || strings.Contains(a.Body, `id="webhook-secret"`) {
		t.Errorf("the list shows the signing secret again")
	}
	if got := webhookRowRE.FindAllStringSubmatch(a.Body, -1); len(got) != 1 {
		t.Errorf("the list has %d rows", len(got))
	}

	// An event for it: a delivery, on its deliveries page.
	e.Join(t, api, acct, "sup@acme-corp.com", "support")
	a = f.owner.get(f.path("/webhooks/" + id + "/deliveries"))
	a.want(t, "deliveries", 200, `data-event="member.joined"`, "A member joined", "Attempts", "Last error", "Next attempt")
	if strings.Contains(a.Body, "whsec_") {
		t.Errorf("the deliveries page shows the secret")
	}
	f.owner.get(f.path("/webhooks/999999/deliveries")).want(t, "deliveries of no webhook", 404)

	// A developer (neither team.view nor team.edit) is refused, and
	// changes nothing.
	f.dev.get(f.path("/webhooks")).want(t, "developer's list", 403, "team.view")
	f.dev.get(f.path(""))
	f.dev.post(f.path("/webhooks"), url.Values{"url": {"http://127.0.0.1:9/dev"}, "events": {"member.joined"}}).want(t, "developer's create", 403)
	f.dev.post(f.path("/webhooks/"+id+"/disable"), url.Values{}).want(t, "developer's disable", 403)
	f.dev.get(f.path("/webhooks/"+id+"/delete")).want(t, "developer's delete confirmation", 403)
	f.dev.post(f.path("/webhooks/"+id+"/delete"), url.Values{}).want(t, "developer's delete", 403)
	f.dev.get(f.path("/webhooks/"+id+"/deliveries")).want(t, "developer's deliveries", 403)
	if got := f.webhooks(t); len(got) != 1 || !got[id] {
		t.Errorf("after the developer's refusals: %v", got)
	}

	// Disable, then enable again.
	f.owner.get(f.path("/webhooks"))
	a = f.owner.post(f.path("/webhooks/"+id+"/disable"), url.Values{})
	if a.Status != 303 {
		t.Fatalf("disable: %d", a.Status)
	}
	if f.webhooks(t)[id] {
		t.Errorf("still enabled after disable")
	}
	f.owner.get(f.path("/webhooks")).want(t, "after disable", 200, "disabled", `data-enabled="no"`,
		`action="`+f.path("/webhooks/"+id+"/enable")+`"`)
	if a = f.owner.post(f.path("/webhooks/"+id+"/enable"), url.Values{}); a.Status != 303 || !f.webhooks(t)[id] {
		t.Errorf("enable: %d, enabled %v", a.Status, f.webhooks(t)[id])
	}
	f.owner.post(f.path("/webhooks/999999/disable"), url.Values{}).want(t, "disable of no webhook", 404)

	// Delete: a confirmation first, which changes nothing.
	a = f.owner.get(f.path("/webhooks/" + id + "/delete"))
	a.want(t, "confirmation", 200, "irreversible", hook, `id="confirm-delete"`,
		`action="`+f.path("/webhooks/"+id+"/delete")+`"`, `href="`+f.path("/webhooks")+`"`)
	oneH1(t, "the confirmation", a)
	if len(f.webhooks(t)) != 1 {
		t.Fatalf("the confirmation deleted the webhook")
	}
	a = f.owner.post(f.path("/webhooks/"+id+"/delete"), url.Values{})
	if a.Status != 303 || a.Header.Get("Location") != f.path("/webhooks") {
		t.Fatalf("delete: %d to %q", a.Status, a.Header.Get("Location"))
	}
	if n := len(f.webhooks(t)); n != 0 {
		t.Errorf("after delete: %d webhooks", n)
	}
	f.owner.get(f.path("/webhooks")).want(t, "after delete", 200, "deleted", "No webhooks yet")
	f.owner.get(f.path("/webhooks/"+id+"/delete")).want(t, "confirmation of a deleted webhook", 404)
}

// Without WebhookAllowPrivate, plain http and private addresses are
// refused at the field, with the URL kept.
func TestConsole_WebhookURLRules(t *testing.T) {
	f := newAccessFixture(t)
	f.owner.get(f.path("/webhooks"))
	f.owner.post(f.path("/webhooks"), url.Values{"url": {"http://hooks.example.com/in"}, "events": {"plan.changed"}}).want(t, "http URL", 400,
		`id="wh-url-error"`, "The URL must use https", `value="http://hooks.example.com/in"`, `value="plan.changed" checked`)
	f.owner.post(f.path("/webhooks"), url.Values{"url": {"https://10.1.2.3/in"}, "events": {"plan.changed"}}).want(t, "private URL", 400,
		`id="wh-url-error"`, "private, loopback or link-local", `value="https://10.1.2.3/in"`)
	if n := len(f.webhooks(t)); n != 0 {
		t.Errorf("refused creates left %d webhooks", n)
	}
}

func TestConsole_ManageAccountsShowsPermissions(t *testing.T) {
	f := newAccessFixture(t)
	row := func(a answer) string {
		t.Helper()
		i := strings.Index(a.Body, `data-permissions="`+f.acct+`"`)
		if i < 0 {
			t.Fatalf("Manage Accounts has no permissions for %s", f.acct)
		}
		j := strings.Index(a.Body[i:], "</details>")
		return a.Body[i : i+j]
	}
	owner := row(f.owner.get("/accounts"))
	for _, p := range []string{"<summary>", `data-permission="team.edit"`, "Manage the team", `data-permission="billing.edit"`, `data-permission="numbers.view"`, "View phone numbers"} {
		if !strings.Contains(owner, p) {
			t.Errorf("the owner's permissions lack %s: %s", p, owner)
		}
	}
	dev := row(f.dev.get("/accounts"))
	if !strings.Contains(dev, `data-permission="numbers.edit"`) || strings.Contains(dev, "team.edit") || strings.Contains(dev, "team.view") {
		t.Errorf("the developer's permissions are wrong: %s", dev)
	}
}
