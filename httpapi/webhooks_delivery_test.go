package httpapi_test

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

// webhookPerAccount is the cap on one account's deliveries in flight
// (docs/decisions.md, issue 19).
const webhookPerAccount = 4

// deliveryOf waits until the webhook's first delivery has been attempted
// at least once and returns it.
func deliveryOf(t *testing.T, c *servertest.Client, base string, id int64) map[string]any {
	t.Helper()
	path := base + "/" + strconv.FormatInt(id, 10) + "/deliveries"
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ds := c.Must(200, "GET", path, nil).Objects()
		if len(ds) > 0 && ds[len(ds)-1]["attempts"].(float64) >= 1 {
			return ds[len(ds)-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the delivery of webhook %d was not attempted: %v", id, ds)
		}
	}
}

func webhookID(r servertest.Response) int64 { return int64(r.JSON["id"].(float64)) }

func quietServer(h http.Handler) *httptest.Server {
	s := httptest.NewUnstartedServer(h)
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // TLS handshakes refused by design
	return s
}

// TestWebhooks_SlowAccountDoesNotHoldUpAnother: account A has a backlog
// of 60 deliveries to 12 webhooks whose receiver takes the whole delivery
// timeout; account B's one event to a fast receiver still arrives within
// one timeout of the change (asserted under two), while A never has more
// than the per-account cap of deliveries in flight, and A's deliveries
// go on too (each failed as "timed out").
func TestWebhooks_SlowAccountDoesNotHoldUpAnother(t *testing.T) {
	t.Parallel()
	const timeout = time.Second
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) {
		webhookServer(true)(c)
		c.WebhookTimeout = timeout
	}})
	var slowHits atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // then the server notices when the sender hangs up
		slowHits.Add(1)
		select {
		case <-r.Context().Done():
		case <-time.After(3 * timeout):
		}
	}))
	t.Cleanup(slow.Close)
	arrived := make(chan time.Time, 16)
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		select {
		case arrived <- time.Now():
		default:
		}
	}))
	t.Cleanup(fast.Close)

	ownerA, acctA := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acctA)
	baseA := "/v1/accounts/" + acctA + "/webhooks"
	var slowHook int64
	for i := range 12 {
		slowHook = webhookID(ownerA.Must(201, "POST", baseA, map[string]any{"url": fmt.Sprintf("%s/%d", slow.URL, i), "events": []string{"credentials.rotated"}}))
	}
	ownerB, acctB := e.SignUp(t, "owner@beta-corp.com", "Beta")
	e.Commit(t, acctB)
	ownerB.Must(201, "POST", "/v1/accounts/"+acctB+"/webhooks", map[string]any{"url": fast.URL, "events": []string{"credentials.rotated"}})
	for range 5 {
		ownerA.Must(200, "POST", "/v1/accounts/"+acctA+"/credentials/rotate", map[string]any{})
	}

	// A's deliveries in flight, read from their leases while the test runs.
	var maxInFlight atomic.Int32
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			var n int32
			q := fmt.Sprintf(`SELECT COUNT(*) FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN accounts a ON a.id = w.account_id
				WHERE a.auth_id = '%s' AND d.status = 'pending' AND d.locked_until > %d`, acctA, time.Now().UnixMicro())
			if err := e.Server.DB.SQL().QueryRow(q).Scan(&n); err == nil && n > maxInFlight.Load() {
				maxInFlight.Store(n)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); slowHits.Load() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("A's deliveries were not sent")
		}
	}

	start := time.Now()
	ownerB.Must(200, "POST", "/v1/accounts/"+acctB+"/credentials/rotate", map[string]any{})
	select {
	case at := <-arrived:
		if d := at.Sub(start); d >= 2*timeout {
			t.Errorf("B's delivery arrived %v after its change, behind A's backlog: want within about one delivery timeout (%v)", d, timeout)
		} else {
			t.Logf("B's delivery arrived %v after its change (delivery timeout %v)", d, timeout)
		}
	case <-time.After(20 * timeout):
		t.Fatalf("B's delivery did not arrive in %v", 20*timeout)
	}

	// A goes on at its cap meanwhile: a second round of its deliveries.
	for deadline := time.Now().Add(10 * timeout); slowHits.Load() < 2*webhookPerAccount; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("A's deliveries stalled: %d attempts", slowHits.Load())
		}
	}
	close(stop)
	<-sampled
	if n := maxInFlight.Load(); n > webhookPerAccount || n == 0 {
		t.Errorf("A had up to %d deliveries in flight, want at most %d (and some)", n, webhookPerAccount)
	}
	if d := deliveryOf(t, ownerA, baseA, slowHook); d["last_error"] != "timed out" || d["status"] != "pending" {
		t.Errorf("A's delivery to the slow receiver: %v, want pending with last_error \"timed out\"", d)
	}
}

// TestWebhooks_FailedDeliveryTextNamesNoHost: the delivery log shows a
// fixed phrase for each way an attempt fails, never the URL, host name,
// address or port the error text carried.
func TestWebhooks_FailedDeliveryTextNamesNoHost(t *testing.T) {
	t.Parallel()
	const host = "billing.corp-internal.example"
	dns := newDNSServer(t)
	dns.set(host, "127.0.0.1")
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) {
		webhookServer(true)(c)
		// A TLS handshake under -race on a busy machine takes a while: at
		// 2 s one CI run saw the untrusted certificate's handshake time out.
		c.WebhookTimeout = 5 * time.Second
		c.WebhookResolver = dns.resolver()
	}})
	status := func(code int) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.ReadAll(r.Body)
			w.Header().Set("Location", "http://10.1.2.3/admin")
			w.WriteHeader(code)
		}))
		t.Cleanup(s.Close)
		return s
	}
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second): // past WebhookTimeout
		}
	}))
	t.Cleanup(slow.Close)
	tlsSrv := quietServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	tlsSrv.StartTLS() // a certificate the sender does not trust
	t.Cleanup(tlsSrv.Close)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	port := func(s *httptest.Server) string { return s.URL[strings.LastIndex(s.URL, ":")+1:] }

	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	base := "/v1/accounts/" + acct + "/webhooks"
	s500, s302 := status(500), status(302)
	cases := []struct{ url, want, secret string }{
		{"http://" + host + ":" + port(s500) + "/hooks/roster", "HTTP 500", port(s500)},
		{"http://" + host + ":" + port(s302) + "/hooks/roster", "HTTP 302", "10.1.2.3"},
		{"http://" + host + ":" + closedPort + "/hooks/roster", "connection refused", closedPort},
		{"https://" + host + ":" + port(tlsSrv) + "/hooks/roster", "TLS handshake failed", port(tlsSrv)},
		{"http://" + host + ":" + port(slow) + "/hooks/roster", "timed out", port(slow)},
		{"http://nowhere.corp-internal.example/hooks/roster", "DNS lookup failed", "nowhere"},
	}
	ids := make([]int64, len(cases))
	for i, c := range cases {
		ids[i] = webhookID(owner.Must(201, "POST", base, map[string]any{"url": c.url, "events": []string{"credentials.rotated"}}))
	}
	owner.Must(200, "POST", "/v1/accounts/"+acct+"/credentials/rotate", map[string]any{})
	for i, c := range cases {
		d := deliveryOf(t, owner, base, ids[i])
		msg, _ := d["last_error"].(string)
		if msg != c.want {
			t.Errorf("delivery to %s: last_error %q, want %q", c.url, msg, c.want)
		}
		for _, leak := range []string{"corp-internal", "127.0.0.1", "hooks/roster", c.secret} {
			if strings.Contains(msg, leak) {
				t.Errorf("delivery to %s: last_error %q names %q", c.url, msg, leak)
			}
		}
	}
}

// TestWebhooks_RefuseSpecialPurposeTargets: a webhook to any of the
// issue's examples (NAT64, 6to4, IPv4-compatible, 240/4, the broadcast
// address, benchmarking, shared, site-local, IPv4-mapped private ones),
// given as an address or as a name that resolves to one, is refused at
// creation and at change (400 invalid_request, field url) with nothing
// created or changed; a name that resolves to globally reachable
// addresses only is taken.
func TestWebhooks_RefuseSpecialPurposeTargets(t *testing.T) {
	t.Parallel()
	dns := newDNSServer(t)
	dns.set("nat64.hooks.example", "64:ff9b::7f00:1")
	dns.set("mapped.hooks.example", "::ffff:127.0.0.1")
	dns.set("bench.hooks.example", "198.18.0.1")
	dns.set("mixed.hooks.example", "1.1.1.1", "2606:4700:4700::1111", "100.64.0.1")
	dns.set("sitelocal.hooks.example", "fec0::1")
	dns.set("public.hooks.example", "1.1.1.1", "2606:4700:4700::1111")
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) {
		webhookServer(false)(c)
		c.WebhookResolver = dns.resolver()
	}})
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	base := "/v1/accounts/" + acct + "/webhooks"
	refused := []string{
		"https://[64:ff9b::a00:1]/hook", // NAT64 of 10.0.0.1
		"https://[64:ff9b::808:808]/hook",
		"https://[64:ff9b:1::1]/hook",
		"https://[2002:a00:1::1]/hook", // 6to4 of 10.0.0.1
		"https://[2002:808:808::1]/hook",
		"https://[::a00:1]/hook", // IPv4-compatible
		"https://[::8.8.8.8]/hook",
		"https://240.0.0.1/hook",
		"https://255.255.255.255/hook",
		"https://198.18.0.1/hook",
		"https://198.19.255.254/hook",
		"https://100.64.0.1/hook",
		"https://100.127.255.254/hook",
		"https://[fec0::1]/hook",
		"https://[::ffff:127.0.0.1]/hook",
		"https://[::ffff:10.0.0.1]/hook",
		"https://[::ffff:a9fe:a9fe]/latest/meta-data", // 169.254.169.254
		"https://nat64.hooks.example/hook",
		"https://mapped.hooks.example/hook",
		"https://bench.hooks.example/hook",
		"https://mixed.hooks.example/hook",
		"https://sitelocal.hooks.example/hook",
	}
	for _, u := range refused {
		r := owner.Refused(400, "invalid_request", "POST", base, map[string]any{"url": u, "events": []string{"invitation.created"}})
		if f, _ := r.JSON["error"].(map[string]any)["field"].(string); f != "url" {
			t.Errorf("%s: refused on field %q, want url", u, f)
		}
	}
	if n := owner.Must(200, "GET", base, nil).Total(); n != 0 {
		t.Fatalf("%d webhooks after refusals", n)
	}

	// Globally reachable: taken (nothing is sent: no event follows). A
	// change to a refused target leaves it as it was.
	for _, u := range []string{"https://public.hooks.example/hook", "https://[::ffff:1.1.1.1]/hook", "https://[2606:4700:4700::1111]/hook"} {
		id := strconv.FormatInt(webhookID(owner.Must(201, "POST", base, map[string]any{"url": u, "events": []string{"invitation.created"}})), 10)
		for _, bad := range refused[:3] {
			owner.Refused(400, "invalid_request", "PATCH", base+"/"+id, map[string]any{"url": bad})
		}
		if got := owner.Must(200, "GET", base+"/"+id, nil).Str("url"); got != u {
			t.Errorf("url %q after refused changes, want %q", got, u)
		}
		owner.Must(204, "DELETE", base+"/"+id, nil)
	}
}

// TestWebhooks_RebindingRefusedAtDial: names that resolved to globally
// reachable addresses when the webhooks were made, and to loopback ones
// (IPv4, IPv6, IPv4-mapped) when a delivery connects, are refused by the
// dialer: nothing reaches the receiver listening there, and the delivery
// log says "refused: address not allowed".
func TestWebhooks_RebindingRefusedAtDial(t *testing.T) {
	t.Parallel()
	dns := newDNSServer(t)
	names := map[string]string{
		"rebind4.hooks.example":      "127.0.0.1",
		"rebind6.hooks.example":      "::1",
		"rebindmapped.hooks.example": "::ffff:127.0.0.1",
	}
	for n := range names {
		dns.set(n, "1.1.1.1", "2606:4700:4700::1111")
	}
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) {
		webhookServer(false)(c)
		c.WebhookResolver = dns.resolver()
	}})
	var hits atomic.Int32
	rcv := quietServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	rcv.StartTLS()
	t.Cleanup(rcv.Close)
	port := rcv.URL[strings.LastIndex(rcv.URL, ":")+1:]

	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	base := "/v1/accounts/" + acct + "/webhooks"
	ids := map[string]int64{}
	for n := range names {
		ids[n] = webhookID(owner.Must(201, "POST", base, map[string]any{"url": "https://" + n + ":" + port + "/hook", "events": []string{"credentials.rotated"}}))
	}
	for n, addr := range names {
		dns.set(n, addr)
	}
	owner.Must(200, "POST", "/v1/accounts/"+acct+"/credentials/rotate", map[string]any{})
	for n, id := range ids {
		if d := deliveryOf(t, owner, base, id); d["last_error"] != "refused: address not allowed" || d["status"] != "pending" {
			t.Errorf("delivery to %s (now %s): %v, want pending, refused", n, names[n], d)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("%d requests reached the loopback receiver", n)
	}
}
