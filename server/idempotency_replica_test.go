package server_test

import (
	"bytes"
	"crypto/rand"
	"sync"
	"testing"

	"github.com/rosterhq/roster/httpapi"
)

// An Idempotency-Key holds across replicas: it is kept in the database. A
// retry that reaches the other replica answers the first answer again;
// requests with one key sent at once to both do the work once.
func TestReplicas_IdempotencyKeyHoldsAcrossReplicas(t *testing.T) {
	a, b := replicas(t, nil)
	owner, acct := a.SignUp(t, "owner@acme-corp.com", "Owner")
	a.Commit(t, acct)
	ownerB := on(t, b, owner, a)
	path := "/v1/accounts/" + acct + "/applications"
	body := map[string]string{"name": "IVR", "answer_url": "https://acme.example/answer"}

	key := rand.Text()
	owner.Header.Set("Idempotency-Key", key)
	ownerB.Header.Set("Idempotency-Key", key)
	first := owner.Must(201, "POST", path, body)
	again := ownerB.Must(201, "POST", path, body)
	if !bytes.Equal(again.Body, first.Body) || again.Header.Get(httpapi.ReplayedHeader) != "true" {
		t.Errorf("the retry on B: %s (replayed %q), want A's answer %s", again.Body, again.Header.Get(httpapi.ReplayedHeader), first.Body)
	}
	// Another body on B: 409, nothing made.
	ownerB.Refused(409, "conflict", "POST", path, map[string]string{"name": "Other", "answer_url": "https://acme.example/answer"})

	// Twelve at once, six on each replica, with a new key.
	key = rand.Text()
	owner.Header.Set("Idempotency-Key", key)
	ownerB.Header.Set("Idempotency-Key", key)
	body = map[string]string{"name": "Racer", "answer_url": "https://acme.example/answer"}
	var mu sync.Mutex
	statuses, fresh := map[int]int{}, 0
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 12 {
		c := owner
		if i%2 == 1 {
			c = ownerB
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := c.Do("POST", path, body)
			mu.Lock()
			defer mu.Unlock()
			statuses[r.Status]++
			if r.Status == 201 && r.Header.Get(httpapi.ReplayedHeader) == "" {
				fresh++
			}
			if r.Status == 409 && (r.Code() != "conflict" || r.Header.Get("Retry-After") == "") {
				t.Errorf("409 %s, Retry-After %q", r.Body, r.Header.Get("Retry-After"))
			}
		}()
	}
	close(start)
	wg.Wait()
	if fresh != 1 || statuses[201]+statuses[409] != 12 {
		t.Errorf("12 requests with one key on two replicas: %v, %d fresh; want one fresh 201, replays or 409", statuses, fresh)
	}
	for name, want := range map[string]int{"IVR": 1, "Other": 0, "Racer": 1} {
		if n := a.Count(t, "SELECT COUNT(*) FROM applications WHERE name = ?", name); n != want {
			t.Errorf("%d applications %s, want %d", n, name, want)
		}
	}
	t.Logf("12 at once on two replicas: %v", statuses)
}
