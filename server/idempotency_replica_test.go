package server_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/httpapi"
	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
	"github.com/rosterhq/roster/service"
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

// The case: the database connection is cut again and again while
// clients create applications, each with its own Idempotency-Key, and
// retry every answer that is no answer (a transport error, 503, 409
// still running) with the same key until they get one. Cuts land inside
// COMMIT too, after the server committed: the write is made and the
// answer is an error. Still, every application exists exactly once.
//
// The proxy picks the messages it cuts at (servertest.TCPProxy.CutWhen),
// not moments: cuts on a clock let almost no write through where opening a
// PostgreSQL connection is slow (18 ms on the development VM, far more
// under the race detector on a loaded CI machine, where every one of
// 1,343 attempts answered 503), and whether a cut fell inside a COMMIT
// was luck. Here each attempt's fate is the same on any machine.
func TestIdempotency_RetriesThroughCutsMakeEachWriteOnce(t *testing.T) {
	dsn := servertest.NewPostgresDatabase(t, postgresBase(t))
	proxy, viaProxy := servertest.NewPostgresProxy(t, dsn)
	// The staleness bound is not what this test is about (staleness_test.go
	// is): a catch-up whose connection is cut must not turn the writes
	// into 503 stale until the next one.
	e := servertest.New(t, servertest.Options{Database: viaProxy, Tweak: func(c *server.Config) { c.MaxStaleness = time.Minute }})
	var ahead atomic.Int64 // the server's clock runs ahead by this much
	e.Server.DB.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	path := "/v1/accounts/" + acct + "/applications"

	// A fifth of the COMMITs are cut before the server sees them, a fifth
	// after it committed (the answer never arrives); one in a hundred of
	// every other message is cut before it is sent.
	var cutBefore, cutInCommit, commits atomic.Int64
	proxy.CutWhen(func(m servertest.PostgresMessage) servertest.CutAction {
		if m.IsCommit() {
			commits.Add(1)
			switch mrand.N(5) {
			case 0:
				cutBefore.Add(1)
				return servertest.CutBefore
			case 1:
				cutInCommit.Add(1)
				return servertest.CutAfterAnswer
			}
			return servertest.Forward
		}
		if m.Type != 'X' && mrand.N(100) == 0 {
			cutBefore.Add(1)
			return servertest.CutBefore
		}
		return servertest.Forward
	})
	// The connections opened before (the sign-up's) are cut once, so that
	// every connection from now on goes through CutWhen.
	proxy.Cut()
	proxy.Restore()

	const writers, each = 3, 40
	var mu sync.Mutex
	answers := map[string]int{}     // "201", "201 replayed", "409 lost", "503", "transport", "409 running"
	unavailable := map[string]int{} // the 503s' bodies, to tell why
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{Jar: owner.HTTP.Jar, Timeout: 30 * time.Second}
			for i := range each {
				key, name := rand.Text(), fmt.Sprintf("w%d-%d", w, i)
				body := fmt.Sprintf(`{"name":%q,"answer_url":"https://acme.example/answer"}`, name)
				deadline := time.Now().Add(45 * time.Second)
				for {
					req, _ := http.NewRequest("POST", e.URL+path, strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Idempotency-Key", key)
					resp, err := hc.Do(req)
					what := "transport"
					if err == nil {
						raw, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						switch {
						case resp.StatusCode == 201 && resp.Header.Get(httpapi.ReplayedHeader) == "true":
							what = "201 replayed"
						case resp.StatusCode == 201:
							what = "201"
						case resp.StatusCode == 409 && resp.Header.Get("Retry-After") != "":
							// The first attempt holds the key (its release was
							// cut too): its lease ends in a minute; move on.
							what = "409 running"
							ahead.Add(int64(service.IdempotencyLease + time.Second))
						case resp.StatusCode == 409 && strings.Contains(string(raw), "lost"):
							what = "409 lost"
						case resp.StatusCode == 503 && resp.Header.Get("Retry-After") != "":
							what = "503"
							mu.Lock()
							unavailable[string(raw)]++
							mu.Unlock()
						case resp.StatusCode >= 500:
							what = fmt.Sprint(resp.StatusCode)
							t.Errorf("%s: %d %s: a database failure is 503 with Retry-After", name, resp.StatusCode, raw)
						default:
							t.Errorf("%s: %d %s", name, resp.StatusCode, raw)
							return
						}
					}
					mu.Lock()
					answers[what]++
					mu.Unlock()
					if what == "201" || what == "201 replayed" || what == "409 lost" {
						break
					}
					if time.Now().After(deadline) {
						t.Errorf("%s: no answer within 45 s", name)
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	proxy.CutWhen(nil)

	// The pool may still hold connections a cut closed: read until a good
	// one answers.
	var counts map[string]int
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if counts, err = applicationCounts(e); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range counts {
		if n != 1 {
			t.Errorf("application %s made %d times", name, n)
		}
	}
	if len(counts) != writers*each {
		t.Errorf("%d applications, want %d", len(counts), writers*each)
	}
	// The case the test is for happened: writes committed whose answers
	// were lost.
	if cutInCommit.Load() == 0 {
		t.Errorf("no COMMIT was cut after it committed (%d commits)", commits.Load())
	}
	t.Logf("%d commits, %d cut after committing, %d other cuts; answers %v", commits.Load(), cutInCommit.Load(), cutBefore.Load(), answers)
	for body, n := range unavailable {
		t.Logf("503 ×%d: %s", n, body)
	}
}

// applicationCounts returns how many applications have each name.
func applicationCounts(e *servertest.Env) (map[string]int, error) {
	rows, err := e.Server.DB.SQL().Query(`SELECT name, COUNT(*) FROM applications GROUP BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			return nil, err
		}
		out[name] = n
	}
	return out, rows.Err()
}
