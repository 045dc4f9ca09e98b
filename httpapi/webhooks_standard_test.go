package httpapi_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/server/servertest"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// stdAttempt is one request a Standard Webhooks receiver got, with what
// the specification's library made of it.
type stdAttempt struct {
	path      string
	msgID     string // webhook-id
	ts        int64  // webhook-timestamp
	eventID   string // the body's "id"
	verified  error  // the library's Verify of the request as it came
	roster    error  // the Roster-Signature check (verify)
	tampered  error  // Verify of the body with one byte changed
	old       error  // Verify with webhook-timestamp ten minutes earlier
	resigned  error  // Verify with webhook-timestamp one second off (still fresh)
	arrivedAt time.Time
}

func (a stdAttempt) String() string {
	return fmt.Sprintf("%s webhook-id %s event %s", a.path, a.msgID, a.eventID)
}

// stdReceiver is a webhook endpoint that checks every delivery the way a
// receiver using the Standard Webhooks Go library would, one library
// verifier per path (one per webhook), and answers 500 to the first two
// attempts of each message at a path, 200 after: so every event is
// retried twice.
type stdReceiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	verifier map[string]*standardwebhooks.Webhook
	secret   map[string]string // for Roster-Signature
	tries    map[string]int    // path + webhook-id -> 500s answered
	got      []stdAttempt
}

func newStdReceiver(t *testing.T) *stdReceiver {
	r := &stdReceiver{verifier: map[string]*standardwebhooks.Webhook{}, secret: map[string]string{}, tries: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *stdReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	wh := r.verifier[req.URL.Path]
	if wh == nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	a := stdAttempt{path: req.URL.Path, msgID: req.Header.Get("webhook-id"), arrivedAt: time.Now()}
	a.ts, _ = strconv.ParseInt(req.Header.Get("webhook-timestamp"), 10, 64)
	var ev struct{ ID string }
	if err := json.Unmarshal(body, &ev); err == nil {
		a.eventID = ev.ID
	}
	a.verified = wh.Verify(body, req.Header)
	a.roster = verify(r.secret[req.URL.Path], req.Header.Get("Roster-Signature"), body)
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)/2] ^= 1
	a.tampered = wh.Verify(tampered, req.Header)
	h := req.Header.Clone()
	h.Set("webhook-timestamp", strconv.FormatInt(a.ts-600, 10))
	a.old = wh.Verify(body, h)
	h.Set("webhook-timestamp", strconv.FormatInt(a.ts-1, 10))
	a.resigned = wh.Verify(body, h)
	r.got = append(r.got, a)
	if a.verified != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if k := a.path + " " + a.msgID; r.tries[k] < 2 {
		r.tries[k]++
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// accepted waits until n messages were answered 2xx and returns every
// attempt so far.
func (r *stdReceiver) accepted(t *testing.T, n int) []stdAttempt {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		r.mu.Lock()
		got := append([]stdAttempt(nil), r.got...)
		r.mu.Unlock()
		seen := map[string]int{}
		done := 0
		for _, a := range got {
			if a.verified != nil {
				t.Fatalf("the library refused a delivery to %s: %v", a.path, a.verified)
			}
			k := a.path + " " + a.msgID
			if seen[k]++; seen[k] == 3 {
				done++
			}
		}
		if done >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages accepted, want %d (each after two retries with the same webhook-id): %v", done, n, got)
		}
	}
}

// TestWebhooks_StandardWebhooksLibraryVerifiesDeliveries: real deliveries
// (events, a test event and a redelivery), sent by the real worker to a
// real endpoint, each verified there with the Standard Webhooks
// specification's own Go library, as Roster-Signature still verifies:
// with the secret as the API showed it for a new webhook (whsec_, the
// library's NewWebhook), and with the library's raw-key constructor for a
// webhook whose secret predates the standard form. Each is retried twice
// with the same webhook-id, the event's id, and a fresh timestamp per
// attempt; the redelivery carries that id again. The same library refuses
// each delivery with one byte of its body changed, with its timestamp ten
// minutes older, and with it one second off: a test that can fail.
func TestWebhooks_StandardWebhooksLibraryVerifiesDeliveries(t *testing.T) {
	t.Parallel()
	e := servertest.New(t, servertest.Options{Tweak: webhookServer(true)})
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	rcv := newStdReceiver(t)
	base := "/v1/accounts/" + acct + "/webhooks"

	// A new webhook: its secret goes to the library as it is shown.
	created := owner.Must(201, "POST", base, map[string]any{"url": rcv.srv.URL + "/new", "events": []string{"member.joined", "credentials.rotated"}})
	secret := created.Str("secret")
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatalf("the library refuses the secret %q the API showed: %v", secret, err)
	}
	// A webhook made before the standard form: its secret, whsec_ and
	// unpadded URL-safe base64, written to the table as Roster made them.
	oldHook := owner.Must(201, "POST", base, map[string]any{"url": rcv.srv.URL + "/old", "events": []string{"credentials.rotated"}})
	b := make([]byte, 32)
	rand.Read(b)
	old := "whsec_" + base64.RawURLEncoding.EncodeToString(b)
	if _, err := e.Server.DB.SQL().Exec(fmt.Sprintf(`UPDATE webhooks SET secret = '%s' WHERE id = %d`, old, webhookID(oldHook))); err != nil {
		t.Fatal(err)
	}
	if _, err := standardwebhooks.NewWebhook(old); err == nil {
		t.Fatalf("the library takes the old secret %q as a standard one", old)
	}
	whOld, err := standardwebhooks.NewWebhookRaw([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	rcv.mu.Lock()
	rcv.verifier["/new"], rcv.secret["/new"] = wh, secret
	rcv.verifier["/old"], rcv.secret["/old"] = whOld, old
	rcv.mu.Unlock()

	e.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	owner.Must(200, "POST", "/v1/accounts/"+acct+"/credentials/rotate", map[string]any{})
	wid := base + "/" + strconv.FormatInt(webhookID(created), 10)
	test := owner.Must(202, "POST", wid+"/test", nil)
	// member.joined and credentials.rotated to /new, credentials.rotated
	// to /old, the test event to /new: four messages, three attempts each.
	got := rcv.accepted(t, 4)

	byMsg := map[string][]stdAttempt{}
	for _, a := range got {
		k := a.path + " " + a.msgID
		byMsg[k] = append(byMsg[k], a)
		switch {
		case a.roster != nil:
			t.Errorf("%s %s: Roster-Signature: %v", a.path, a.msgID, a.roster)
		case !errors.Is(a.tampered, standardwebhooks.ErrNoMatchingSignature):
			t.Errorf("%s %s: the library's Verify of a changed body: %v, want %v", a.path, a.msgID, a.tampered, standardwebhooks.ErrNoMatchingSignature)
		case !errors.Is(a.old, standardwebhooks.ErrMessageTooOld):
			t.Errorf("%s %s: the library's Verify ten minutes earlier: %v, want %v", a.path, a.msgID, a.old, standardwebhooks.ErrMessageTooOld)
		case !errors.Is(a.resigned, standardwebhooks.ErrNoMatchingSignature):
			t.Errorf("%s %s: the library's Verify with another timestamp: %v, want %v", a.path, a.msgID, a.resigned, standardwebhooks.ErrNoMatchingSignature)
		case a.msgID == "" || a.msgID != a.eventID:
			t.Errorf("%s: webhook-id %q, want the event's id %q", a.path, a.msgID, a.eventID)
		case time.Unix(a.ts, 0).Sub(a.arrivedAt).Abs() > 2*time.Second:
			t.Errorf("%s %s: webhook-timestamp %d, arrived at %d", a.path, a.msgID, a.ts, a.arrivedAt.Unix())
		}
	}
	if len(byMsg) != 4 || len(got) != 12 {
		t.Fatalf("%d attempts of %d messages, want 3 attempts of each of 4: %v", len(got), len(byMsg), got)
	}
	for k, as := range byMsg {
		for i := 1; i < len(as); i++ {
			if as[i].ts < as[i-1].ts {
				t.Errorf("%s: attempt %d signed at %d, before attempt %d (%d)", k, i+1, as[i].ts, i, as[i-1].ts)
			}
		}
	}
	// The same event to both webhooks: one id, the event's.
	var rotated string
	for _, a := range got {
		if a.path == "/old" {
			rotated = a.msgID
		}
	}
	if byMsg["/new "+rotated] == nil {
		t.Errorf("credentials.rotated reached /old as %q, and /new with other ids: %v", rotated, byMsg)
	}
	if byMsg["/new "+test.Str("event_id")] == nil {
		t.Fatalf("the test event %s did not arrive under its id: %v", test.Str("event_id"), byMsg)
	}

	// A redelivery of the test event: the same webhook-id, signed afresh,
	// accepted at once (the receiver has seen that id three times).
	d := delivered(t, owner, wid+"/deliveries", test.JSON["id"].(float64))
	owner.Must(202, "POST", wid+"/deliveries/"+strconv.Itoa(int(d["id"].(float64)))+"/redeliver", nil)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		rcv.mu.Lock()
		n := len(rcv.got)
		last := rcv.got[n-1]
		rcv.mu.Unlock()
		if n > 12 {
			if n != 13 || last.msgID != test.Str("event_id") || last.verified != nil || last.roster != nil || last.ts < byMsg["/new "+last.msgID][2].ts {
				t.Fatalf("the redelivery arrived as %v (%d attempts), want the test event's id %s, verified", last, n, test.Str("event_id"))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the redelivery did not arrive")
		}
	}
}
