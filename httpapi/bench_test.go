package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/server/servertest"
)

// BenchmarkAuthzCheckHTTP: POST /v1/authz/check over real HTTP on
// loopback, from parallel keep-alive clients in the same process (so the
// client's work shares the cores with the server's). Reports requests/s.
func BenchmarkAuthzCheckHTTP(b *testing.B) {
	e := servertest.New(b)
	owner, acct := e.SignUp(b, "owner@acme-corp.com", "Owner")
	e.Commit(b, acct)
	_, devID := e.Join(b, owner, acct, "dev@acme-corp.com", "developer")
	body := []byte(fmt.Sprintf(`{"account_id":%q,"user_id":%d,"permission":"numbers.edit"}`, acct, devID))
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr}
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", e.URL+"/v1/authz/check", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+servertest.ServiceToken)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkPasswordResetRequest: the time POST /v1/password-reset takes to
// answer for a registered address (known) and for one that has no user
// (unknown), one request at a time over real HTTP. Equal medians mean the
// answer's time tells a stranger nothing. Each request runs with the
// server's clock a day later than the one before, so no throttle or mail
// allowance shortens a path; the work that follows the answer (the
// lookup, the link, the mail) is waited for between requests, outside the
// timing, so it never overlaps the next one. Reports the median and the
// 90th percentile in microseconds:
//
//	go test -run XXX -bench PasswordResetRequest -benchtime 300x ./httpapi
//	ROSTER_TEST_DATABASE=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable go test -run XXX -bench PasswordResetRequest -benchtime 300x ./httpapi
func BenchmarkPasswordResetRequest(b *testing.B) {
	e := servertest.New(b)
	var off atomic.Int64
	e.Server.DB.Now = func() time.Time { return time.Now().Add(time.Duration(off.Load())) }
	e.SignUp(b, "ada@acme-corp.com", "Ada")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	post := func(email string) time.Duration {
		body := []byte(fmt.Sprintf(`{"email":%q}`, email))
		start := time.Now()
		resp, err := client.Post(e.URL+"/v1/password-reset", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if resp.StatusCode != http.StatusAccepted {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return took
	}
	for _, bc := range []struct {
		name, email string
		mails       bool
	}{{"known", "ada@acme-corp.com", true}, {"unknown", "nobody@acme-corp.com", false}} {
		b.Run(bc.name, func(b *testing.B) {
			took := make([]time.Duration, 0, b.N)
			for range b.N {
				off.Add(int64(25 * time.Hour))
				n := servertest.MailCount(e.Mail, bc.email)
				took = append(took, post(bc.email))
				if bc.mails {
					e.Mail.WaitFor(b, bc.email, n+1, 10*time.Second)
				}
				time.Sleep(5 * time.Millisecond) // let what follows the answer finish
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds()), "median-µs")
			b.ReportMetric(float64(took[len(took)*9/10].Microseconds()), "p90-µs")
		})
	}
}
