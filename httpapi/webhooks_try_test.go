package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/server/servertest"
)

// arrival is one request a webhook endpoint received.
type arrival struct {
	id, typ  string
	body     string
	signedOK bool
	data     map[string]any
}

// inbox is an endpoint that answers 200 to every signed delivery (503
// while paused) and keeps each request it got.
type inbox struct {
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	paused bool
	got    []arrival
}

func newInbox(t *testing.T) *inbox {
	in := &inbox{}
	in.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		in.mu.Lock()
		defer in.mu.Unlock()
		if in.paused {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var ev struct {
			ID   string         `json:"id"`
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		json.Unmarshal(body, &ev)
		ok := verify(in.secret, r.Header.Get("Roster-Signature"), body) == nil
		in.got = append(in.got, arrival{id: ev.ID, typ: ev.Type, body: string(body), signedOK: ok, data: ev.Data})
	}))
	t.Cleanup(in.srv.Close)
	return in
}

// wait returns the first n arrivals, once there are n.
func (in *inbox) wait(t *testing.T, n int) []arrival {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		in.mu.Lock()
		got := append([]arrival(nil), in.got...)
		in.mu.Unlock()
		if len(got) >= n {
			return got[:n]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the endpoint received %d requests, want %d: %+v", len(got), n, got)
		}
	}
}

func (in *inbox) count() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.got)
}

// delivered waits until the delivery id of the list at path is delivered
// and returns it.
func delivered(t *testing.T, c *servertest.Client, path string, id float64) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		for _, d := range c.Must(200, "GET", path, nil).Objects() {
			if d["id"] == id && d["status"] == "delivered" {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %v at %s was not delivered", id, path)
		}
	}
}

// TestWebhooks_TestEventAndRedeliveryArriveSigned: "send test event"
// queues a webhook.test event for that webhook alone (it subscribes to
// plan.changed only), which the real worker delivers signed to a real
// endpoint, and which the deliveries list shows with its payload, byte
// for byte; sending it again queues a new delivery of the same event,
// which arrives signed again, with the same id. Both are audited.
func TestWebhooks_TestEventAndRedeliveryArriveSigned(t *testing.T) {
	t.Parallel()
	e := servertest.New(t, servertest.Options{Tweak: webhookServer(true)})
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	in := newInbox(t)
	base := "/v1/accounts/" + acct + "/webhooks"
	created := owner.Must(201, "POST", base, map[string]any{"url": in.srv.URL + "/hook", "events": []string{"plan.changed"}})
	in.mu.Lock()
	in.secret = created.Str("secret")
	in.mu.Unlock()
	wh := base + "/" + strconv.FormatInt(webhookID(created), 10)

	test := owner.Must(202, "POST", wh+"/test", nil)
	if test.Str("type") != "webhook.test" || test.Str("status") != "pending" || test.Str("payload") == "" {
		t.Fatalf("test: %s", test.Body)
	}
	got := in.wait(t, 1)[0]
	if !got.signedOK || got.typ != "webhook.test" || got.id != test.Str("event_id") || got.body != test.Str("payload") {
		t.Fatalf("the test event arrived as %+v, want signed, of type webhook.test, id %s, body %s", got, test.Str("event_id"), test.Str("payload"))
	}
	if got.data["webhook_id"] != float64(webhookID(created)) {
		t.Errorf("the test event's data: %v", got.data)
	}
	d := delivered(t, owner, wh+"/deliveries", test.JSON["id"].(float64))
	if d["payload"] != got.body || d["attempts"] != float64(1) {
		t.Errorf("the deliveries list shows %v, want the body sent (%s) after one attempt", d, got.body)
	}

	again := owner.Must(202, "POST", wh+"/deliveries/"+strconv.Itoa(int(d["id"].(float64)))+"/redeliver", nil)
	if again.JSON["id"] == d["id"] || again.Str("event_id") != got.id || again.Str("payload") != got.body || again.Str("status") != "pending" {
		t.Fatalf("redeliver: %s, want a new pending delivery of event %s", again.Body, got.id)
	}
	second := in.wait(t, 2)[1]
	if !second.signedOK || second.id != got.id || second.body != got.body {
		t.Fatalf("the redelivery arrived as %+v, want event %s signed again", second, got.id)
	}
	delivered(t, owner, wh+"/deliveries", again.JSON["id"].(float64))
	if n := owner.Must(200, "GET", wh+"/deliveries", nil).Total(); n != 2 {
		t.Errorf("%d deliveries after a test and a redelivery, want 2 (the original kept)", n)
	}
	for _, action := range []string{"webhook.test", "webhook.redeliver"} {
		if n := owner.Must(200, "GET", "/v1/accounts/"+acct+"/audit?action="+action, nil).Total(); n != 1 {
			t.Errorf("%d audit events %s, want 1", n, action)
		}
	}
}

// TestWebhooks_TestAndRedeliverRefusals: each refusal answers its status
// and code and queues nothing: another account's webhook or delivery (not
// found), a role without team.edit, a second test within 10 seconds (429
// with Retry-After), a disabled webhook and a delivery still being tried
// (409).
func TestWebhooks_TestAndRedeliverRefusals(t *testing.T) {
	t.Parallel()
	e := servertest.New(t, servertest.Options{Tweak: webhookServer(true)})
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	in := newInbox(t)
	base := "/v1/accounts/" + acct + "/webhooks"
	created := owner.Must(201, "POST", base, map[string]any{"url": in.srv.URL + "/hook", "events": []string{"plan.changed"}})
	in.mu.Lock()
	in.secret = created.Str("secret")
	in.mu.Unlock()
	whID := strconv.FormatInt(webhookID(created), 10)
	wh := base + "/" + whID
	deliveries := func() int { return e.Count(t, `SELECT COUNT(*) FROM webhook_deliveries`) }
	// The database's clock stands still: the 10 seconds of the limits do
	// not pass however slow the machine.
	frozen := time.Now()
	e.Server.DB.Now = func() time.Time { return frozen }

	first := owner.Must(202, "POST", wh+"/test", nil)
	did := strconv.Itoa(int(first.JSON["id"].(float64)))
	delivered(t, owner, wh+"/deliveries", first.JSON["id"].(float64))
	n := deliveries()

	// Within 10 seconds: refused, with when to try again.
	r := owner.Refused(429, "rate_limited", "POST", wh+"/test", nil)
	wantRetryAfter(t, r, 10)

	// Another account: its owner names the first account's webhook and
	// delivery under their own account, or the first account itself.
	other, acct2 := e.SignUp(t, "owner@beta-corp.com", "Beta")
	e.Commit(t, acct2)
	base2 := "/v1/accounts/" + acct2 + "/webhooks"
	other.Refused(404, "not_found", "POST", base2+"/"+whID+"/test", nil)
	other.Refused(404, "not_found", "POST", base2+"/"+whID+"/deliveries/"+did+"/redeliver", nil)
	other.Refused(404, "not_found", "POST", wh+"/test", nil)
	other.Refused(404, "not_found", "POST", wh+"/deliveries/"+did+"/redeliver", nil)
	// A delivery of another webhook of the same account: not found.
	own2 := owner.Must(201, "POST", base, map[string]any{"url": in.srv.URL + "/two", "events": []string{"plan.changed"}})
	owner.Refused(404, "not_found", "POST", base+"/"+strconv.FormatInt(webhookID(own2), 10)+"/deliveries/"+did+"/redeliver", nil)
	owner.Refused(404, "not_found", "POST", wh+"/deliveries/999999/redeliver", nil)
	owner.Refused(404, "not_found", "POST", wh+"/deliveries/nope/redeliver", nil)

	// A role without team.edit.
	admin, _ := e.Join(t, owner, acct, "admin@acme-corp.com", "admin")
	dev, _ := e.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	dev.Refused(403, "forbidden", "POST", wh+"/test", nil)
	dev.Refused(403, "forbidden", "POST", wh+"/deliveries/"+did+"/redeliver", nil)
	if got := deliveries(); got != n {
		t.Fatalf("the refusals queued %d deliveries", got-n)
	}

	// A delivery still being tried cannot be sent again; a disabled
	// webhook is sent nothing.
	in.mu.Lock()
	in.paused = true
	in.mu.Unlock()
	pending := admin.Must(202, "POST", wh+"/deliveries/"+did+"/redeliver", nil)
	admin.Refused(429, "rate_limited", "POST", wh+"/deliveries/"+did+"/redeliver", nil)
	n = deliveries()
	admin.Refused(409, "conflict", "POST", wh+"/deliveries/"+strconv.Itoa(int(pending.JSON["id"].(float64)))+"/redeliver", nil)
	owner.Must(200, "PATCH", wh, map[string]any{"enabled": false})
	e.Server.DB.Now = func() time.Time { return frozen.Add(time.Minute) } // past every limit
	owner.Refused(409, "conflict", "POST", wh+"/test", nil)
	owner.Refused(409, "conflict", "POST", wh+"/deliveries/"+did+"/redeliver", nil)
	if got := deliveries(); got != n {
		t.Fatalf("the refusals queued %d deliveries", got-n)
	}
	if c := in.count(); c < 1 {
		t.Errorf("the endpoint got %d requests", c)
	}
	// Enabled again and past the limit, a test is queued again.
	owner.Must(200, "PATCH", wh, map[string]any{"enabled": true})
	owner.Must(202, "POST", wh+"/test", nil)
	if got := deliveries(); got != n+1 {
		t.Errorf("a test past the limit queued %d deliveries, want 1", got-n)
	}
	if r := owner.Must(200, "GET", "/v1/accounts/"+acct+"/audit?action=webhook.test", nil); r.Total() != 2 {
		t.Errorf("%d webhook.test audit events, want 2 (refusals are not audited)", r.Total())
	}
}
