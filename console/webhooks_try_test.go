package console_test

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
	"github.com/rosterhq/roster/webhook"
)

// endpoint is a webhook receiver: it answers 200 and keeps each request,
// with whether its Roster-Signature checks out with the secret.
type endpoint struct {
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	got    []received
}

type received struct {
	id, typ, body string
	signed        bool
}

func newEndpoint(t *testing.T) *endpoint {
	ep := &endpoint{}
	ep.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct{ ID, Type string }
		json.Unmarshal(body, &ev)
		sig := r.Header.Get("Roster-Signature")
		ep.mu.Lock()
		defer ep.mu.Unlock()
		signed := false
		if ts, _, ok := strings.Cut(strings.TrimPrefix(sig, "t="), ","); ok {
			if sec, err := strconv.ParseInt(ts, 10, 64); err == nil {
				signed = webhook.Sign(ep.secret, time.Unix(sec, 0), body) == sig
			}
		}
		ep.got = append(ep.got, received{ev.ID, ev.Type, string(body), signed})
	}))
	t.Cleanup(ep.srv.Close)
	return ep
}

func (ep *endpoint) wait(t *testing.T, n int) []received {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ep.mu.Lock()
		got := append([]received(nil), ep.got...)
		ep.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the endpoint got %d requests, want %d", len(got), n)
		}
	}
}

// deliveredOnPage waits until the deliveries page lists n deliveries, all
// delivered, and returns it.
func deliveredOnPage(t *testing.T, k *formClient, path string, n int) answer {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		a := k.get(path)
		if strings.Count(a.Body, "data-delivery=") == n && strings.Count(a.Body, `<span class="badge ok">delivered</span>`) == n {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deliveries page does not show %d delivered: %s", n, a.Body)
		}
	}
}

// TestConsole_WebhookTestEventAndRedeliver: from the console, "Send test
// event" queues a webhook.test event that the worker delivers, signed, to
// a real endpoint, and the deliveries page shows the body sent; "Redeliver"
// sends the same event again, signed again. Each answers with a redirect
// to the deliveries page and a notice there.
func TestConsole_WebhookTestEventAndRedeliver(t *testing.T) {
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) {
		c.WebhookAllowPrivate = true
		c.WebhookRetryBase = 40 * time.Millisecond
	}})
	api, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	ep := newEndpoint(t)
	r := api.Must(201, "POST", "/v1/accounts/"+acct+"/webhooks", map[string]any{"url": ep.srv.URL + "/in", "events": []string{"plan.changed"}})
	ep.mu.Lock()
	ep.secret = r.Str("secret")
	ep.mu.Unlock()
	id := strconv.Itoa(int(r.JSON["id"].(float64)))
	owner := newFormClient(t, e, api)
	f := &accessFixture{e: e, acct: acct}
	list := f.path("/webhooks")
	deliveries := f.path("/webhooks/" + id + "/deliveries")

	owner.get(list).want(t, "list", 200, `action="`+f.path("/webhooks/"+id+"/test")+`"`, `data-test-webhook="`+id+`"`)
	a := owner.post(f.path("/webhooks/"+id+"/test"), url.Values{})
	if a.Status != 303 || a.Header.Get("Location") != deliveries {
		t.Fatalf("send test event: %d to %q", a.Status, a.Header.Get("Location"))
	}
	got := ep.wait(t, 1)[0]
	if !got.signed || got.typ != "webhook.test" {
		t.Fatalf("the test event arrived as %+v, want a signed webhook.test", got)
	}
	a = deliveredOnPage(t, owner, deliveries, 1)
	a.want(t, "deliveries", 200, `data-event="webhook.test"`, got.id, `data-payload=`, `action="`+f.path("/webhooks/"+id+"/test")+`"`)
	// The payload shown is the body sent, indented for reading.
	var sent map[string]any
	json.Unmarshal([]byte(got.body), &sent)
	for _, v := range []string{`"id": "` + got.id + `"`, `"type": "webhook.test"`, `"webhook_id": ` + id, `"account_id": "` + acct + `"`} {
		if !strings.Contains(html.UnescapeString(a.Body), v) {
			t.Errorf("the deliveries page's payload lacks %s", v)
		}
	}
	did := strings.TrimSuffix(strings.Split(strings.Split(a.Body, `data-redeliver="`)[1], `"`)[0], `"`)

	a = owner.post(f.path("/webhooks/"+id+"/deliveries/"+did+"/redeliver"), url.Values{})
	if a.Status != 303 || a.Header.Get("Location") != deliveries {
		t.Fatalf("redeliver: %d to %q", a.Status, a.Header.Get("Location"))
	}
	again := ep.wait(t, 2)[1]
	if !again.signed || again.id != got.id || again.body != got.body {
		t.Fatalf("the redelivery arrived as %+v, want event %s signed again", again, got.id)
	}
	a = deliveredOnPage(t, owner, deliveries, 2)
	if strings.Count(a.Body, got.id) < 2 {
		t.Errorf("the deliveries page does not list the event twice")
	}
}

// TestConsole_WebhookSendRefusals: a role without team.edit is refused
// (403); another account's
// webhook or delivery is not found (404); a second test within 10
// seconds is refused with 429 and Retry-After. None queues anything.
func TestConsole_WebhookSendRefusals(t *testing.T) {
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) { c.WebhookAllowPrivate = true }})
	api, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	r := api.Must(201, "POST", "/v1/accounts/"+acct+"/webhooks", map[string]any{"url": "http://127.0.0.1:9/in", "events": []string{"plan.changed"}})
	id := strconv.Itoa(int(r.JSON["id"].(float64)))
	// The database's clock stands still: the 10 seconds of the limit do
	// not pass however slow the machine.
	frozen := time.Now()
	e.Server.DB.Now = func() time.Time { return frozen }
	d := api.Must(202, "POST", "/v1/accounts/"+acct+"/webhooks/"+id+"/test", nil)
	did := strconv.Itoa(int(d.JSON["id"].(float64)))
	owner := newFormClient(t, e, api)
	devAPI, _ := e.Join(t, api, acct, "dev@acme-corp.com", "developer")
	dev := newFormClient(t, e, devAPI)
	otherAPI, acct2 := e.SignUp(t, "bob@beta-corp.com", "Bob Beta")
	e.Commit(t, acct2)
	other := newFormClient(t, e, otherAPI)
	f := &accessFixture{e: e, acct: acct}
	count := func() int { return e.Count(t, `SELECT COUNT(*) FROM webhook_deliveries`) }
	n := count()

	// A developer holds neither team.view nor team.edit (no role holds
	// the one without the other): refused.
	dev.get(f.path("/webhooks/"+id+"/deliveries")).want(t, "developer's deliveries", 403)
	dev.post(f.path("/webhooks/"+id+"/test"), url.Values{}).want(t, "developer's test", 403, "team.edit")
	dev.post(f.path("/webhooks/"+id+"/deliveries/"+did+"/redeliver"), url.Values{}).want(t, "developer's redeliver", 403, "team.edit")

	// Another account: its owner, in their own account or in this one.
	other.get("/accounts/" + acct2 + "/webhooks")
	other.post("/accounts/"+acct2+"/webhooks/"+id+"/test", url.Values{}).want(t, "other account's test", 404)
	other.post("/accounts/"+acct2+"/webhooks/"+id+"/deliveries/"+did+"/redeliver", url.Values{}).want(t, "other account's redeliver", 404)
	other.post(f.path("/webhooks/"+id+"/test"), url.Values{}).want(t, "test in an account not theirs", 404)

	// The limit: the API's test a moment ago counts.
	owner.get(f.path("/webhooks"))
	a := owner.post(f.path("/webhooks/"+id+"/test"), url.Values{})
	a.want(t, "a second test within 10 seconds", 429, "Too soon: a test event was sent a moment ago; try again in")
	if ra, err := strconv.Atoi(a.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 10 {
		t.Errorf("Retry-After = %q", a.Header.Get("Retry-After"))
	}
	if got := count(); got != n {
		t.Errorf("the refusals queued %d deliveries", got-n)
	}
}
