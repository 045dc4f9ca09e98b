package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
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
