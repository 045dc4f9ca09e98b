package httpapi_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
)

// aheadClock is the server's clock: real time plus an offset the test
// moves. It is set once, before the first request, and read atomically,
// so the server's goroutines never race with the test.
type aheadClock struct{ off atomic.Int64 }

func newAheadClock(e *servertest.Env) *aheadClock {
	c := &aheadClock{}
	e.Server.DB.Now = c.Now
	return c
}

func (c *aheadClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *aheadClock) advance(d time.Duration) { c.off.Add(int64(d)) }

// At the 1-minute floor of ROSTER_SESSION_IDLE, a session used every 40
// seconds (over the API and in the console alike) lives on for ten
// minutes; left alone for longer than the limit, it ends.
func TestSessions_InUseNeverHitTheIdleLimit(t *testing.T) {
	t.Parallel()
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) { c.SessionIdle = time.Minute }})
	clk := newAheadClock(e)
	c, _ := e.SignUp(t, "ada@acme-corp.com", "Ada")
	console := &http.Client{Jar: c.HTTP.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	profile := func() int {
		t.Helper()
		resp, err := console.Get(e.URL + "/profile")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 15 {
		clk.advance(40 * time.Second)
		if i%2 == 0 {
			if r := c.Do("GET", "/v1/me", nil); r.Status != 200 {
				t.Fatalf("after %v in use: GET /v1/me answered %d: the session hit the idle limit", time.Duration(i+1)*40*time.Second, r.Status)
			}
		} else if st := profile(); st != 200 {
			t.Fatalf("after %v in use: the console's /profile answered %d: the session hit the idle limit", time.Duration(i+1)*40*time.Second, st)
		}
	}
	if n := len(c.Must(200, "GET", "/v1/me/sessions", nil).Objects()); n != 1 {
		t.Errorf("%d sessions listed, want the one in use", n)
	}
	clk.advance(61 * time.Second)
	c.Refused(401, "unauthenticated", "GET", "/v1/me", nil)
	if st := profile(); st != http.StatusSeeOther {
		t.Errorf("the idle session's console page answered %d, want 303 to the login", st)
	}
}
