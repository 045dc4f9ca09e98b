package main

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/server/servertest"
)

// checkBody is a permission check of an account that does not exist: the
// check answers 200 {"allowed":false,...} from memory.
const checkBody = `{"account_id":"MA000000000000000000","user_id":1,"permission":"numbers.view"}`

// TestServe_DrainsOnSIGTERM: a real `roster serve` under a load of
// permission checks over keep-alive connections (POST, which Go's client
// never retries by itself) gets SIGTERM. From that moment /readyz on the
// admin listener and /healthz on the public one answer 503, while every
// request sent during the drain (ROSTER_SHUTDOWN_DRAIN, 2s here) is
// answered 200: none fails. A request still in flight when the drain ends
// (its body arriving slowly across the end) is answered too. Then the
// process stops, not before the drain is over, with exit status 0.
//
// The load stops a little before the drain ends, as a load balancer that
// saw /readyz go 503 would have: after the drain new connections are
// refused by design.
func TestServe_DrainsOnSIGTERM(t *testing.T) {
	const drain = 2 * time.Second
	p := startServe(t, "ROSTER_DATABASE="+servertest.Database(t), "ROSTER_SERVICE_TOKEN=svc",
		"ROSTER_SHUTDOWN_DRAIN="+drain.String())

	// Keep-alive connections shared by the load's goroutines.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	defer client.CloseIdleConnections()
	check := func(c *http.Client, body io.Reader) (int, error) {
		req, _ := http.NewRequest("POST", p.url+"/v1/authz/check", body)
		req.Header.Set("Authorization", "Bearer svc")
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && (resp.StatusCode != 200 || !strings.Contains(string(b), `"allowed":false`)) {
			t.Errorf("check answered %d %s", resp.StatusCode, b)
		}
		return resp.StatusCode, err
	}
	if st, err := check(client, strings.NewReader(checkBody)); st != 200 || err != nil {
		t.Fatalf("check before the load: %d %v", st, err)
	}
	get := func(url string) int {
		resp, err := http.Get(url)
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := get(p.adminURL + "/readyz"); st != 200 {
		t.Fatalf("/readyz before SIGTERM: %d", st)
	}

	var (
		stop              atomic.Bool
		sigAt             atomic.Int64 // unix nanoseconds of the SIGTERM, 0 before
		okBefore, okAfter atomic.Int64
		mu                sync.Mutex
		failures          []string
		wg                sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				sent := time.Now()
				st, err := check(client, strings.NewReader(checkBody))
				if err != nil || st != 200 {
					mu.Lock()
					failures = append(failures, sent.Format("15:04:05.000")+": "+http.StatusText(st)+" "+errString(err))
					mu.Unlock()
					continue
				}
				if at := sigAt.Load(); at != 0 && sent.UnixNano() >= at {
					okAfter.Add(1)
				} else {
					okBefore.Add(1)
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond) // the load is running on warm connections

	sigAt.Store(time.Now().UnixNano())
	sig := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// /readyz turns 503 at once (within the time the signal takes to be
	// handled), and /healthz with it; the public routes still answer.
	var readyAfter time.Duration
	for {
		if get(p.adminURL+"/readyz") == 503 {
			readyAfter = time.Since(sig)
			break
		}
		if time.Since(sig) > drain/4 {
			t.Errorf("/readyz did not answer 503 within %v of SIGTERM", drain/4)
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := get(p.url + "/healthz"); st != 503 {
		t.Errorf("/healthz during the drain: %d, want 503", st)
	}

	// A request in flight across the end of the drain: it starts half-way
	// through and its body arrives well after the drain is over.
	slow := make(chan error, 1)
	go func() {
		time.Sleep(time.Until(sig.Add(drain / 2)))
		pr, pw := io.Pipe()
		go func() {
			pw.Write([]byte(checkBody[:20]))
			time.Sleep(time.Until(sig.Add(drain + 700*time.Millisecond)))
			pw.Write([]byte(checkBody[20:]))
			pw.Close()
		}()
		own := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
		st, err := check(own, pr)
		if err == nil && st != 200 {
			err = &statusError{st}
		}
		slow <- err
	}()

	// The load goes on through the drain, stopping a little before its
	// end as a load balancer would have long before.
	time.Sleep(time.Until(sig.Add(drain - 300*time.Millisecond)))
	stop.Store(true)
	wg.Wait()
	if err := <-slow; err != nil {
		t.Errorf("the request in flight at the end of the drain: %v", err)
	}

	select {
	case <-p.exited:
	case <-time.After(drain + 15*time.Second):
		t.Fatalf("roster serve still running %v after SIGTERM:\n%s", time.Since(sig), p.logs)
	}
	if p.exitErr != nil {
		t.Errorf("roster serve exited with %v, want status 0:\n%s", p.exitErr, p.logs)
	}
	if d := p.exitedAt.Sub(sig); d < drain {
		t.Errorf("roster serve exited %v after SIGTERM, before the %v drain was over", d, drain)
	}
	if len(failures) > 0 {
		t.Errorf("%d requests failed around the SIGTERM (%d answered before it, %d after), the first: %s",
			len(failures), okBefore.Load(), okAfter.Load(), strings.Join(failures[:min(5, len(failures))], "; "))
	}
	if okAfter.Load() < 50 {
		t.Errorf("only %d requests were sent and answered after SIGTERM: the drain was not under load", okAfter.Load())
	}
	for _, want := range []string{"roster draining", "roster stopping", "roster stopped"} {
		if !strings.Contains(p.logs.String(), want) {
			t.Errorf("the log has no %q:\n%s", want, p.logs)
		}
	}
	t.Logf("/readyz 503 %v after SIGTERM; %d checks answered before SIGTERM, %d during the drain, %d failed; exit %v after SIGTERM",
		readyAfter.Round(time.Millisecond), okBefore.Load(), okAfter.Load(), len(failures), p.exitedAt.Sub(sig).Round(time.Millisecond))
}

type statusError struct{ status int }

func (e *statusError) Error() string { return "status " + http.StatusText(e.status) }

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
