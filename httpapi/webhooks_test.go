package httpapi_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/httpapi"
	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

// receiver is a webhook endpoint: it checks each delivery's signature,
// answers 500 to the first two attempts of every event and 200 to the
// third, and keeps each event once (deduplicated on its id), in order.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	paused bool           // answer 503 without counting the attempt
	tries  map[string]int // event id -> attempts answered 500
	events []map[string]any
	seen   map[string]bool
	bad    []string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, tries: map[string]int{}, seen: map[string]bool{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.paused {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if err := verify(r.secret, req.Header.Get("Roster-Signature"), body); err != nil {
		r.bad = append(r.bad, err.Error())
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil {
		r.bad = append(r.bad, "bad body: "+string(body))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	id, _ := ev["id"].(string)
	if r.tries[id] < 2 {
		r.tries[id]++
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if !r.seen[id] {
		r.seen[id] = true
		r.events = append(r.events, ev)
	}
	w.WriteHeader(http.StatusOK)
}

func verify(secret, header string, body []byte) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return fmt.Errorf("bad timestamp in %q", header)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + string(body)))
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(got, m.Sum(nil)) {
		return fmt.Errorf("bad signature %q", header)
	}
	return nil
}

func (r *receiver) pause(p bool) {
	r.mu.Lock()
	r.paused = p
	r.mu.Unlock()
}

// types waits until n events arrived and returns their types in order.
func (r *receiver) types(n int) []string {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r.mu.Lock()
		var out []string
		for _, e := range r.events {
			out = append(out, e["type"].(string))
		}
		bad := slices.Clone(r.bad)
		r.mu.Unlock()
		if len(bad) > 0 {
			r.t.Fatalf("deliveries refused by the receiver: %v", bad)
		}
		if len(out) >= n || time.Now().After(deadline) {
			if len(out) != n {
				r.t.Fatalf("received %d events %v, want %d", len(out), out, n)
			}
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sameEvents compares event types regardless of order: a retried
// delivery may arrive after a later event's.
func sameEvents(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

func webhookServer(allowPrivate bool) func(*server.Config) {
	return func(c *server.Config) {
		c.WebhookAllowPrivate = allowPrivate
		c.WebhookRetryBase = 40 * time.Millisecond
	}
}

var allEvents = []string{"member.joined", "member.role_changed", "member.removed", "member.left", "member.deactivated", "member.reactivated",
	"invitation.created", "invitation.revoked", "invitation.accepted", "plan.changed", "credentials.rotated"}

func TestWebhooks_SignedRetriedAndKeptAcrossRestart(t *testing.T) {
	t.Parallel()
	e := servertest.New(t, servertest.Options{Tweak: webhookServer(true)})
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	rcv := newReceiver(t)
	base := "/v1/accounts/" + acct + "/webhooks"

	owner.Refused(400, "invalid_request", "POST", base, map[string]any{"url": rcv.srv.URL, "events": []string{"member.exploded"}})
	owner.Refused(400, "invalid_request", "POST", base, map[string]any{"url": rcv.srv.URL, "events": []string{}})
	created := owner.Must(201, "POST", base, map[string]any{"url": rcv.srv.URL + "/hook", "events": allEvents})
	secret := created.Str("secret")
	if len(secret) < 32 {
		t.Fatalf("secret %q: too short for 128 random bits", secret)
	}
	rcv.mu.Lock()
	rcv.secret = secret
	rcv.mu.Unlock()
	whID := strconv.Itoa(int(created.JSON["id"].(float64)))

	// The secret is never shown again.
	for _, r := range []servertest.Response{
		owner.Must(200, "GET", base, nil),
		owner.Must(200, "GET", base+"/"+whID, nil),
		owner.Must(200, "PATCH", base+"/"+whID, map[string]any{"enabled": true}),
	} {
		if strings.Contains(string(r.Body), secret) || strings.Contains(string(r.Body), `"secret"`) {
			t.Fatalf("the secret is shown again: %s", r.Body)
		}
	}

	dev, devID := e.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	_ = dev
	uid := strconv.FormatInt(devID, 10)
	owner.Must(200, "PATCH", "/v1/accounts/"+acct+"/members/"+uid, map[string]string{"role": "support"})
	sup, _ := e.Join(t, owner, acct, "sup@acme-corp.com", "support")
	sup.Must(204, "DELETE", "/v1/accounts/"+acct+"/members/me", nil)
	e.Operator(t).Must(200, "PUT", "/v1/admin/accounts/"+acct+"/plan", map[string]any{"plan": "standard"})
	e.Commit(t, acct)
	owner.Must(200, "POST", "/v1/accounts/"+acct+"/credentials/rotate", map[string]any{})

	want := []string{"invitation.created", "invitation.accepted", "member.joined", "member.role_changed",
		"invitation.created", "invitation.accepted", "member.joined", "member.left", "plan.changed", "plan.changed", "credentials.rotated"}
	if got := rcv.types(len(want)); !sameEvents(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for _, ev := range rcv.events {
		if ev["account_id"] != acct || ev["created_at"] == nil || ev["data"] == nil {
			t.Fatalf("event %v: missing fields", ev)
		}
	}
	// The outcome is recorded just after the receiver answers.
	var ds []map[string]any
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ds = owner.Must(200, "GET", base+"/"+whID+"/deliveries", nil).Objects()
		done := 0
		for _, d := range ds {
			if d["status"] == "delivered" {
				done++
			}
		}
		if done == len(want) || time.Now().After(deadline) {
			break
		}
	}
	if len(ds) != len(want) {
		t.Fatalf("%d deliveries, want %d", len(ds), len(want))
	}
	for _, d := range ds {
		if d["status"] != "delivered" || d["attempts"].(float64) != 3 || d["next_attempt_at"] != nil || d["last_error"] != "" {
			t.Fatalf("delivery %v: want delivered on the third attempt", d)
		}
	}

	// The endpoint goes down; changes are made; the server stops with
	// their deliveries pending and a new one on the same database sends them.
	rcv.pause(true)
	owner.Must(204, "DELETE", "/v1/accounts/"+acct+"/members/"+uid, nil)
	_, invID := e.InviteToken(t, owner, acct, "later@acme-corp.com", "developer")
	owner.Must(204, "DELETE", "/v1/accounts/"+acct+"/invitations/"+strconv.FormatInt(invID, 10), nil)
	time.Sleep(200 * time.Millisecond)
	e.HTTP.Close()
	e.Server.Close()
	var pending int
	rcv.mu.Lock()
	got := len(rcv.events)
	rcv.mu.Unlock()
	if got != len(want) {
		t.Fatalf("events arrived while the endpoint was down")
	}
	rcv.pause(false)
	e2 := servertest.New(t, servertest.Options{Database: e.DSN, Mail: e.Mail, Tweak: webhookServer(true)})
	want = append(want, "member.removed", "invitation.created", "invitation.revoked")
	if got := rcv.types(len(want)); !sameEvents(got, want) {
		t.Fatalf("events after the restart %v, want %v", got, want)
	}
	owner2 := e2.Client(t)
	owner2.Must(200, "POST", "/v1/login", map[string]string{"email": "owner@acme-corp.com", "password": servertest.Password})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		pending = 0
		for _, d := range owner2.Must(200, "GET", base+"/"+whID+"/deliveries?limit=100", nil).Objects() {
			if d["status"] != "delivered" {
				pending++
			}
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries not delivered after the restart", pending)
		}
	}

	// Mail to the person affected: the invitation, the role change, the
	// plan leaving and returning (one each), the removal.
	subjects := []string{"You are invited", "Your role in", "left the committed plan", "is on the committed plan", "You were removed"}
	for i, s := range subjects {
		if m := e.Mail.WaitFor(t, "dev@acme-corp.com", i+1, 10*time.Second); !strings.Contains(m.Subject, s) {
			t.Fatalf("mail %d to the member: %q, want %q", i+1, m.Subject, s)
		}
	}
	if n := servertest.MailCount(e.Mail, "dev@acme-corp.com"); n != len(subjects) {
		t.Fatalf("%d mails to the member, want %d", n, len(subjects))
	}
	// The owner is a member too: one mail for each move of the plan (the
	// first commit, the leaving and the return).
	for s, want := range map[string]int{"left the committed plan": 1, "is on the committed plan": 2} {
		n := 0
		for _, m := range e.Mail.Messages() {
			if slices.Contains(m.To, "owner@acme-corp.com") && strings.Contains(m.Subject, s) {
				n++
			}
		}
		if n != want {
			t.Fatalf("%d mails %q to the owner, want %d", n, s, want)
		}
	}

	// Delete: gone, with its deliveries.
	owner2.Must(204, "DELETE", base+"/"+whID, nil)
	owner2.Refused(404, "not_found", "GET", base+"/"+whID, nil)
	owner2.Refused(404, "not_found", "GET", base+"/"+whID+"/deliveries", nil)
}

func TestWebhooks_RefusePrivateTargets(t *testing.T) {
	t.Parallel()
	e := servertest.New(t, servertest.Options{Tweak: webhookServer(false)})
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	base := "/v1/accounts/" + acct + "/webhooks"
	for _, u := range []string{
		"http://example.com/hook",
		"https://127.0.0.1/hook",
		"https://10.0.0.1/hook",
		"https://169.254.169.254/latest/meta-data",
		"https://[::1]/hook",
		"https://localhost/hook",
		"ftp://example.com/",
		"https://user:pw@example.com/",
	} {
		r := owner.Refused(400, "invalid_request", "POST", base, map[string]any{"url": u, "events": []string{"invitation.created"}})
		if f, _ := r.JSON["error"].(map[string]any)["field"].(string); f != "url" {
			t.Errorf("%s: refused on field %q, want url", u, f)
		}
	}
	if n := owner.Must(200, "GET", base, nil).Total(); n != 0 {
		t.Fatalf("%d webhooks after refusals", n)
	}

	// A webhook whose name resolved to a public address when it was saved
	// but points at a loopback one now (DNS rebinding), here written to
	// the table directly: the dialer refuses it at delivery.
	var hits atomic.Int32
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	t.Cleanup(tls.Close)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	t.Cleanup(plain.Close)
	db := e.Server.DB.SQL()
	for _, u := range []string{tls.URL, plain.URL, strings.Replace(tls.URL, "127.0.0.1", "localhost", 1)} {
		q := fmt.Sprintf(`INSERT INTO webhooks (account_id, url, events, secret, enabled, created_at)
			SELECT id, '%s', 'invitation.created', 'whsec_test', 1, 0 FROM accounts WHERE auth_id = '%s'`, u, acct)
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	e.InviteToken(t, owner, acct, "new@acme-corp.com", "developer")
	ws := owner.Must(200, "GET", base, nil).Objects()
	if len(ws) != 3 {
		t.Fatalf("%d webhooks, want 3", len(ws))
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, w := range ws {
		id := strconv.Itoa(int(w["id"].(float64)))
		for {
			ds := owner.Must(200, "GET", base+"/"+id+"/deliveries", nil).Objects()
			if len(ds) == 1 && ds[0]["attempts"].(float64) >= 2 {
				// A fixed phrase, naming neither the host nor the address.
				want := "refused: address not allowed"
				if strings.HasPrefix(w["url"].(string), "http://") {
					want = "refused: https required"
				}
				if ds[0]["status"] != "pending" || ds[0]["last_error"] != want {
					t.Fatalf("delivery to %s: %v, want pending, %q", w["url"], ds[0], want)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("delivery to %s was not attempted: %v", w["url"], ds)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("%d requests reached private targets", n)
	}
}

func TestWebhooks_Permissions(t *testing.T) {
	t.Parallel()
	// The route table: reading needs team.view, changing team.edit.
	for _, rt := range (&httpapi.Server{}).Routes() {
		if !strings.Contains(rt.Pattern, "/webhooks") {
			continue
		}
		want := roster.TeamEdit
		if strings.HasPrefix(rt.Pattern, "GET ") {
			want = roster.TeamView
		}
		if rt.Access != httpapi.Member || rt.Perm != want {
			t.Errorf("%s needs %v, want %v", rt.Pattern, rt.Perm, want)
		}
	}

	e := servertest.New(t, servertest.Options{Tweak: webhookServer(true)})
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	base := "/v1/accounts/" + acct + "/webhooks"
	created := owner.Must(201, "POST", base, map[string]any{"url": "https://hooks.example.com/x", "events": []string{"member.joined"}})
	whID := strconv.Itoa(int(created.JSON["id"].(float64)))
	admin, _ := e.Join(t, owner, acct, "admin@acme-corp.com", "admin")
	if n := admin.Must(200, "GET", base, nil).Total(); n != 1 {
		t.Fatalf("admin lists %d webhooks", n)
	}
	// No role holds team.view without team.edit; the developer holds
	// neither: it can neither list nor create.
	dev, _ := e.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	dev.Refused(403, "forbidden", "GET", base, nil)
	dev.Refused(403, "forbidden", "GET", base+"/"+whID+"/deliveries", nil)
	dev.Refused(403, "forbidden", "POST", base, map[string]any{"url": "https://hooks.example.com/y", "events": []string{"member.joined"}})
	dev.Refused(403, "forbidden", "PATCH", base+"/"+whID, map[string]any{"enabled": false})
	dev.Refused(403, "forbidden", "DELETE", base+"/"+whID, nil)
	// Another account's webhook is not found.
	other, acct2 := e.SignUp(t, "owner@beta-corp.com", "Beta")
	other.Refused(404, "not_found", "GET", "/v1/accounts/"+acct2+"/webhooks/"+whID, nil)
	// PATCH validates what it changes.
	owner.Refused(400, "invalid_request", "PATCH", base+"/"+whID, map[string]any{"events": []string{"nope"}})
	r := owner.Must(200, "PATCH", base+"/"+whID, map[string]any{"enabled": false, "events": []string{"plan.changed", "member.left"}})
	if r.JSON["enabled"] != false || len(r.JSON["events"].([]any)) != 2 {
		t.Fatalf("patch: %s", r.Body)
	}
}
