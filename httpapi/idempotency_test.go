package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/httpapi"
	"github.com/rosterhq/roster/server/servertest"
	"github.com/rosterhq/roster/store"
)

// keyed returns a client like c (its cookies, its headers) that sends
// the Idempotency-Key key with every request.
func keyed(c *servertest.Client, key string) *servertest.Client {
	k := *c
	k.Header = c.Header.Clone()
	k.Header.Set("Idempotency-Key", key)
	return &k
}

func newKey() string { return rand.Text() }

// sameAnswer fails unless b is a replay of a: the status, the body and
// the headers a client acts on, marked replayed.
func sameAnswer(t *testing.T, a, b servertest.Response) {
	t.Helper()
	if b.Status != a.Status || !bytes.Equal(b.Body, a.Body) {
		t.Errorf("replay %d %s, want the first answer %d %s", b.Status, b.Body, a.Status, a.Body)
	}
	for _, h := range []string{"Content-Type", "Location", "X-Roster-Revision", "Set-Cookie"} {
		if b.Header.Get(h) != a.Header.Get(h) {
			t.Errorf("replay %s: %q, want %q", h, b.Header.Get(h), a.Header.Get(h))
		}
	}
	if a.Header.Get(httpapi.ReplayedHeader) != "" || b.Header.Get(httpapi.ReplayedHeader) != "true" {
		t.Errorf("Idempotent-Replayed: first %q, replay %q", a.Header.Get(httpapi.ReplayedHeader), b.Header.Get(httpapi.ReplayedHeader))
	}
}

// A retry with the same key and body answers the first answer again and
// creates nothing more: an invitation (one mail), a number, an
// application, an account.
func TestIdempotency_ReplayAnswersFirstAndDoesNothing(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	A := "/v1/accounts/" + acct
	for _, tc := range []struct {
		name, path string
		body       any
		count      string
	}{
		{"invitation", A + "/invitations", map[string]string{"email": "new@acme-corp.com", "role": "developer"},
			"SELECT COUNT(*) FROM invitations WHERE email = 'new@acme-corp.com'"},
		{"number", A + "/numbers", map[string]string{"number": "+14155550100"}, "SELECT COUNT(*) FROM numbers WHERE number = '+14155550100'"},
		{"application", A + "/applications", map[string]string{"name": "IVR", "answer_url": "https://acme.example/answer"},
			"SELECT COUNT(*) FROM applications WHERE name = 'IVR'"},
		{"account", "/v1/accounts", map[string]string{"name": "Side project"}, "SELECT COUNT(*) FROM accounts WHERE name = 'Side project'"},
	} {
		c := keyed(owner, newKey())
		first := c.Do("POST", tc.path, tc.body)
		if first.Status != 201 {
			t.Fatalf("%s: first %d %s", tc.name, first.Status, first.Body)
		}
		for range 2 {
			sameAnswer(t, first, c.Do("POST", tc.path, tc.body))
		}
		if n := e.Count(t, tc.count); n != 1 {
			t.Errorf("%s: %d rows after three requests with one key, want 1", tc.name, n)
		}
	}
	// The service token's writes (log ingest) take a key too, and the
	// check ignores one: a question is answered afresh.
	platform := keyed(e.Platform(t), newKey())
	logRec := map[string]any{"account_id": acct, "kind": "call", "from_number": "+14155551111", "to_number": "+14155550000",
		"direction": "outbound", "status": "completed", "started_at": "2026-11-01T10:00:00Z"}
	ingested := platform.Must(201, "POST", "/v1/ingest/logs", logRec)
	sameAnswer(t, ingested, platform.Do("POST", "/v1/ingest/logs", logRec))
	if n := e.Count(t, "SELECT COUNT(*) FROM call_logs"); n != 1 {
		t.Errorf("%d call logs after two ingests with one key, want 1", n)
	}
	for range 2 {
		r := platform.Must(200, "POST", "/v1/authz/check", map[string]any{"account_id": acct, "user_id": 1, "permission": "numbers.view"})
		if r.Header.Get(httpapi.ReplayedHeader) != "" {
			t.Errorf("a check was replayed: %s", r.Body)
		}
	}

	// One invitation, one mail.
	time.Sleep(200 * time.Millisecond)
	if n := servertest.MailCount(e.Mail, "new@acme-corp.com"); n != 1 {
		t.Errorf("%d invitation mails, want 1", n)
	}
	// A refusal is an answer too: kept and replayed (not run again).
	c := keyed(owner, newKey())
	bad := map[string]string{"email": "someone@gmail.com", "role": "developer"}
	first := c.Do("POST", A+"/invitations", bad)
	if first.Status != 422 {
		t.Fatalf("a personal address: %d %s", first.Status, first.Body)
	}
	sameAnswer(t, first, c.Do("POST", A+"/invitations", bad))
}

// The same key with another request (body, path or query) is refused with
// 409 conflict, and does nothing.
func TestIdempotency_AnotherRequestConflicts(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	c := keyed(owner, newKey())
	c.Must(201, "POST", "/v1/accounts/"+acct+"/numbers", map[string]string{"number": "+14155550101"})
	for _, tc := range []struct{ path, number string }{
		{"/v1/accounts/" + acct + "/numbers", "+14155550102"},      // another body
		{"/v1/accounts/" + acct + "/numbers?x=1", "+14155550101"},  // another query
		{"/v1/accounts/" + acct + "/applications", "+14155550101"}, // another path
		{"/v1/accounts/" + acct + "/numbers", " +14155550101"},     // another byte
	} {
		r := c.Refused(409, "conflict", "POST", tc.path, map[string]string{"number": tc.number})
		if r.Header.Get(httpapi.ReplayedHeader) != "" || !strings.Contains(string(r.Body), "another request") {
			t.Errorf("%s: %s", tc.path, r.Body)
		}
	}
	if n := e.Count(t, "SELECT COUNT(*) FROM numbers"); n != 1 {
		t.Errorf("%d numbers, want 1", n)
	}
	if n := e.Count(t, "SELECT COUNT(*) FROM applications"); n != 0 {
		t.Errorf("%d applications, want 0", n)
	}
}

// A malformed key is 400 invalid_request about the header, and nothing is
// done or kept.
func TestIdempotency_MalformedKeyRefused(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	body := map[string]string{"email": "new@acme-corp.com", "role": "developer"}
	for name, key := range map[string]string{
		"empty":     "",
		"too long":  strings.Repeat("k", 256),
		"non-ASCII": "clé-1",
		"control":   "key\tkey",
	} {
		r := keyed(owner, key).Refused(400, "invalid_request", "POST", "/v1/accounts/"+acct+"/invitations", body)
		if f, _ := r.JSON["error"].(map[string]any)["field"].(string); f != "Idempotency-Key" {
			t.Errorf("%s: field %q, want Idempotency-Key: %s", name, f, r.Body)
		}
	}
	two := keyed(owner, "a")
	two.Header.Add("Idempotency-Key", "b")
	two.Refused(400, "invalid_request", "POST", "/v1/accounts/"+acct+"/invitations", body)
	// 255 printable characters, spaces included, are a key.
	keyed(owner, strings.Repeat("~ ", 127)+"!").Must(201, "POST", "/v1/accounts", map[string]string{"name": "Long key"})
	if n := e.Count(t, "SELECT COUNT(*) FROM invitations"); n != 0 {
		t.Errorf("%d invitations after refusals, want 0", n)
	}
	if n := e.Count(t, "SELECT COUNT(*) FROM idempotency_keys"); n != 1 {
		t.Errorf("%d keys kept, want the one well-formed", n)
	}
}

// Keys are the caller's own: two users, an API key and an anonymous
// client using one key each get their own answer.
func TestIdempotency_CallersDoNotShareKeys(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	ada, _ := e.SignUp(t, "ada@acme-corp.com", "Ada")
	bob, _ := e.SignUp(t, "bob@beta-corp.com", "Bob")
	key := newKey()
	body := map[string]string{"name": "Same name"}
	a := keyed(ada, key).Must(201, "POST", "/v1/accounts", body)
	b := keyed(bob, key).Must(201, "POST", "/v1/accounts", body)
	if a.Str("id") == b.Str("id") || b.Header.Get(httpapi.ReplayedHeader) != "" {
		t.Errorf("two users' requests with one key: %s and %s (replayed %q)", a.Body, b.Body, b.Header.Get(httpapi.ReplayedHeader))
	}
	// Ada's personal API key is another caller than her session.
	apiKey := ada.Must(201, "POST", "/v1/me/api-keys", map[string]string{"account_id": a.Str("id"), "name": "ci"}).Str("key")
	viaKey := keyed(e.Client(t), key)
	viaKey.Header.Set("Authorization", "Bearer "+apiKey)
	viaKey.Must(201, "POST", "/v1/accounts/"+a.Str("id")+"/numbers", map[string]string{"number": "+14155550103"})
	if n := e.Count(t, "SELECT COUNT(*) FROM accounts WHERE name = 'Same name'"); n != 2 {
		t.Errorf("%d accounts, want 2", n)
	}
	if n := e.Count(t, "SELECT COUNT(*) FROM idempotency_keys"); n != 3 {
		t.Errorf("%d keys kept, want 3", n)
	}
}

// Many requests with one key at once, over real connections: one does the
// work; every other answers its answer again or 409 conflict (still
// running, with Retry-After).
func TestIdempotency_ParallelRequestsWithOneKeyDoItOnce(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	c := keyed(owner, newKey())
	// Applications may share a name: only the key keeps this one single.
	path := "/v1/accounts/" + acct + "/applications"
	body := map[string]string{"name": "Racer", "answer_url": "https://acme.example/answer"}
	var mu sync.Mutex
	var bodies [][]byte
	var fresh atomic.Int64
	statuses := parallel(12, func(i int) int {
		r := c.Do("POST", path, body)
		switch {
		case r.Status == 201:
			if r.Header.Get(httpapi.ReplayedHeader) != "true" {
				fresh.Add(1)
			}
			mu.Lock()
			bodies = append(bodies, r.Body)
			mu.Unlock()
		case r.Status == 409 && (r.Code() != "conflict" || r.Header.Get("Retry-After") == ""):
			t.Errorf("409 %s without Retry-After %q", r.Body, r.Header.Get("Retry-After"))
		}
		return r.Status
	})
	if statuses[201]+statuses[409] != 12 || fresh.Load() != 1 {
		t.Errorf("12 requests with one key: %v (%d fresh 201), want one fresh 201, the others replays or 409", statuses, fresh.Load())
	}
	for _, b := range bodies {
		if !bytes.Equal(b, bodies[0]) {
			t.Errorf("answers differ: %s and %s", b, bodies[0])
		}
	}
	if n := e.Count(t, "SELECT COUNT(*) FROM applications WHERE name = 'Racer'"); n != 1 {
		t.Errorf("%d applications, want 1", n)
	}
	// Once it is done, every retry gets its answer.
	if r := c.Must(201, "POST", path, body); !bytes.Equal(r.Body, bodies[0]) {
		t.Errorf("replay %s, want %s", r.Body, bodies[0])
	}
	t.Logf("12 at once: %v", statuses)
}

// An answer that shows a secret once (a personal API key) is kept sealed:
// neither the secret, nor the answer's text, nor the key appear in the
// table; the retry gets the secret.
func TestIdempotency_StoredAnswerIsSealed(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	key := newKey()
	c := keyed(owner, key)
	first := c.Must(201, "POST", "/v1/me/api-keys", map[string]string{"account_id": acct, "name": "ci"})
	secret := first.Str("key")
	if secret == "" {
		t.Fatalf("no key in %s", first.Body)
	}
	sameAnswer(t, first, c.Do("POST", "/v1/me/api-keys", map[string]string{"account_id": acct, "name": "ci"}))
	rows, err := e.Server.DB.SQL().Query(`SELECT id, fingerprint, token, answer FROM idempotency_keys`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
		var id, fp, token, answer []byte
		if err := rows.Scan(&id, &fp, &token, &answer); err != nil {
			t.Fatal(err)
		}
		for _, col := range [][]byte{id, fp, token, answer} {
			for _, text := range []string{secret, secret[len(secret)-12:], key, "\"ci\"", "Content-Type"} {
				if bytes.Contains(col, []byte(text)) {
					t.Errorf("the table holds %q in clear", text)
				}
			}
		}
		if len(answer) < len(first.Body) {
			t.Errorf("answer %d bytes, want the sealed answer", len(answer))
		}
	}
	if err := rows.Err(); err != nil || n != 1 {
		t.Fatalf("%d rows (%v), want 1", n, err)
	}
	if n := e.Count(t, "SELECT COUNT(*) FROM api_keys"); n != 1 {
		t.Errorf("%d API keys, want 1", n)
	}
}

// A session in Set-Cookie is an answer's secret too: a retried login gets
// the first login's session, and no second session is made.
func TestIdempotency_LoginReplaysItsSession(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	e.SignUp(t, "ada@acme-corp.com", "Ada")
	before := e.Count(t, "SELECT COUNT(*) FROM sessions")
	c := keyed(e.Client(t), newKey())
	login := map[string]string{"email": "ada@acme-corp.com", "password": servertest.Password}
	first := c.Must(200, "POST", "/v1/login", login)
	if first.Header.Get("Set-Cookie") == "" {
		t.Fatal("login set no cookie")
	}
	sameAnswer(t, first, c.Do("POST", "/v1/login", login))
	if n := e.Count(t, "SELECT COUNT(*) FROM sessions"); n != before+1 {
		t.Errorf("%d sessions, want %d", n, before+1)
	}
	// The replayed cookie is the live session.
	fresh := e.Client(t)
	req, _ := http.NewRequest("GET", e.URL+"/v1/me", nil)
	req.Header.Set("Cookie", strings.SplitN(first.Header.Get("Set-Cookie"), ";", 2)[0])
	resp, err := fresh.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("the replayed session: GET /v1/me %d", resp.StatusCode)
	}
}

// A 5xx is no answer: the key is released and a retry runs the request
// again. But when the failed request had committed its work (a cut
// during COMMIT answers 500 for a write that was made), the retry never
// runs it again: 409 conflict, the answer was lost.
func TestIdempotency_FailuresAreNotKept(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, _ := e.SignUp(t, "owner@acme-corp.com", "Owner")
	uid := int64(owner.Must(200, "GET", "/v1/me", nil).JSON["id"].(float64))
	s := &httpapi.Server{Svc: e.Server.Service}
	var calls atomic.Int64
	fail := s.ServeRoute("POST /x", httpapi.Public, func(w http.ResponseWriter, r *http.Request, c *httpapi.Caller) error {
		if calls.Add(1) == 1 {
			return errors.New("the first attempt fails")
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	doneThenFail := s.ServeRoute("POST /y", httpapi.Public, func(w http.ResponseWriter, r *http.Request, c *httpapi.Caller) error {
		if _, err := e.Server.Service.CreateAccount(r.Context(), roster.User{ID: uid, Email: "owner@acme-corp.com"}, "Made once", "127.0.0.1"); err != nil {
			return err
		}
		return errors.New("the connection was cut after COMMIT")
	})
	post := func(h http.Handler, key string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/x", strings.NewReader(`{}`))
		req.Header.Set("Idempotency-Key", key)
		h.ServeHTTP(w, req)
		return w
	}
	key := newKey()
	if w := post(fail, key); w.Code != 500 {
		t.Fatalf("first attempt %d %s", w.Code, w.Body)
	}
	if n := e.Count(t, "SELECT COUNT(*) FROM idempotency_keys"); n != 0 {
		t.Errorf("%d keys kept after a 500 that did nothing, want 0", n)
	}
	if w := post(fail, key); w.Code != 204 || calls.Load() != 2 || w.Header().Get(httpapi.ReplayedHeader) != "" {
		t.Errorf("retry: %d (calls %d), want the request run again: 204", w.Code, calls.Load())
	}
	if w := post(fail, key); w.Code != 204 || calls.Load() != 2 || w.Header().Get(httpapi.ReplayedHeader) != "true" {
		t.Errorf("third: %d (calls %d), want the kept 204", w.Code, calls.Load())
	}

	key = newKey()
	if w := post(doneThenFail, key); w.Code != 500 {
		t.Fatalf("first attempt %d %s", w.Code, w.Body)
	}
	w := post(doneThenFail, key)
	if w.Code != 409 || !strings.Contains(w.Body.String(), `"conflict"`) || !strings.Contains(w.Body.String(), "lost") {
		t.Errorf("retry after a committed 500: %d %s, want 409 conflict (answer lost)", w.Code, w.Body)
	}
	if n := e.Count(t, "SELECT COUNT(*) FROM accounts WHERE name = 'Made once'"); n != 1 {
		t.Errorf("%d accounts, want 1", n)
	}
}

// Keys are kept 24 hours: before, a retry is answered; after, the
// retention job has pruned the key, and the same key is a new request.
func TestIdempotency_PrunedAfterADay(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	clk := newAheadClock(e)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	// A personal API key: it outlives the day (a session would end idle).
	apiKey := owner.Must(201, "POST", "/v1/me/api-keys", map[string]string{"account_id": acct, "name": "ci"}).Str("key")
	c := keyed(e.Client(t), newKey())
	c.Header.Set("Authorization", "Bearer "+apiKey)
	path := "/v1/accounts/" + acct + "/applications"
	body := map[string]string{"name": "Daily", "answer_url": "https://acme.example/answer"}
	first := c.Must(201, "POST", path, body)
	clk.advance(23 * time.Hour)
	if err := e.Server.Service.Prune(context.Background(), store.Retention{}); err != nil {
		t.Fatal(err)
	}
	sameAnswer(t, first, c.Do("POST", path, body))
	clk.advance(2 * time.Hour) // 25 hours after the first
	if err := e.Server.Service.Prune(context.Background(), store.Retention{}); err != nil {
		t.Fatal(err)
	}
	if n := e.Count(t, "SELECT COUNT(*) FROM idempotency_keys"); n != 0 {
		t.Errorf("%d keys after 25 hours and a prune, want 0", n)
	}
	again := c.Must(201, "POST", path, body)
	if bytes.Equal(again.Body, first.Body) || again.Header.Get(httpapi.ReplayedHeader) != "" {
		t.Errorf("after a day the key is new: %s", again.Body)
	}
	if n := e.Count(t, "SELECT COUNT(*) FROM applications WHERE name = 'Daily'"); n != 2 {
		t.Errorf("%d applications, want 2", n)
	}
}

// BenchmarkIdempotency_Post: what a key costs a write. One client creates
// applications over real HTTP, alternately without and with a new key
// each time (the claim, the mark in the change's transaction, the sealed
// answer); the sub-benchmarks' ns/op compare in the same run.
func BenchmarkIdempotency_Post(b *testing.B) {
	e := servertest.New(b)
	owner, acct := e.SignUp(b, "owner@acme-corp.com", "Owner")
	e.Commit(b, acct)
	body := map[string]string{"name": "Bench", "answer_url": "https://acme.example/answer"}
	for _, withKey := range []bool{false, true, false, true} {
		name := "without key"
		if withKey {
			name = "with key"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				c := owner
				if withKey {
					c = keyed(owner, newKey())
				}
				if r := c.Do("POST", "/v1/accounts/"+acct+"/applications", body); r.Status != 201 {
					b.Fatalf("%d %s", r.Status, r.Body)
				}
			}
		})
	}
}
